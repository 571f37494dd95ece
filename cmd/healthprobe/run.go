package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/probe"
)

// Exit codes. Docker reserves 2 for HEALTHCHECK, so a bad invocation is 1
// as well: whatever is wrong, the container is not known to be healthy.
const (
	exitHealthy   = 0
	exitUnhealthy = 1
)

// usageText is printed after a bad invocation and for -h.
const usageText = `usage: healthprobe [flags] URL
       healthprobe [flags] -port N [-path /healthz]

URL is one of
  http://host[:port]/path     https://host[:port]/path
  grpc://host:port[/service]  grpcs://host:port[/service]   (grpc.health.v1)
  tcp://host:port             unix:///path/to.sock:/http/path

Exit status: 0 healthy, 1 unhealthy or bad arguments. When unhealthy, one
line on stderr names the reason. Every flag has an environment variable
(shown in brackets); a flag wins over its variable.

flags:
`

// config is what the command line and the environment ask for.
type config struct {
	port       int
	path       string
	timeout    durationValue
	status     statusValue
	method     string
	headers    headerValue
	ca         string
	cert       string
	key        string
	serverName string
	insecure   bool
	quiet      bool
	verbose    bool
}

// flagEnv maps each flag to its environment variable.
var flagEnv = []struct{ flag, env string }{
	{"port", "HEALTHPROBE_PORT"},
	{"path", "HEALTHPROBE_PATH"},
	{"timeout", "HEALTHPROBE_TIMEOUT"},
	{"status", "HEALTHPROBE_STATUS"},
	{"method", "HEALTHPROBE_METHOD"},
	{"H", "HEALTHPROBE_HEADER"},
	{"ca", "HEALTHPROBE_CA"},
	{"cert", "HEALTHPROBE_CERT"},
	{"key", "HEALTHPROBE_KEY"},
	{"server-name", "HEALTHPROBE_SERVER_NAME"},
	{"insecure", "HEALTHPROBE_INSECURE"},
	{"q", "HEALTHPROBE_QUIET"},
	{"v", "HEALTHPROBE_VERBOSE"},
}

// urlEnv holds the target when none is given as an argument.
const urlEnv = "HEALTHPROBE_URL"

// usageError is a bad invocation: its message is followed by the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is the whole command: it parses args (with defaults from getenv),
// probes once and returns the exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var cfg config
	fs := newFlagSet(&cfg)
	target, err := parseArgs(fs, &cfg, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs, stdout)
		return exitHealthy
	}
	if err != nil {
		fmt.Fprintf(stderr, "healthprobe: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) {
			printUsage(fs, stderr)
		}
		return exitUnhealthy
	}
	p, err := probe.New(probe.Options{
		Timeout: cfg.timeout.d,
		Status:  cfg.status.ranges,
		Method:  cfg.method,
		Header:  cfg.headers.header,
		TLS: probe.TLSOptions{
			CAFile:             cfg.ca,
			CertFile:           cfg.cert,
			KeyFile:            cfg.key,
			ServerName:         cfg.serverName,
			InsecureSkipVerify: cfg.insecure,
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "healthprobe: %v\n", err)
		return exitUnhealthy
	}

	res := p.Probe(context.Background(), target)

	if cfg.verbose {
		printDetails(stdout, target, res)
	}
	if !res.Healthy {
		fmt.Fprintf(stderr, "unhealthy: %s: %s\n", target, res.Reason)
		return exitUnhealthy
	}
	if !cfg.quiet {
		fmt.Fprintf(stdout, "healthy: %s: %s\n", target, res.Reason)
	}
	return exitHealthy
}

