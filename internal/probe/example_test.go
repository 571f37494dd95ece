package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vitals-go/vitals/internal/probe"
)

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			http.Error(w, `{"status":"DOWN"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"UP"}`)
	}))
	defer srv.Close()

	p, err := probe.New(probe.Options{Timeout: 2 * time.Second})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/livez", "/readyz"} {
		target, err := probe.ParseTarget(srv.URL + path)
		if err != nil {
			panic(err)
		}
		res := p.Probe(context.Background(), target)
		fmt.Printf("%s healthy=%v reason=%q body=%s\n", path, res.Healthy, res.Reason, res.Body)
	}
	// Output:
	// /livez healthy=true reason="status 200" body={"status":"UP"}
	// /readyz healthy=false reason="status 503" body={"status":"DOWN"}
}

func ExampleParseTarget() {
	for _, raw := range []string{
		"grpc://127.0.0.1:9090/orders.v1.Orders",
		"unix:///run/app.sock:/readyz",
		"127.0.0.1:8080",
	} {
		t, err := probe.ParseTarget(raw)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s addr=%s path=%q service=%q\n", t.Scheme, t.Addr, t.Path, t.Service)
	}
	// Output:
	// grpc addr=127.0.0.1:9090 path="" service="orders.v1.Orders"
	// unix addr=/run/app.sock path="/readyz" service=""
	// bad target "127.0.0.1:8080": missing scheme (want http, https, grpc, grpcs, tcp or unix)
}
