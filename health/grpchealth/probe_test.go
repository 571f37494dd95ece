package grpchealth

import (
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/internal/probe"
)

// TestHealthprobeSpeaksToTheBridge probes the bridge with the engine of the
// healthprobe command, an independent grpc.health.v1 client written over
// net/http's HTTP/2 (as grpc-health-probe and the kubelet are independent
// of grpc-go's server side).
func TestHealthprobeSpeaksToTheBridge(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	db := &switchable{}
	must(t, m.Register(fastCheck("db", db, false)))
	startMonitor(t, m)
	hs, err := New(m, Options{Services: map[string][]string{accounts: {"db"}}})
	must(t, err)
	_, addr := serve(t, hs, nil)
	must(t, hs.Start())
	p, err := probe.New(probe.Options{Timeout: 5 * time.Second})
	must(t, err)
	result := func(target string) probe.Result {
		tg, err := probe.ParseTarget(target)
		must(t, err)
		return p.Probe(testCtx(t), tg)
	}
	root, svc := "grpc://"+addr, "grpc://"+addr+"/"+accounts
	eventually(t, "healthy", func() bool { return result(root).Healthy && result(svc).Healthy })
	db.set(errDown)
	eventually(t, "unhealthy", func() bool { return !result(svc).Healthy })
	if r := result(svc); !strings.Contains(r.Reason, "NOT_SERVING") {
		t.Fatalf("reason %q; want NOT_SERVING", r.Reason)
	}
	if r := result("grpc://" + addr + "/no.such.Service"); r.Healthy {
		t.Fatalf("unknown service: healthy; want unhealthy (%s)", r.Reason)
	}
}
