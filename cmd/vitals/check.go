package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runCheck probes URL once, with the watchdog's pull probe (same
// conditions as a pull check in the config): exit 0 healthy, 1 not.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vitals check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", pull.DefaultTimeout, "timeout of the probe")
	method := fs.String("method", "", "HTTP method (default GET)")
	status := fs.String("status", "", `accepted HTTP statuses, e.g. "200-299,304" (default 200-399)`)
	var headers, conds multiFlag
	fs.Var(&headers, "H", `HTTP header "Name: value" (repeatable)`)
	fs.Var(&conds, "json", `condition on the JSON body, e.g. '$.status == "UP"' (repeatable)`)
	maxLatency := fs.Duration("max-latency", 0, "fail when slower (default off)")
	minCert := fs.Duration("min-cert-validity", 0, "https/grpcs: fail when the certificate expires within this (default off)")
	ca := fs.String("ca", "", "PEM file of CAs to trust (default: system roots)")
	cert := fs.String("cert", "", "client certificate (PEM)")
	key := fs.String("key", "", "client key (PEM)")
	serverName := fs.String("server-name", "", "TLS server name (default: the URL's host)")
	insecure := fs.Bool("insecure", false, "accept any server certificate")
	quiet := fs.Bool("q", false, "print nothing when healthy")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: vitals check [flags] URL

URL: http://host[:port]/path, https://..., grpc://host:port[/service],
grpcs://..., tcp://host:port, unix:///path.sock:/http/path.
Exit status: 0 healthy, 1 unhealthy, 2 bad usage. One line says why.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	spec := pull.Spec{
		URL: fs.Arg(0), Method: *method, Status: *status, JSON: conds,
		MaxLatency: pull.Duration(*maxLatency), MinCertValidity: pull.Duration(*minCert), Timeout: pull.Duration(*timeout),
		TLS: pull.TLS{CAFile: *ca, CertFile: *cert, KeyFile: *key, ServerName: *serverName, InsecureSkipVerify: *insecure},
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(stderr, "vitals check: -H %q: want \"Name: value\"\n", h)
			return exitUsage
		}
		if spec.Header == nil {
			spec.Header = map[string]string{}
		}
		spec.Header[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	p, err := pull.Compile(spec)
	if err != nil {
		for _, e := range model.Flatten(err) {
			fmt.Fprintf(stderr, "vitals check: %v\n", e)
		}
		return exitUsage
	}
	r := p.Probe(context.Background())
	if !r.OK {
		fmt.Fprintf(stderr, "DOWN %s: %s\n", fs.Arg(0), r.Error)
		return exitFail
	}
	if !*quiet {
		fmt.Fprintf(stdout, "UP %s (%v)\n", fs.Arg(0), r.Duration.Round(time.Millisecond))
	}
	return exitOK
}
