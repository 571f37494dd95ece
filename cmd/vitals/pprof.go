//go:build pprof

package main

// Built only with -tags pprof (go build -tags pprof ./cmd/vitals; give the
// binary to internal/cmd/scaleload with -vitals, which passes its
// environment on): the watchdog then serves net/http/pprof on
// VITALS_PPROF_ADDR, a loopback address, for profiling a load run. Release
// builds do not have it.

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("VITALS_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "VITALS_PPROF_ADDR %q: want a loopback host:port\n", addr)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "VITALS_PPROF_ADDR:", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go http.Serve(ln, mux)
}
