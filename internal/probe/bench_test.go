package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// BenchmarkProbe measures one probe against a loopback server (whose own
// cost is included), for the watchdog's budget of many checks per process,
// next to baselines doing the same work with no probe code: net/http with a
// fresh connection, grpc-go's client with a fresh connection, a bare dial.
// Each iteration dials a new connection, so run with a fixed count
// (-benchtime=2000x) to stay clear of the ephemeral port range.
func BenchmarkProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":"UP"}`))
	}))
	b.Cleanup(srv.Close)
	grpcAddr := startHealth(b)
	ctx := context.Background()

	probe := func(raw string) func(b *testing.B) {
		return func(b *testing.B) {
			target, err := ParseTarget(raw)
			if err != nil {
				b.Fatal(err)
			}
			p, err := New(Options{Timeout: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res := p.Probe(ctx, target); !res.Healthy {
					b.Fatal(res.Reason)
				}
			}
		}
	}
	b.Run("http", probe(srv.URL+"/healthz"))
	b.Run("baseline-http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(srv.URL + "/healthz")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("grpc", probe("grpc://"+grpcAddr))
	b.Run("baseline-grpc-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
			cancel()
			conn.Close()
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				b.Fatal(resp, err)
			}
		}
	})
	b.Run("tcp", probe("tcp://"+grpcAddr))
	b.Run("baseline-dial", func(b *testing.B) {
		var d net.Dialer
		b.ReportAllocs()
		for b.Loop() {
			c, err := d.DialContext(ctx, "tcp", grpcAddr)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
