package checks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

func TestInFlightMiddleware(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	l := checks.NewInFlight(1, checks.InFlightOptions{Grace: -1, HardLimit: 2})
	srv := httptest.NewServer(l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})))
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	<-entered
	<-entered
	ctx := context.Background()
	wantErr(t, l.Check(ctx), checks.ErrOverloaded, "2 in flight, over the limit of 1")
	// A third request is beyond the hard limit: shed at once.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("shed request: %d %q, Retry-After %q; want 503 with Retry-After 1", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("served request: %d, want 200", c)
		}
	}
	if err := l.Check(ctx); err != nil {
		t.Errorf("idle: %v", err)
	}
	if l.Len() != 0 {
		t.Errorf("Len = %d after all requests, want 0", l.Len())
	}
}

func TestProbe(t *testing.T) {
	var seen atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		seen.Store(fmt.Sprintf("synthetic=%v header=%q host=%s uri=%s q=%s", checks.IsSynthetic(r),
			r.Header.Get(checks.SyntheticHeader), r.Host, r.RequestURI, r.URL.Query().Get("n")))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`)
	})
	mux.HandleFunc("POST /api/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	mux.HandleFunc("GET /api/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("db down ", 1000), http.StatusInternalServerError)
	})
	// Middleware deriving its own context keeps the synthetic mark.
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
	ctx := context.Background()

	r := runOnce(t, checks.NewProbe(app, checks.ProbeOptions{Target: "/api/ping?n=1"}))
	if r.Error != "" || r.Observation == nil || r.Observation.Value != 200 {
		t.Fatalf("result %+v, want pass observing status 200", r)
	}
	if got, want := seen.Load(), `synthetic=true header="1" host=localhost uri=/api/ping?n=1 q=1`; got != want {
		t.Errorf("handler saw %s, want %s", got, want)
	}
	check := func(status int, h http.Header, body []byte) error {
		if h.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"pong":true`) {
			return fmt.Errorf("got %s %q", h.Get("Content-Type"), body)
		}
		return nil
	}
	if err := checks.NewProbe(app, checks.ProbeOptions{Target: "/api/ping", Check: check}).Check(ctx); err != nil {
		t.Errorf("body check: %v", err)
	}
	err := checks.NewProbe(app, checks.ProbeOptions{Method: "POST", Target: "/api/echo", Body: []byte("hello"), Check: check}).Check(ctx)
	wantErr(t, err, nil, `probe POST /api/echo: got  "hello"`)
	err = checks.NewProbe(app, checks.ProbeOptions{Target: "/api/broken"}).Check(ctx)
	wantErr(t, err, checks.ErrUnexpectedStatus, "probe GET /api/broken: unexpected status 500 Internal Server Error, want 2xx: body \"db down db down", "…")
	if len(err.Error()) > 400 {
		t.Errorf("error of %d bytes, want the body capped", len(err.Error()))
	}
	err = checks.NewProbe(app, checks.ProbeOptions{Target: "/nowhere", Statuses: []int{200, 204}}).Check(ctx)
	wantErr(t, err, checks.ErrUnexpectedStatus, "404 Not Found, want one of 200, 204")
	if err := checks.NewProbe(app, checks.ProbeOptions{Target: "/nowhere", Statuses: []int{404}}).Check(ctx); err != nil {
		t.Errorf("404 accepted: %v", err)
	}
	err = checks.NewProbe(app, checks.ProbeOptions{Target: "http://evil/"}).Check(ctx)
	wantErr(t, err, nil, `probe: target "http://evil/" does not start with /`)
	err = checks.NewProbe(nil, checks.ProbeOptions{}).Check(ctx)
	wantErr(t, err, nil, "probe: handler is nil")

	// A real request is not synthetic, even with the header.
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/api/ping", nil)
	req.Header.Set(checks.SyntheticHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen.Load().(string); !strings.HasPrefix(got, "synthetic=false") {
		t.Errorf("real request seen as %s, want synthetic=false", got)
	}
}

func TestProbeDeadline(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		http.Error(w, r.Context().Err().Error(), http.StatusGatewayTimeout)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := checks.NewProbe(slow, checks.ProbeOptions{}).Check(ctx)
	wantErr(t, err, checks.ErrUnexpectedStatus, "504", "context deadline exceeded")
}

func TestPassiveWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := checks.NewPassive(checks.PassiveOptions{}) // 10s window, 50%, 20 requests, 30s ejection
		record := func(ok, failed int) {
			for range ok {
				p.Record(false)
			}
			for range failed {
				p.Record(true)
			}
		}
		record(0, 15) // below MinRequests
		if err := p.Check(ctx); err != nil {
			t.Fatalf("15 failures: %v", err)
		}
		// Old failures slide out of the window.
		for range 11 {
			time.Sleep(time.Second)
			if err := p.Check(ctx); err != nil {
				t.Fatal(err)
			}
		}
		record(20, 5)
		if err := p.Check(ctx); err != nil {
			t.Fatalf("5 of 25 in the window: %v", err)
		}
		time.Sleep(time.Second)
		record(5, 30) // 35 of 60 in the window
		err := p.Check(ctx)
		wantErr(t, err, checks.ErrEjected, "passive: ejected for 30s: 35 of 60 requests failed (58.3%) in the last 1", "threshold 50%")
		time.Sleep(29 * time.Second)
		wantErr(t, p.Check(ctx), checks.ErrEjected, "passive: ejected for 1s more: 58.3% of requests failed, threshold 50%")
		time.Sleep(time.Second)
		// Half-open: an empty window, so the old failures are forgotten.
		if err := p.Check(ctx); err != nil {
			t.Fatalf("after the ejection time: %v", err)
		}
		record(0, 19)
		if err := p.Check(ctx); err != nil {
			t.Fatalf("19 failures after the ejection: %v", err)
		}
		record(0, 1)
		wantErr(t, p.Check(ctx), checks.ErrEjected, "20 of 20 requests failed (100.0%)")

		// Switched off: the ejection ends, nothing is counted.
		p.SetEnabled(false)
		if err := p.Check(ctx); err != nil {
			t.Fatalf("disabled: %v", err)
		}
		total, _ := p.Counts()
		record(0, 100)
		if got, _ := p.Counts(); got != total {
			t.Errorf("disabled: counts went from %d to %d", total, got)
		}
		p.SetEnabled(true)
		if err := p.Check(ctx); err != nil {
			t.Fatalf("enabled again: %v", err)
		}
		if p.Enabled() != true {
			t.Error("Enabled = false")
		}
	})
}

