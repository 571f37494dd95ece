package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vitals-go/vitals/health/checks"
)

// worker is the service's background job: every second it counts the
// accounts (a stand-in for real work against the store) and beats its stall
// detector. The chaos switch blocks it for real, the way a deadlock would.
type worker struct {
	store *Store
	beat  *checks.Stall
	log   *slog.Logger

	mu      sync.Mutex
	blocked chan struct{} // non-nil while stalled; closed to resume
}

func newWorker(store *Store, beat *checks.Stall, log *slog.Logger) *worker {
	return &worker{store: store, beat: beat, log: log}
}

func (w *worker) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		w.beat.Beat()
		w.mu.Lock()
		blocked := w.blocked
		w.mu.Unlock()
		if blocked != nil {
			<-blocked // stalled: no beats until resumed
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A job waits at most 1s, so that a slow or exhausted pool does not
		// take the worker past its stall period: that is readiness's
		// business, not liveness's.
		jctx, cancel := context.WithTimeout(ctx, time.Second)
		if _, err := w.store.Count(jctx); err != nil {
			w.log.Warn("worker: job failed", "error", err)
		}
		cancel()
	}
}

func (w *worker) stall() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.blocked == nil {
		w.blocked = make(chan struct{})
	}
}

func (w *worker) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.blocked != nil {
		close(w.blocked)
		w.blocked = nil
	}
}
