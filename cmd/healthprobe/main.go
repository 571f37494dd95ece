// Command healthprobe probes a service once and exits 0 when it is healthy,
// 1 when it is not: the probe for a Dockerfile HEALTHCHECK or a Kubernetes
// exec probe. It is a static binary that runs in a FROM scratch image.
//
//	healthprobe http://127.0.0.1:8080/readyz
//	healthprobe -port 8080                   # http://127.0.0.1:8080/healthz
//	healthprobe grpc://127.0.0.1:9090/orders.v1.Orders
//	healthprobe tcp://127.0.0.1:5432
//	healthprobe unix:///run/app.sock:/readyz
//
// Every flag can also be set by an environment variable (HEALTHPROBE_PORT,
// HEALTHPROBE_TIMEOUT, ...); a flag wins over its variable. When unhealthy it
// writes exactly one line to stderr naming the reason. See docs/healthprobe.md.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) }
