// Command healthserver is the service of healthprobe's Docker HEALTHCHECK
// test: /healthz answers 200 until POST /toggle makes it answer 503 (and the
// next POST /toggle back). Usage: healthserver -addr 127.0.0.1:8080
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	flag.Parse()
	var down atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if down.Load() {
			http.Error(w, `{"status":"DOWN"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"UP"}`)
	})
	mux.HandleFunc("POST /toggle", func(w http.ResponseWriter, r *http.Request) {
		for {
			old := down.Load()
			if down.CompareAndSwap(old, !old) {
				fmt.Fprintf(w, "down=%v\n", !old)
				return
			}
		}
	})
	fmt.Fprintln(os.Stderr, http.ListenAndServe(*addr, mux))
	os.Exit(1)
}