// TestPassiveReadiness drives the whole path: requests through the
// middleware, the Passive registered as a readiness check with a Monitor,
// /readyz flipping to 503 when the failure ratio crosses the threshold and
// back to 200 after the ejection time.
func TestPassiveReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		p := checks.NewPassive(checks.PassiveOptions{Window: 5 * time.Second, MinRequests: 10, FailureRatio: 0.5, EjectionTime: 20 * time.Second})
		app := p.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "db down", http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		}))
		m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err := m.Register(health.Check{Name: "passive", Checker: p, Interval: time.Second, NoStagger: true}); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		defer m.Stop(context.Background())
		readyz := func() int {
			w := httptest.NewRecorder()
			m.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			return w.Code
		}
		serve := func(n int) {
			for range n {
				app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			}
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		serve(50)
		time.Sleep(time.Second)
		synctest.Wait()
		if c := readyz(); c != 200 {
			t.Fatalf("/readyz = %d with healthy traffic, want 200", c)
		}
		failing.Store(true)
		serve(50)
		time.Sleep(time.Second)
		synctest.Wait()
		if c := readyz(); c != 503 {
			t.Fatalf("/readyz = %d after 50%% failures, want 503", c)
		}
		r, _ := m.Result("passive")
		if !strings.Contains(r.Error, "ejected for 20s") {
			t.Errorf("result error %q", r.Error)
		}
		// Ejected: no more traffic reaches it (the load balancer took it
		// out); the check stays down for the ejection time, then recovers.
		time.Sleep(18 * time.Second)
		synctest.Wait()
		if c := readyz(); c != 503 {
			t.Fatalf("/readyz = %d 19s into the ejection, want 503", c)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if c := readyz(); c != 200 {
			t.Fatalf("/readyz = %d after the ejection time, want 200", c)
		}
	})
}

func TestPassiveMiddleware(t *testing.T) {
	p := checks.NewPassive(checks.PassiveOptions{Failed: func(status int) bool { return status >= 500 || status == 429 }})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) })
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first")
		w.WriteHeader(500) // superfluous: the status is 200
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(103)
		w.WriteHeader(502)
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("handler bug") })
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the middleware: %v", err)
		}
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		rw.Flush()
		conn.Close()
	})
	srv := httptest.NewUnstartedServer(p.Middleware(mux))
	srv.Config.ErrorLog = newDiscardLogger()
	srv.Start()
	t.Cleanup(srv.Close)
	// A new connection per request: the transport retries a GET whose
	// reused connection breaks (as /panic does), which would count twice.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tt := range []struct {
		path         string
		total, fails uint64
	}{
		{"/ok", 1, 0}, {"/500", 1, 1}, {"/429", 1, 1}, {"/late", 1, 0}, {"/early-hints", 1, 1},
		{"/panic", 1, 1}, {"/flush", 1, 0}, {"/hijack", 1, 0}, {"/missing", 1, 0},
	} {
		t0, f0 := p.Counts()
		resp, err := client.Get(srv.URL + tt.path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		t1, f1 := p.Counts()
		// A hijacked connection hands the client its whole answer before
		// the handler returns, and the middleware counts on that return:
		// wait for it (bounded) instead of racing it.
		for deadline := time.Now().Add(10 * time.Second); t1-t0 < tt.total && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			t1, f1 = p.Counts()
		}
		if t1-t0 != tt.total || f1-f0 != tt.fails {
			t.Errorf("%s: counted %d requests, %d failures; want %d, %d", tt.path, t1-t0, f1-f0, tt.total, tt.fails)
		}
	}
	// Switched off at run time: requests pass straight through uncounted.
	p.SetEnabled(false)
	t0, _ := p.Counts()
	resp, err := client.Get(srv.URL + "/500")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if t1, _ := p.Counts(); t1 != t0 || resp.StatusCode != 500 {
		t.Errorf("disabled: counted %d, status %d", t1-t0, resp.StatusCode)
	}
}

// TestPassiveConcurrent records from several goroutines while checks run,
// under the race detector, and loses no count.
func TestPassiveConcurrent(t *testing.T) {
	p := checks.NewPassive(checks.PassiveOptions{MinRequests: 1 << 30})
	const workers, each = 4, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p.Record(i%4 == w%4)
			}
		})
	}
	stop := make(chan struct{})
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := p.Check(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-checked
	total, failed := p.Counts()
	if total != workers*each || failed != workers*each/4 {
		t.Errorf("counts %d, %d; want %d, %d", total, failed, workers*each, workers*each/4)
	}
}
