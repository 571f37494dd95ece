package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// app is a loopback HTTP server with the usual health endpoints: /healthz and
// /readyz answer 200, /down 503, /echo reports the request.
func app(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"UP"}`) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"UP"}`) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":"DOWN"}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s auth=%s x=%s", r.Method, r.Header.Get("Authorization"), strings.Join(r.Header.Values("X-A"), "|"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// port returns the port of srv as a string.
func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// runCmd runs the command in-process with env as its environment.
func runCmd(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	srv := app(t)
	p := port(srv)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"healthy", nil, []string{srv.URL + "/healthz"}, 0, "healthy: " + srv.URL + "/healthz: status 200\n", ""},
		{"unhealthy", nil, []string{srv.URL + "/down"}, 1, "", "unhealthy: " + srv.URL + "/down: status 503\n"},
		{"quiet healthy", nil, []string{"-q", srv.URL + "/healthz"}, 0, "", ""},
		{"quiet unhealthy", nil, []string{"-q", srv.URL + "/down"}, 1, "", "unhealthy: " + srv.URL + "/down: status 503\n"},
		{"-status accepts 503", nil, []string{"-status", "200,503", srv.URL + "/down"}, 0, "healthy: " + srv.URL + "/down: status 503\n", ""},
		{"-status rejects 200", nil, []string{"-status=204", srv.URL + "/healthz"}, 1, "", "unhealthy: " + srv.URL + "/healthz: status 200\n"},
		{"flags after URL", nil, []string{srv.URL + "/down", "-status", "503", "-q"}, 0, "", ""},
		{"-port", nil, []string{"-port", p}, 0, "healthy: http://127.0.0.1:" + p + "/healthz: status 200\n", ""},
		{"-port -path", nil, []string{"-port=" + p, "-path=/down"}, 1, "", "unhealthy: http://127.0.0.1:" + p + "/down: status 503\n"},
		{"-path without slash", nil, []string{"-port=" + p, "-path=readyz"}, 0, "healthy: http://127.0.0.1:" + p + "/readyz: status 200\n", ""},
		{"HEALTHPROBE_PORT", map[string]string{"HEALTHPROBE_PORT": " " + p + "\n"}, nil, 0, "healthy: http://127.0.0.1:" + p + "/healthz: status 200\n", ""},
		{"HEALTHPROBE_PORT and _PATH", map[string]string{"HEALTHPROBE_PORT": p, "HEALTHPROBE_PATH": "/down"}, nil, 1, "",
			"unhealthy: http://127.0.0.1:" + p + "/down: status 503\n"},
		{"HEALTHPROBE_URL", map[string]string{"HEALTHPROBE_URL": srv.URL + "/readyz"}, nil, 0, "healthy: " + srv.URL + "/readyz: status 200\n", ""},
		{"URL argument beats HEALTHPROBE_URL", map[string]string{"HEALTHPROBE_URL": srv.URL + "/down"}, []string{srv.URL + "/healthz"}, 0,
			"healthy: " + srv.URL + "/healthz: status 200\n", ""},
		{"-port beats HEALTHPROBE_URL", map[string]string{"HEALTHPROBE_URL": srv.URL + "/down"}, []string{"-port", p}, 0,
			"healthy: http://127.0.0.1:" + p + "/healthz: status 200\n", ""},
		{"URL argument beats HEALTHPROBE_PORT", map[string]string{"HEALTHPROBE_PORT": "1"}, []string{srv.URL + "/healthz"}, 0,
			"healthy: " + srv.URL + "/healthz: status 200\n", ""},
		{"HEALTHPROBE_STATUS", map[string]string{"HEALTHPROBE_STATUS": "503"}, []string{srv.URL + "/down"}, 0, "healthy: " + srv.URL + "/down: status 503\n", ""},
		{"-status beats HEALTHPROBE_STATUS", map[string]string{"HEALTHPROBE_STATUS": "503"}, []string{"-status", "200", srv.URL + "/down"}, 1, "",
			"unhealthy: " + srv.URL + "/down: status 503\n"},
		{"HEALTHPROBE_QUIET", map[string]string{"HEALTHPROBE_QUIET": "true"}, []string{srv.URL + "/healthz"}, 0, "", ""},
		{"-q=false beats HEALTHPROBE_QUIET", map[string]string{"HEALTHPROBE_QUIET": "1"}, []string{"-q=false", srv.URL + "/healthz"}, 0,
			"healthy: " + srv.URL + "/healthz: status 200\n", ""},
		{"HEALTHPROBE_METHOD", map[string]string{"HEALTHPROBE_METHOD": "HEAD"}, []string{"-v", srv.URL + "/echo"}, 0,
			"target:      " + srv.URL + "/echo\nhealthy:     true\nreason:      status 200\n", ""},
		{"refused", nil, []string{"-port", "1"}, 1, "", "unhealthy: http://127.0.0.1:1/healthz: connection refused\n"},
		{"-h", nil, []string{"-h"}, 0, usageText, ""},
		{"--help", nil, []string{"--help"}, 0, usageText, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.HasPrefix(stdout, tt.stdout) || tt.stdout == "" && stdout != "" {
				t.Errorf("stdout\n%q\nwant prefix\n%q", stdout, tt.stdout)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr\n%q\nwant\n%q", stderr, tt.stderr)
			}
		})
	}
}

