// Command grpcserver serves grpc-go's own grpc.health.v1 server (everything
// SERVING) on a loopback port for scripts/bench-healthprobe.sh. It prints its
// port and serves until killed.
package main

import (
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	fmt.Fprintln(os.Stderr, s.Serve(ln))
	os.Exit(1)
}
