package watchdog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

var quietLog = slog.New(slog.DiscardHandler)

func pullCheck(name string) model.Check {
	return model.Check{Name: name, Kind: model.KindPull, Schedule: model.Schedule{Period: 10 * time.Second},
		Probe: []byte(`{"url":"http://127.0.0.1:1/"}`)}
}

// openSQLite opens (or reopens) the SQLite file at path, with no
// background compaction or checkpoint to run on synctest's clock.
func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path, sqlite.Options{CheckpointInterval: 24 * time.Hour, CompactInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func report(t *testing.T, e *watchdog.Engine, id model.CheckID, ok bool) model.State {
	t.Helper()
	r := model.Result{OK: ok, Duration: time.Millisecond}
	if !ok {
		r.Error = "connection refused"
	}
	st, err := e.Report(context.Background(), id, r)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func stored(t *testing.T, st *sqlite.Store, id model.CheckID) model.State {
	t.Helper()
	_, s, err := st.GetCheck(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A result that only confirms the status is seen in memory at once but
// written at the next flush; a flip (and the routine results before it)
// is written before Report returns; Close writes what is held.
func TestRoutineResultsWaitForTheFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := openSQLite(t, filepath.Join(t.TempDir(), "v.db"))
		defer st.Close()
		e := watchdog.New(st, watchdog.Options{Logger: quietLog, ResultFlush: 30 * time.Second})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		c, err := e.Create(ctx, pullCheck("api"))
		if err != nil {
			t.Fatal(err)
		}
		up := report(t, e, c.ID, true) // new → up: a flip, durable
		if s := stored(t, st, c.ID); s.Status != model.StatusUp || !s.LastPing.Equal(up.LastPing) {
			t.Fatalf("flip not durable at once: stored %s at %v", s.Status, s.LastPing)
		}
		time.Sleep(10 * time.Second)
		routine := report(t, e, c.ID, true)
		if cs, _ := e.Get(c.ID); !cs.State.LastPing.Equal(routine.LastPing) || cs.State.ConsecSuccesses != 2 {
			t.Fatalf("memory does not show the routine result: %+v", cs.State)
		}
		if s := stored(t, st, c.ID); !s.LastPing.Equal(up.LastPing) {
			t.Fatalf("routine result written before the flush: stored last ping %v, want %v", s.LastPing, up.LastPing)
		}
		if n := e.Dirty(); n != 1 {
			t.Fatalf("Dirty() = %d, want 1", n)
		}
		time.Sleep(25 * time.Second) // past the flush at 30 s
		synctest.Wait()
		if s := stored(t, st, c.ID); !s.LastPing.Equal(routine.LastPing) || s.ConsecSuccesses != 2 {
			t.Fatalf("flush did not write the routine result: %+v", s)
		}
		// A routine result, then a flip: the flip's write carries it.
		time.Sleep(time.Second)
		report(t, e, c.ID, true)
		down := report(t, e, c.ID, false)
		if s := stored(t, st, c.ID); s.Status != model.StatusDown || !s.LastPing.Equal(down.LastPing) || s.NFlips != 2 {
			t.Fatalf("flip down not durable at once: %+v", s)
		}
		// Failures confirming down are held too, and Close writes them.
		time.Sleep(time.Second)
		last := report(t, e, c.ID, false)
		if s := stored(t, st, c.ID); !s.LastPing.Equal(down.LastPing) {
			t.Fatalf("a failure confirming down was written at once")
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if s := stored(t, st, c.ID); !s.LastPing.Equal(last.LastPing) || s.ConsecFailures != 2 {
			t.Fatalf("Close did not flush: %+v", s)
		}
	})
}

// A changed failure reason, or a step towards a threshold, is written at
// once: only results that confirm the status wait.
func TestStepsTowardsAFlipAreDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := openSQLite(t, filepath.Join(t.TempDir(), "v.db"))
		defer st.Close()
		e := watchdog.New(st, watchdog.Options{Logger: quietLog, ResultFlush: time.Hour})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		c := pullCheck("api")
		c.Thresholds.Failures = 3
		c, err := e.Create(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		report(t, e, c.ID, true)
		time.Sleep(time.Second)
		report(t, e, c.ID, true) // routine
		for i := 1; i <= 2; i++ {
			time.Sleep(time.Second)
			s := report(t, e, c.ID, false) // up, failure i of 3: not routine
			if got := stored(t, st, c.ID); got.ConsecFailures != i || !got.LastPing.Equal(s.LastPing) {
				t.Fatalf("failure %d towards the threshold not durable: %+v", i, got)
			}
		}
	})
}

