package main

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestRedact: a ping URL in a message keeps its scheme, host and the parts
// after the secret, never the UUID, the ping key or the run id, and the
// ellipsis is printed as it is, not percent-encoded.
func TestRedact(t *testing.T) {
	id := uuid.NewString()
	for _, tc := range []struct{ in, want string }{
		{"http://vitals:8000/ping/" + id + "/start?rid=" + id, "http://vitals:8000/ping/…/start"},
		{"https://user:pw@vitals/hc/ping/" + id + "/3", "https://vitals/hc/ping/…/3"},
		{"http://vitals/ping/secret-ping-key/nightly-backup/fail", "http://vitals/ping/…/nightly-backup/fail"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redact(*u); got != tc.want {
			t.Errorf("redact(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRunJobFailureHidesURL: when the ping request itself fails (nothing
// listens), the message on stderr names the failure and not the check's
// UUID (net/http's *url.Error would print the whole URL).
func TestRunJobFailureHidesURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from now on
	id := uuid.NewString()
	code, _, stderr := runCLI(noEnv, "run", "--retries", "1", "--ping-url", "http://"+addr+"/ping/"+id, "--", "true")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(stderr, id) || strings.Contains(stderr, id[:8]) || strings.Contains(stderr, "%E2%80%A6") {
		t.Errorf("stderr leaks the ping URL or encodes the ellipsis: %q", stderr)
	}
	if !strings.Contains(stderr, "http://"+addr+"/ping/…/start") || !strings.Contains(stderr, "refused") {
		t.Errorf("stderr does not say which ping failed and why: %q", stderr)
	}
}