func TestRunHeaders(t *testing.T) {
	srv := app(t)
	body := func(env map[string]string, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCmd(env, append(append([]string{"-v"}, args...), srv.URL+"/echo")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		_, b, _ := strings.Cut(stdout, "):\n")
		b, _, _ = strings.Cut(b, "\nhealthy: ")
		return b
	}
	if got, want := body(nil, "-H", "Authorization: Bearer t0k", "-H", "X-A: 1", "-H", "X-A:2"), "GET auth=Bearer t0k x=1|2"; got != want {
		t.Errorf("-H: %q, want %q", got, want)
	}
	env := map[string]string{"HEALTHPROBE_HEADER": "Authorization: Bearer env\nX-A: e"}
	if got, want := body(env), "GET auth=Bearer env x=e"; got != want {
		t.Errorf("HEALTHPROBE_HEADER: %q, want %q", got, want)
	}
	if got, want := body(env, "-H", "X-A: flag"), "GET auth= x=flag"; got != want {
		t.Errorf("-H replaces HEALTHPROBE_HEADER: %q, want %q", got, want)
	}
	if got, want := body(nil, "-method", "POST"), "POST auth= x="; got != want {
		t.Errorf("-method: %q, want %q", got, want)
	}
}

func TestRunVerbose(t *testing.T) {
	srv := app(t)
	code, stdout, stderr := runCmd(nil, "-v", srv.URL+"/down")
	if code != 1 || stderr != "unhealthy: "+srv.URL+"/down: status 503\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"healthy:     false\n", "reason:      status 503\n", "http status: 503\n", "duration:    ", "body (17 bytes):\n{\"status\":\"DOWN\"}\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRunGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(ln) })
	t.Cleanup(func() { s.Stop(); wg.Wait() })
	addr := ln.Addr().String()

	for _, tt := range []struct {
		target         string
		code           int
		stdout, stderr string
	}{
		{"grpc://" + addr, 0, "healthy: grpc://" + addr + ": SERVING\n", ""},
		{"grpc://" + addr + "/orders", 0, "healthy: grpc://" + addr + "/orders: SERVING\n", ""},
		{"grpc://" + addr + "/billing", 1, "", "unhealthy: grpc://" + addr + "/billing: NOT_SERVING\n"},
		{"grpc://" + addr + "/nope", 1, "", "unhealthy: grpc://" + addr + `/nope: SERVICE_UNKNOWN: service "nope" (NOT_FOUND: unknown service)` + "\n"},
	} {
		code, stdout, stderr := runCmd(nil, "-timeout", "5", tt.target)
		if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d %q %q", tt.target, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // accept, never answer
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	url := "http://" + ln.Addr().String() + "/healthz"
	code, _, stderr := runCmd(map[string]string{"HEALTHPROBE_TIMEOUT": "10s"}, "-timeout", "150ms", url)
	if want := "unhealthy: " + url + ": timeout after 150ms\n"; code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1 %q", code, stderr, want)
	}
	code, _, stderr = runCmd(map[string]string{"HEALTHPROBE_TIMEOUT": "0.2"}, url)
	if want := "unhealthy: " + url + ": timeout after 200ms\n"; code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1 %q", code, stderr, want)
	}
}

// TestRunBadArguments checks that every bad invocation exits 1 (never 2,
// which Docker reserves) with the reason on the first line and the usage after.
func TestRunBadArguments(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		first string // first line of stderr
		usage bool
	}{
		{"nothing", nil, nil, "healthprobe: no URL (give a URL or -port N, or set HEALTHPROBE_URL or HEALTHPROBE_PORT)", true},
		{"unknown flag", nil, []string{"-x", "http://h/"}, "healthprobe: flag provided but not defined: -x", true},
		{"missing scheme", nil, []string{"localhost:8080"}, `healthprobe: bad target "localhost:8080": missing scheme (want http, https, grpc, grpcs, tcp or unix)`, true},
		{"two URLs", nil, []string{"http://a/", "http://b/"}, `healthprobe: one URL expected, got 2: ["http://a/" "http://b/"]`, true},
		{"URL and -port", nil, []string{"-port", "80", "http://a/"}, "healthprobe: give a URL or -port, not both", true},
		{"-path with URL", nil, []string{"-path", "/x", "http://a/"}, "healthprobe: -path applies to -port only (put the path in the URL)", true},
		{"-q and -v", nil, []string{"-q", "-v", "http://a/"}, "healthprobe: -q and -v exclude each other", true},
		{"port out of range", nil, []string{"-port", "70000"}, "healthprobe: port 70000 out of range 1-65535", true},
		{"bad port", nil, []string{"-port", "x"}, `healthprobe: invalid value "x" for flag -port: parse error`, true},
		{"bad timeout", nil, []string{"-timeout", "soon", "http://a/"}, `healthprobe: invalid value "soon" for flag -timeout: "soon" is not a duration (1s, 500ms, or seconds)`, true},
		{"zero timeout", nil, []string{"-timeout", "0", "http://a/"}, `healthprobe: invalid value "0" for flag -timeout: "0" is not positive`, true},
		{"bad status", nil, []string{"-status", "2xx", "http://a/"}, `healthprobe: invalid value "2xx" for flag -status: bad status list "2xx": "2xx" is not a status code (want 100-599)`, true},
		{"bad header", nil, []string{"-H", "NoColon", "http://a/"}, `healthprobe: invalid value "NoColon" for flag -H: header "NoColon": want "Name: value"`, true},
		{"-status on grpc", nil, []string{"-status", "200", "grpc://h:1"}, "healthprobe: -status applies to HTTP targets only", true},
		{"-method on tcp", nil, []string{"-method", "POST", "tcp://h:1"}, "healthprobe: -method applies to HTTP targets only", true},
		{"bad env timeout", map[string]string{"HEALTHPROBE_TIMEOUT": "x"}, []string{"http://a/"}, `healthprobe: HEALTHPROBE_TIMEOUT="x": "x" is not a duration (1s, 500ms, or seconds)`, true},
		{"bad env bool", map[string]string{"HEALTHPROBE_INSECURE": "maybe"}, []string{"http://a/"}, `healthprobe: HEALTHPROBE_INSECURE="maybe": parse error`, true},
		{"bad env port", map[string]string{"HEALTHPROBE_PORT": "http"}, nil, `healthprobe: HEALTHPROBE_PORT="http": parse error`, true},
		{"env URL and port", map[string]string{"HEALTHPROBE_PORT": "80", "HEALTHPROBE_URL": "http://a/"}, nil, "healthprobe: both HEALTHPROBE_URL and HEALTHPROBE_PORT are set", true},
		{"bad method", nil, []string{"-method", "GE T", "http://a/"}, `healthprobe: method "GE T" is not a valid HTTP method`, false},
		{"missing CA file", nil, []string{"-ca", "/nonexistent/ca.pem", "https://a/"}, "healthprobe: CA file: open /nonexistent/ca.pem: no such file or directory", false},
		{"cert without key", nil, []string{"-cert", "/c.pem", "https://a/"}, "healthprobe: client certificate given without its key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(tt.env, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want none", stdout)
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if first != tt.first {
				t.Errorf("stderr first line\n got %s\nwant %s", first, tt.first)
			}
			if hasUsage := strings.HasPrefix(rest, "usage: healthprobe"); hasUsage != tt.usage {
				t.Errorf("usage printed: %v, want %v:\n%s", hasUsage, tt.usage, rest)
			}
		})
	}
}
