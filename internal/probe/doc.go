// Package probe checks whether a network service is healthy, the way an
// orchestrator probes a container: one request, one verdict.
//
// It is the engine behind the healthprobe command and the watchdog's pull
// probes (vitals check URL). It uses the standard library only, so the static
// binaries built on it stay small and start fast.
//
// A probe target is a URL:
//
//	http://127.0.0.1:8080/readyz       HTTP GET, healthy on status 200-399
//	https://app.internal/readyz        the same over TLS
//	grpc://127.0.0.1:9090[/service]    grpc.health.v1.Health/Check over cleartext HTTP/2 (h2c)
//	grpcs://app.internal:9090[/svc]    the same over TLS (ALPN "h2")
//	tcp://127.0.0.1:5432               a TCP connect
//	unix:///run/app.sock:/readyz       HTTP over a unix domain socket
//
// gRPC health is spoken by hand over net/http's HTTP/2 support: the request
// and response messages of grpc.health.v1 are tiny, so the probe encodes them
// itself instead of linking google.golang.org/grpc.
//
// Typical use:
//
//	t, err := probe.ParseTarget("grpc://127.0.0.1:9090/orders.v1.Orders")
//	if err != nil { ... }
//	p, err := probe.New(probe.Options{Timeout: 2 * time.Second})
//	if err != nil { ... }
//	res := p.Probe(ctx, t)
//	if !res.Healthy { log.Print(res.Reason) } // e.g. "NOT_SERVING"
package probe
