// Package watchdogtest starts real watchdog engines, with many checks, for
// the tests and benchmarks of the packages that read one (the API, the
// metrics).
package watchdogtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// workers create the checks concurrently, so that their writes share
// group commits.
const workers = 32

// SQLite starts an engine (logging nowhere) on a new SQLite store in
// tb.TempDir() and gives it n checks: check(i) for i in [0, n), each sent
// the pings of kinds pings(i) once created. The store runs with
// Synchronous OFF: only this setup writes durably, which suits benchmarks
// of reads, not of writes. The test's cleanup closes the engine and the
// store; a failed create or ping fails tb at once.
func SQLite(tb testing.TB, n int, check func(i int) model.Check, pings func(i int) []model.PingKind) (*watchdog.Engine, *sqlite.Store) {
	tb.Helper()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "vitals.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		tb.Fatal(err)
	}
	e := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		st.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(); st.Close() })
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c, err := e.Create(ctx, check(i))
				for _, k := range pings(i) {
					if err == nil {
						_, err = e.Ping(ctx, c.ID, model.Ping{Kind: k})
					}
				}
				if err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	return e, st
}
