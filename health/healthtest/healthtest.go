// Package healthtest helps users of the health library test their own
// checkers and endpoints: a conformance suite every Checker should pass, and
// assertions on what a probe answers. It uses the standard library only.
package healthtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Conformance describes a checker and how to break its dependency for
// [Run]. Only Checker is required; each optional hook enables the
// properties that need it.
type Conformance struct {
	// Checker is the checker under test, connected to a dependency that is
	// up.
	Checker health.Checker

	// Break makes the dependency unavailable for real (stop the server, cut
	// a proxy, close the pool); Restore brings it back. Both or neither.
	Break, Restore func(t testing.TB)

	// Hang makes the dependency stop answering without closing connections
	// (a proxy that swallows bytes), for the timeout property; Restore
	// undoes it too. Optional.
	Hang func(t testing.TB)

	// Secrets are strings (passwords, tokens) that must never appear in an
	// error text the checker returns. Optional.
	Secrets []string

	// Within bounds how long the suite waits for the checker to notice a
	// change and for calls to return. Default: 10 seconds.
	Within time.Duration
}

// Run checks the properties every checker of the health library has:
//
//   - it passes while its dependency is up;
//   - it is safe for concurrent use (run the suite with -race);
//   - it returns promptly when its context is cancelled or past its deadline;
//   - with Break: it fails while the dependency is down, with an error text
//     that says something and leaks none of Secrets, and passes again after
//     Restore;
//   - with Hang: it fails by its context's deadline instead of hanging.
func Run(t *testing.T, c Conformance) {
	t.Helper()
	if c.Checker == nil {
		t.Fatal("healthtest: Conformance.Checker is nil")
	}
	if (c.Break == nil) != (c.Restore == nil) {
		t.Fatal("healthtest: set both Break and Restore, or neither")
	}
	if c.Within <= 0 {
		c.Within = 10 * time.Second
	}
	t.Run("passes while up", func(t *testing.T) {
		if err := check(t, c, c.Within); err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for range 8 {
			wg.Go(func() {
				for range 8 {
					ctx, cancel := context.WithTimeout(context.Background(), c.Within)
					errs <- c.Checker.Check(ctx)
					cancel()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Check = %v, want nil", err)
			}
		}
	})
	t.Run("cancelled context returns", func(t *testing.T) {
		ReturnsOnCancel(t, c.Checker, c.Within)
	})
	if c.Break != nil {
		t.Run("fails while down and recovers", func(t *testing.T) {
			c.Break(t)
			restored := false
			defer func() {
				if !restored {
					c.Restore(t)
				}
			}()
			err := eventually(t, c, func(err error) bool { return err != nil })
			if err == nil {
				t.Fatalf("Check kept passing for %v after Break", c.Within)
			}
			text := err.Error()
			if strings.TrimSpace(text) == "" {
				t.Error("the error text is empty: it must say what failed")
			}
			for _, s := range c.Secrets {
				if s != "" && strings.Contains(text, s) {
					t.Errorf("the error text leaks a secret: %q", text)
				}
			}
			c.Restore(t)
			restored = true
			if err := eventually(t, c, func(err error) bool { return err == nil }); err != nil {
				t.Fatalf("Check still fails %v after Restore: %v", c.Within, err)
			}
		})
	}
	if c.Hang != nil {
		t.Run("deadline while hanging", func(t *testing.T) {
			c.Hang(t)
			defer c.Restore(t)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := returns(t, c, ctx); err == nil {
				t.Error("Check passed against a dependency that does not answer")
			}
		})
	}
}

// ReturnsOnCancel fails t unless c.Check, called with a context that is
// already cancelled, returns within the given time. It is the property
// [Run] checks under "cancelled context returns".
func ReturnsOnCancel(t testing.TB, c health.Checker, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	returns(t, Conformance{Checker: c, Within: within}, ctx)
}

// check runs one Check with a timeout.
func check(t testing.TB, c Conformance, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Checker.Check(ctx)
}

// returns runs Check with ctx and fails the test if it has not returned
// within Within after ctx is done.
func returns(t testing.TB, c Conformance, ctx context.Context) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Checker.Check(ctx) }()
	<-ctx.Done()
	timer := time.NewTimer(c.Within)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("Check ignores its context: still running %v after it was done", c.Within)
		return nil
	}
}

// eventually polls Check until ok(err) or Within passes, and returns the
// last error.
func eventually(t testing.TB, c Conformance, ok func(error) bool) error {
	t.Helper()
	deadline := time.Now().Add(c.Within)
	for {
		err := check(t, c, c.Within)
		if ok(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Answer is what a probe answered.
type Answer struct {
	Code   int
	Status string // "UP", "DEGRADED", "DOWN" (or "pass"/"warn"/"fail")
	Body   string
	Header http.Header
}

// Probe sends GET path (with optional header name/value pairs) to h in
// process and decodes the answer.
func Probe(t testing.TB, h http.Handler, path string, header ...string) Answer {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := Answer{Code: w.Code, Body: w.Body.String(), Header: w.Header()}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err == nil {
		a.Status = body.Status
	}
	return a
}

// AssertProbe fails the test unless GET path on h answers want (UP and
// DEGRADED with 200, DOWN with 503) with Cache-Control: no-store.
func AssertProbe(t testing.TB, h http.Handler, path string, want health.Status) {
	t.Helper()
	a := Probe(t, h, path)
	if a.Code != want.HTTPCode() || a.Status != want.String() {
		t.Errorf("GET %s = %d %s, want %d %s (body %q)", path, a.Code, a.Status, want.HTTPCode(), want, a.Body)
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET %s: Cache-Control %q, want no-store", path, cc)
	}
}
