package sqlite_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

func TestContract(t *testing.T) {
	for _, mode := range []struct {
		name    string
		sync    string
		compact time.Duration
	}{
		{"PIPELINED", "PIPELINED", 0},
		{"FULL", "FULL", 0},
		{"OFF", "OFF", 0},
		// The log folded into the tables between almost every write.
		{"PIPELINED-compacting", "PIPELINED", time.Millisecond},
	} {
		t.Run(mode.name, func(t *testing.T) {
			storetest.Run(t, storetest.Config{
				New: func(t *testing.T) func() store.Store {
					path := filepath.Join(t.TempDir(), "vitals.db")
					return func() store.Store {
						s, err := sqlite.Open(path, sqlite.Options{PingRetention: 5, Synchronous: mode.sync, CompactInterval: mode.compact})
						if err != nil {
							t.Fatal(err)
						}
						return s
					}
				},
				Persistent:    true,
				PingRetention: 5,
			})
		})
	}
}

// Close stops every goroutine the store started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "g.db"), sqlite.Options{CheckpointInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListChecks(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// database/sql's connection openers exit asynchronously after Close.
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
}

func TestOpenErrors(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "SOMETIMES"}); err == nil ||
		!strings.Contains(err.Error(), `synchronous "SOMETIMES"`) {
		t.Fatalf("bad synchronous: %v", err)
	}
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "missing-dir", "x.db"), sqlite.Options{}); err == nil {
		t.Fatal("opened a database in a missing directory")
	}
}

// One batch mixing good writes, writes to missing checks, a write that
// violates a constraint (a duplicate ping number) and several writes to the
// same check: each fails or succeeds on its own, and the last state wins.
func TestBatchIsolation(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "b.db"), sqlite.Options{MaxWait: 50 * time.Millisecond, PingRetention: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := storetest.SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	ping := func(n int64) store.Update {
		st := model.NewState(c.ID, time.Now())
		st.NPings = n
		return store.Update{CheckID: c.ID, State: st, Ping: &model.Ping{CheckID: c.ID, N: n, Kind: model.PingLog, Time: time.Now()}}
	}
	flip := model.Flip{ID: uuid.New(), CheckID: c.ID, From: model.StatusNew, To: model.StatusUp, Time: time.Now()}
	first := ping(1)
	first.Flips = []model.Flip{flip}
	if err := s.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	dup := ping(3)
	dup.Flips = []model.Flip{flip} // the same flip id again: a constraint violation
	updates := []store.Update{ping(2), ping(4), dup, {CheckID: model.NewCheckID(), State: model.NewState(model.NewCheckID(), time.Now())}, ping(5)}
	errs := make([]error, len(updates))
	var wg sync.WaitGroup
	for i, u := range updates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Apply(ctx, u)
		}()
	}
	wg.Wait()
	for i, want := range []string{"", "", "constraint", "not found", ""} {
		if (want == "") != (errs[i] == nil) || (want != "" && !strings.Contains(strings.ToLower(errs[i].Error()), want)) {
			t.Fatalf("update %d: %v, want %q", i, errs[i], want)
		}
	}
	pings, _ := s.Pings(ctx, c.ID, store.PingQuery{})
	if len(pings) != 4 || pings[0].N != 5 || pings[3].N != 1 {
		t.Fatalf("pings %+v, want 5, 4, 2, 1", pings)
	}
	if st := s.Stats(); st.Batches < 2 {
		t.Fatalf("stats %+v", st)
	}
}

// In PIPELINED mode a write is answered only after the fsync that covers
// it: with the fsync held back, Apply does not return.
func TestPipelinedAnswersAfterFsync(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Synchronous: "PIPELINED"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gate := make(chan struct{})
	entered := make(chan struct{}, 100)
	sqlite.SetFsyncHook(s, func() {
		entered <- struct{}{}
		<-gate
	})
	c := storetest.SampleCheck(1)
	done := make(chan error, 1)
	go func() { done <- s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())) }()
	<-entered // the write is committed and its fsync has begun
	select {
	case err := <-done:
		t.Fatalf("answered before its fsync: %v", err)
	default:
	}
	// Committed data is already visible to readers; the answer still waits.
	if _, _, err := s.GetCheck(ctx, c.ID); err != nil {
		t.Fatalf("committed check not readable: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("answered before its fsync: %v", err)
	default:
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Fsyncs < 1 {
		t.Fatalf("stats %+v", st)
	}
}
