// Command plainclient is the size baseline of scripts/bench-healthprobe.sh:
// the smallest useful net/http health probe (GET a URL, exit 0 on 2xx/3xx),
// with no gRPC, TLS options or flags.
package main

import (
	"net/http"
	"os"
)

func main() {
	resp, err := http.Get(os.Args[1])
	if err != nil || resp.StatusCode >= 400 {
		os.Exit(1)
	}
}