// newFlagSet defines the flags, bound to cfg, with their defaults.
func newFlagSet(cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet("healthprobe", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints errors and usage itself
	cfg.timeout.d = probe.DefaultTimeout
	cfg.path = "/healthz"
	cfg.method = http.MethodGet
	fs.IntVar(&cfg.port, "port", 0, "probe `N`: short for http://127.0.0.1:N/healthz")
	fs.StringVar(&cfg.path, "path", cfg.path, "HTTP `path` probed with -port")
	fs.Var(&cfg.timeout, "timeout", "give up after `duration` (1s, 500ms; a bare number is seconds)")
	fs.Var(&cfg.status, "status", "healthy HTTP status `codes`, e.g. 200-299,301 (default 200-399)")
	fs.StringVar(&cfg.method, "method", cfg.method, "HTTP `method`")
	fs.Var(&cfg.headers, "H", "request header `Name: value` (repeatable; gRPC metadata for grpc targets;\n"+
		"the variable takes one per line)")
	fs.StringVar(&cfg.ca, "ca", "", "PEM `file` of CA certificates to trust (default: system roots)")
	fs.StringVar(&cfg.cert, "cert", "", "PEM client certificate `file` (with -key)")
	fs.StringVar(&cfg.key, "key", "", "PEM client key `file` (with -cert)")
	fs.StringVar(&cfg.serverName, "server-name", "", "TLS server `name` to verify (default: the URL's host)")
	fs.BoolVar(&cfg.insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.BoolVar(&cfg.quiet, "q", false, "quiet: print nothing when healthy")
	fs.BoolVar(&cfg.verbose, "v", false, "verbose: print status, timing and the response body (up to 4 KiB)")
	return fs
}

// parseArgs applies the environment, then args, and returns the target.
func parseArgs(fs *flag.FlagSet, cfg *config, args []string, getenv func(string) string) (probe.Target, error) {
	// envFS binds the same variables as fs: it applies the environment, so
	// that fs.Visit afterwards sees only the flags of the command line.
	envFS := newFlagSet(cfg)
	for _, fe := range flagEnv {
		v := strings.TrimSpace(getenv(fe.env))
		if v == "" {
			continue
		}
		if err := envFS.Set(fe.flag, v); err != nil {
			return probe.Target{}, usagef("%s=%q: %v", fe.env, v, err)
		}
	}
	cfg.headers.fromEnv = true

	// Flags may come before or after the URL; "--" ends the flags.
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return probe.Target{}, err
			}
			return probe.Target{}, usagef("%v", err)
		}
		remaining := fs.Args()
		if len(remaining) == 0 {
			break
		}
		if consumed := len(rest) - len(remaining); consumed > 0 && rest[consumed-1] == "--" {
			positional = append(positional, remaining...)
			break
		}
		positional, rest = append(positional, remaining[0]), remaining[1:]
	}
	cli := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cli[f.Name] = true })

	if cfg.quiet && cfg.verbose {
		return probe.Target{}, usagef("-q and -v exclude each other")
	}
	if len(positional) > 1 {
		return probe.Target{}, usagef("one URL expected, got %d: %q", len(positional), positional)
	}

	// The target: the command line beats the environment.
	var raw string
	byPort := false
	switch envURL := strings.TrimSpace(getenv(urlEnv)); {
	case len(positional) == 1 && cli["port"]:
		return probe.Target{}, usagef("give a URL or -port, not both")
	case len(positional) == 1:
		raw = positional[0]
	case cli["port"]:
		byPort = true
	case envURL != "" && cfg.port != 0:
		return probe.Target{}, usagef("both %s and HEALTHPROBE_PORT are set", urlEnv)
	case envURL != "":
		raw = envURL
	case cfg.port != 0:
		byPort = true
	default:
		return probe.Target{}, usagef("no URL (give a URL or -port N, or set %s or HEALTHPROBE_PORT)", urlEnv)
	}
	if cli["path"] && !byPort {
		return probe.Target{}, usagef("-path applies to -port only (put the path in the URL)")
	}
	if byPort {
		if cfg.port < 1 || cfg.port > 65535 {
			return probe.Target{}, usagef("port %d out of range 1-65535", cfg.port)
		}
		path := cfg.path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		raw = "http://127.0.0.1:" + strconv.Itoa(cfg.port) + path
	}
	target, err := probe.ParseTarget(raw)
	if err != nil {
		return probe.Target{}, usagef("%v", err)
	}
	if !target.IsHTTP() {
		for _, name := range []string{"status", "method"} {
			if cli[name] {
				return probe.Target{}, usagef("-%s applies to HTTP targets only", name)
			}
		}
	}
	return target, nil
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usageText)
	env := map[string]string{}
	for _, fe := range flagEnv {
		env[fe.flag] = fe.env
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if name != "" {
			line += " " + name
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" {
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s [%s]\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"), env[f.Name])
	})
	fmt.Fprintf(w, "  URL\n    \tthe target [%s]\n", urlEnv)
}

// printDetails writes the -v report.
func printDetails(w io.Writer, target probe.Target, res probe.Result) {
	fmt.Fprintf(w, "target:      %s\n", target)
	fmt.Fprintf(w, "healthy:     %v\n", res.Healthy)
	fmt.Fprintf(w, "reason:      %s\n", res.Reason)
	fmt.Fprintf(w, "duration:    %s\n", res.Duration.Round(10*time.Microsecond))
	if res.StatusCode != 0 {
		fmt.Fprintf(w, "http status: %d\n", res.StatusCode)
	}
	if res.ServingStatus != "" {
		fmt.Fprintf(w, "serving:     %s\n", res.ServingStatus)
	}
	if !res.CertExpiry.IsZero() {
		fmt.Fprintf(w, "cert expiry: %s (in %s)\n", res.CertExpiry.UTC().Format(time.RFC3339), time.Until(res.CertExpiry).Round(time.Minute))
	}
	if len(res.Body) > 0 {
		more := ""
		if res.Truncated {
			more = ", truncated"
		}
		fmt.Fprintf(w, "body (%d bytes%s):\n%s\n", len(res.Body), more, res.Body)
	}
}