// crashEnv makes the test binary the crashing engine of
// TestCrashLosesOnlyRoutineResults.
const crashEnv = "VITALS_TEST_COALESCE_CRASH"

// A crash (SIGKILL, no Close) loses the routine results held since the
// last flush and nothing else: after a reopen of the real SQLite file,
// both flips are there and the state is the one the last flip wrote.
func TestCrashLosesOnlyRoutineResults(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashingEngine(path)
		return
	}
	path := filepath.Join(t.TempDir(), "v.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesOnlyRoutineResults$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var got struct {
		ID          model.CheckID
		Flip, Later model.State
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		t.Fatalf("the crashing engine said nothing: %v", err)
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no flush
		t.Fatal(err)
	}
	cmd.Wait()

	st := openSQLite(t, path)
	defer st.Close()
	s := stored(t, st, got.ID)
	if s.Status != model.StatusDown || s.NFlips != 2 || !s.LastPing.Equal(got.Flip.LastPing) || s.ConsecFailures != 1 {
		t.Fatalf("after the crash: %+v; want the state of the flip down: %+v", s, got.Flip)
	}
	if !got.Later.LastPing.After(got.Flip.LastPing) {
		t.Fatalf("the routine results were not later than the flip")
	}
	flips, err := st.Flips(context.Background(), got.ID, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(flips) != 2 {
		t.Fatalf("stored flips %d, want 2", len(flips))
	}
}

// crashingEngine records two flips and routine results after each, on
// the SQLite file at path, prints the check's id and states, and waits to
// be killed.
func crashingEngine(path string) {
	ctx := context.Background()
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		panic(err)
	}
	e := watchdog.New(st, watchdog.Options{Logger: quietLog, ResultFlush: time.Hour})
	if err := e.Start(ctx); err != nil {
		panic(err)
	}
	c, err := e.Create(ctx, pullCheck("api"))
	if err != nil {
		panic(err)
	}
	res := func(ok bool) model.State {
		time.Sleep(2 * time.Millisecond) // distinct last pings
		r := model.Result{OK: ok}
		if !ok {
			r.Error = "connection refused"
		}
		s, err := e.Report(ctx, c.ID, r)
		if err != nil {
			panic(err)
		}
		return s
	}
	res(true)
	res(true)
	res(true)
	flip := res(false)
	res(false)
	later := res(false)
	b, _ := json.Marshal(map[string]any{"ID": c.ID, "Flip": flip, "Later": later})
	fmt.Println(string(b))
	select {} // killed here
}

// Retiring a check writes its held results first: the state kept (and
// restored) is the one shown last.
func TestRetireWritesHeldResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := openSQLite(t, filepath.Join(t.TempDir(), "v.db"))
		defer st.Close()
		e := watchdog.New(st, watchdog.Options{Logger: quietLog, ResultFlush: time.Hour})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		c, err := e.Create(ctx, pullCheck("api"))
		if err != nil {
			t.Fatal(err)
		}
		report(t, e, c.ID, true)
		time.Sleep(time.Second)
		last := report(t, e, c.ID, true) // held
		if err := e.Retire(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		_, s, err := st.RestoreCheck(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if !s.LastPing.Equal(last.LastPing) {
			t.Fatalf("retired state's last ping %v, want the held result's %v", s.LastPing, last.LastPing)
		}
	})
}
