package grpchealth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/grpchealth"
)

// A gRPC server whose grpc.health.v1 service answers from the Monitor's
// checks: "" is readiness, "accounts.v1.Accounts" depends on the check "db".
func Example() {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	ran := make(chan struct{})
	var once sync.Once
	m.Register(health.Check{Name: "db", NoStagger: true, Checker: health.CheckerFunc(func(context.Context) error {
		once.Do(func() { close(ran) }) // so that the example waits for the first result
		return nil                     // db.PingContext(ctx) in a real service
	})})

	hs, err := grpchealth.New(m, grpchealth.Options{
		Services: map[string][]string{"accounts.v1.Accounts": {"db"}},
	})
	if err != nil {
		panic(err)
	}
	gs := grpc.NewServer()
	hs.Register(gs)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go gs.Serve(ln)

	m.Start()
	<-ran
	hs.Start()

	cc, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, _ := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "accounts.v1.Accounts"})
	for {
		resp, err := w.Recv()
		if err != nil || resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			fmt.Println("accounts.v1.Accounts:", resp.GetStatus())
			break
		}
	}

	m.Drain()
	resp, _ := w.Recv()
	fmt.Println("draining:", resp.GetStatus())

	hs.Stop() // NOT_SERVING for good, Watch streams end: GracefulStop can finish
	gs.GracefulStop()
	m.Stop(context.Background())
	// Output:
	// accounts.v1.Accounts: SERVING
	// draining: NOT_SERVING
}
