package checks_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/vitals-go/vitals/health/checks"
)

func TestHeap(t *testing.T) {
	ctx := context.Background()
	if err := checks.NewHeap(1 << 40).Check(ctx); err != nil {
		t.Errorf("1 TiB limit: %v", err)
	}
	err := checks.NewHeap(1024).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "go heap in use is ", "want at most 1.0 KiB")
	r := runOnce(t, checks.NewHeap(1<<40))
	if r.Observation == nil || r.Observation.Unit != "bytes" || r.Observation.Value < 1024 {
		t.Errorf("observation %+v, want the heap in bytes", r.Observation)
	}
}

func TestHeapGOMEMLIMIT(t *testing.T) {
	ctx := context.Background()
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	debug.SetMemoryLimit(1 << 50)
	if err := checks.NewHeap(0).Check(ctx); err != nil {
		t.Errorf("huge GOMEMLIMIT: %v", err)
	}
	debug.SetMemoryLimit(64 << 10) // far below the heap in use
	err := checks.NewHeap(0).Check(ctx)
	debug.SetMemoryLimit(old)
	wantErr(t, err, checks.ErrThreshold, "want at most 57.6 KiB (90% of GOMEMLIMIT 64.0 KiB)")
}

func TestGoroutines(t *testing.T) {
	ctx := context.Background()
	if err := checks.NewGoroutines(0).Check(ctx); err != nil {
		t.Errorf("default limit: %v", err)
	}
	release := make(chan struct{})
	done := make(chan struct{})
	const extra = 50
	for range extra {
		go func() { <-release; done <- struct{}{} }()
	}
	defer func() {
		close(release)
		for range extra {
			<-done
		}
	}()
	n := runtime.NumGoroutine()
	err := checks.NewGoroutines(extra).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "goroutines is ", "want at most 50")
	if err := checks.NewGoroutines(n + 100).Check(ctx); err != nil {
		t.Errorf("limit above the count: %v", err)
	}
	r := runOnce(t, checks.NewGoroutines(0))
	if r.Observation == nil || r.Observation.Unit != "goroutines" || r.Observation.Value < extra {
		t.Errorf("observation %+v, want at least %d goroutines", r.Observation, extra)
	}
}
