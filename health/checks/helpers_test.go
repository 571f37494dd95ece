package checks_test

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/internal/testenv"
)

// runOnce runs c once through a real Monitor and returns its result, with
// the observation the checker attached.
func runOnce(t *testing.T, c health.Checker) health.Result {
	t.Helper()
	m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	results := make(chan health.Result, 1)
	m.Subscribe(health.Subscriber{OnResult: func(r health.Result) {
		select {
		case results <- r:
		default:
		}
	}})
	if err := m.Register(health.Check{Name: "c", Checker: c, NoStagger: true, Interval: time.Hour, Kinds: health.Readiness | health.Liveness}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	select {
	case r := <-results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no result within 30s")
	}
	return health.Result{}
}

// wantErr fails unless err matches target and its text contains every part.
func wantErr(t *testing.T, err, target error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("err = %v, want errors.Is %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("err = %q, want it to contain %q", err, p)
		}
	}
}

// requireMachine skips the test (fails it under VITALS_INTEGRATION=1) when
// the machine does not allow what it needs, such as mounting a tmpfs.
func requireMachine(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if testenv.Integration() {
		t.Fatalf("%s is required (%s=1) but not possible here: %v", what, testenv.IntegrationEnv, err)
	}
	t.Skipf("%s not possible here (needs root on Linux): %v", what, err)
}

func newDiscardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
