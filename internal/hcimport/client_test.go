package hcimport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/hcimport/hcimporttest"
	"github.com/vitals-go/vitals/internal/model"
)

// sleeps records the waits of a client instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, url, key string, opts hcimport.ClientOptions) *hcimport.Client {
	t.Helper()
	c, err := hcimport.NewClient(url, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientReadsTheDocumentedAnswers decodes the answers of
// healthchecks.io's API documentation, served as a source would.
func TestClientReadsTheDocumentedAnswers(t *testing.T) {
	hc := hcimporttest.New(t)
	hc.SeedFiles(t, "testdata/hc-docs-checks.json", "testdata/hc-docs-channels.json")
	c := newClient(t, hc.URL, hc.Key, hcimport.ClientOptions{})
	checks, err := c.Checks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 {
		t.Fatalf("%d checks", len(checks))
	}
	fs, db := checks[0], checks[1]
	if fs.UUID.Secret() != "31365bce-8da9-4729-8ff3-aaa71d56b712" || fs.Name != "Filesystem Backup" || fs.Tags != "backup fs" ||
		fs.Grace != 600 || fs.Timeout != 3600 || fs.Cron() || fs.StartKW != "START" || !fs.FilterSubject ||
		fs.Channels != "1bdea468-03bf-47b8-ab27-29a9dd0e4b94,51c6eb2b-2ae1-456b-99fe-6f1e0a36cd3c" {
		t.Errorf("first check: %+v", fs)
	}
	if db.Schedule != "15 5 * * *" || db.TZ != "UTC" || db.Timeout != 0 || db.Status != "down" || db.Paused() {
		t.Errorf("second check: %+v", db)
	}
	chans, err := c.Channels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 2 || chans[1] != (hcimport.Channel{ID: "746a083e-f542-4554-be1a-707ce16d3acc", Name: "My Phone", Kind: "sms"}) {
		t.Errorf("channels: %+v", chans)
	}

	// The single check answer has the list's shape.
	b, err := os.ReadFile("testdata/hc-docs-check.json")
	if err != nil {
		t.Fatal(err)
	}
	one, err := hcimport.DecodeChecks([]byte(`{"checks":[` + string(b) + `]}`))
	if err != nil || one[0].UUID != db.UUID || one[0].FailureKW != "ERROR" {
		t.Errorf("single check: %+v, %v", one, err)
	}
}

func TestClientRefusesReadOnlyKeys(t *testing.T) {
	hc := hcimporttest.New(t)
	hc.SeedFiles(t, "testdata/hc-docs-checks.json", "testdata/hc-docs-channels.json")
	_, err := newClient(t, hc.URL, hc.ReadOnlyKey, hcimport.ClientOptions{}).Checks(context.Background())
	if !errors.Is(err, hcimport.ErrReadOnlyKey) {
		t.Errorf("read-only key: %v", err)
	}
	// The documented read-only answer, as recorded.
	b, err := os.ReadFile("testdata/hc-docs-checks-readonly.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hcimport.DecodeChecks(b); !errors.Is(err, hcimport.ErrReadOnlyKey) {
		t.Errorf("documented read-only answer: %v", err)
	}
	_, err = newClient(t, hc.URL, "wrong-key", hcimport.ClientOptions{}).Checks(context.Background())
	if !hcimport.IsStatus(err, http.StatusUnauthorized) || err.Error() != "list checks: 401 Unauthorized: missing or invalid API key" {
		t.Errorf("wrong key: %v", err)
	}
}

func TestClientRetries(t *testing.T) {
	hc := hcimporttest.New(t)
	hc.SeedFiles(t, "testdata/hc-docs-checks.json", "testdata/hc-docs-channels.json")
	var s sleeps
	c := newClient(t, hc.URL, hc.Key, hcimport.ClientOptions{Sleep: s.sleep, Backoff: time.Second, MaxWait: 5 * time.Second})
	hc.Fail(1, http.StatusTooManyRequests, "7")
	hc.Fail(4, http.StatusServiceUnavailable, "")
	if _, err := c.Checks(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Retry-After is honoured (within MaxWait); otherwise the wait doubles
	// from Backoff up to MaxWait.
	want := []time.Duration{5 * time.Second, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	if got := s.all(); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}

	// After Retries, the last error.
	hc.Fail(3, http.StatusBadGateway, "")
	c = newClient(t, hc.URL, hc.Key, hcimport.ClientOptions{Sleep: s.sleep, Retries: 2})
	before := hc.Requests()
	if _, err := c.Channels(context.Background()); !hcimport.IsStatus(err, http.StatusBadGateway) {
		t.Errorf("after the retries: %v", err)
	}
	if n := hc.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	// A 4xx other than 429 is not retried.
	hc.Fail(1, http.StatusBadRequest, "")
	before = hc.Requests()
	if err := c.Create(context.Background(), map[string]any{}); !hcimport.IsStatus(err, http.StatusBadRequest) || hc.Requests()-before != 1 {
		t.Errorf("400: %v after %d requests", err, hc.Requests()-before)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClientPaces(t *testing.T) {
	hc := hcimporttest.New(t)
	hc.SeedFiles(t, "testdata/hc-docs-checks.json", "testdata/hc-docs-channels.json")
	var s sleeps
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newClient(t, hc.URL, hc.Key, hcimport.ClientOptions{Sleep: s.sleep, Now: func() time.Time { return now }, Interval: 600 * time.Millisecond})
	for range 3 {
		if _, err := c.Channels(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The clock stands still: each request waits one more interval.
	if got, want := s.all(), []time.Duration{600 * time.Millisecond, 1200 * time.Millisecond}; !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestClientBoundsAndSecrets(t *testing.T) {
	var gotKey, gotRedirectedKey string
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotRedirectedKey = r.Header.Get("X-Api-Key")
		mu.Unlock()
	}))
	defer elsewhere.Close()
	const secret = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotKey = r.Header.Get("X-Api-Key")
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v3/checks/":
			w.Write([]byte(`{"checks":[` + strings.Repeat(`{"uuid":"`+secret+`"},`, 200) + `{"uuid":"` + secret + `"}]}`))
		case "/api/v3/channels/":
			http.Redirect(w, r, elsewhere.URL+"/api/v3/channels/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":"check ` + secret + ` is owned by the config (` + strings.ToUpper(secret) + `)"}`))
		}
	}))
	defer srv.Close()
	const key = "secret-api-key-0123456789"
	var s sleeps
	c := newClient(t, srv.URL+"/api/v3", key, hcimport.ClientOptions{MaxBody: 1000, Sleep: s.sleep})

	if _, err := c.Checks(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("a long answer: %v", err)
	}
	_, err := c.Channels(context.Background())
	if !hcimport.IsStatus(err, http.StatusFound) || !strings.Contains(err.Error(), "redirected to "+elsewhere.URL) {
		t.Errorf("a redirect: %v", err)
	}
	id, _ := model.ParseCheckID(secret)
	err = c.Update(context.Background(), id, map[string]any{"name": "x"})
	if !hcimport.IsStatus(err, http.StatusConflict) || err.Error() != "update: 409 Conflict: check <uuid> is owned by the config (<uuid>)" {
		t.Errorf("a 409: %v", err)
	}
	srv.Close() // a network error names no URL
	err = c.Pause(context.Background(), id)
	for _, s := range []string{secret, key} {
		if err == nil || strings.Contains(err.Error(), s) {
			t.Errorf("network error %v holds a secret", err)
		}
	}
	if n := len(s.all()); n != 0 {
		t.Errorf("%d retries, want none (too long, redirected, 409, a POST's network error)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotKey != key || gotRedirectedKey != "" {
		t.Errorf("key sent %q, sent to the redirect %q", gotKey, gotRedirectedKey)
	}
}

func TestNewClient(t *testing.T) {
	for _, bad := range []string{"", "ftp://x", "https://", "https://user:pw@hc.example.com", "::"} {
		if _, err := hcimport.NewClient(bad, "k", hcimport.ClientOptions{}); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("NewClient(%q): %v", bad, err)
		}
	}
	if _, err := hcimport.NewClient("https://healthchecks.io", "", hcimport.ClientOptions{}); err == nil {
		t.Error("no key accepted")
	}
	for in, want := range map[string]string{
		"https://healthchecks.io":             "https://healthchecks.io/api/v3/",
		"https://hc.example.com/hc/":          "https://hc.example.com/hc/api/v3/",
		"http://127.0.0.1:8000/api/v3/?x=1#y": "http://127.0.0.1:8000/api/v3/",
	} {
		c, err := hcimport.NewClient(in, "k", hcimport.ClientOptions{})
		if err != nil || c.URL() != want {
			t.Errorf("NewClient(%q).URL() = %v, %v; want %s", in, c, err, want)
		}
	}
}

// TestClientRetriesGetsAfterNetworkErrors: a GET is tried again after a
// dropped connection, a POST is not (it may have been applied).
func TestClientRetriesGetsAfterNetworkErrors(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method]++
		n := calls[r.Method]
		mu.Unlock()
		if n == 1 {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close() // no answer at all
			return
		}
		w.Write([]byte(`{"channels":[]}`))
	}))
	defer srv.Close()
	var s sleeps
	c := newClient(t, srv.URL, "k", hcimport.ClientOptions{Sleep: s.sleep})
	if _, err := c.Channels(context.Background()); err != nil {
		t.Errorf("GET after a dropped connection: %v", err)
	}
	if err := c.Create(context.Background(), map[string]any{"name": "x"}); err == nil {
		t.Error("POST after a dropped connection succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["GET"] != 2 || calls["POST"] != 1 || len(s.all()) != 1 {
		t.Errorf("calls %v, waits %v", calls, s.all())
	}
}
