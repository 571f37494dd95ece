package checks_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

// openPool opens a real SQLite database with a pool of max connections.
func openPool(t *testing.T, max int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "pool.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(max)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return db
}

// hold takes n connections of db's pool and returns them when the test ends.
func hold(t *testing.T, db *sql.DB, n int) []*sql.Conn {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := db.Conn(ctx)
		cancel()
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		conns[i] = c
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// wait asks db for a connection that does not come: it gives up after a
// short timeout, which the pool counts as a wait.
func wait(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if c, err := db.Conn(ctx); err == nil {
		c.Close()
		t.Fatal("got a connection from a pool with all of them held")
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSQLPoolExhausted(t *testing.T) {
	db := openPool(t, 2)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	p := checks.NewSQLPool(db, checks.SQLPoolOptions{Window: 3 * time.Second, Now: clock.now})
	ctx := context.Background()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("idle pool: %v", err)
	}
	conns := hold(t, db, 2)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("first saturated run: %v", err)
	}
	clock.add(5 * time.Second)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated for 5s without waiters (fully used, not exhausted): %v", err)
	}
	wait(t, db)
	if err := p.Check(ctx); err == nil {
		t.Fatal("saturated for 5s with a waiter: passed")
	} else {
		wantErr(t, err, checks.ErrPoolExhausted, "all 2 connections in use for 5s", "1 new waits", "window 3s")
	}
	// One connection back: the pool is no longer exhausted, and a new
	// saturation needs a whole window again.
	conns[0].Close()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("a connection free: %v", err)
	}
	hold(t, db, 1)
	wait(t, db)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated again, first run: %v", err)
	}
	clock.add(2 * time.Second)
	wait(t, db)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated for 2s of a 3s window: %v", err)
	}
	clock.add(time.Second)
	if err := p.Check(ctx); !errors.Is(err, checks.ErrPoolExhausted) {
		t.Fatalf("saturated for the window with a wait in it: %v", err)
	}
}

// Under sustained overload a run can land in the moment between one
// request's connection going back and the next waiter taking it. A free
// connection with new waits since the run before is that moment, not the
// end of the saturation; a free connection with no new waits is.
func TestSQLPoolFreeBetweenWaiters(t *testing.T) {
	db := openPool(t, 2)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	p := checks.NewSQLPool(db, checks.SQLPoolOptions{Window: 3 * time.Second, Now: clock.now})
	ctx := context.Background()
	conns := hold(t, db, 2)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("first saturated run: %v", err)
	}
	clock.add(2 * time.Second)
	wait(t, db)
	conns[0].Close() // the run sees a free connection, after a wait
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated for 2s of a 3s window: %v", err)
	}
	hold(t, db, 1)
	clock.add(time.Second)
	wait(t, db)
	if err := p.Check(ctx); !errors.Is(err, checks.ErrPoolExhausted) {
		t.Fatalf("saturated for the window, one run in a moment between waiters: %v", err)
	}
	conns[1].Close() // free, and nobody waited since the run before
	if err := p.Check(ctx); err != nil {
		t.Fatalf("a connection free without new waits: %v", err)
	}
	hold(t, db, 1)
	clock.add(5 * time.Second)
	wait(t, db)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated again, first run: the window starts over: %v", err)
	}
}

// Waits from before the saturation began do not count: only new ones.
func TestSQLPoolOldWaitsDoNotCount(t *testing.T) {
	db := openPool(t, 1)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	p := checks.NewSQLPool(db, checks.SQLPoolOptions{Window: time.Second, Now: clock.now})
	c := hold(t, db, 1)
	wait(t, db)
	c[0].Close()
	hold(t, db, 1)
	ctx := context.Background()
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("saturated, waits only from before: %v", err)
	}
}

// A pool without a limit cannot be exhausted; its observation is a count.
func TestSQLPoolUnlimited(t *testing.T) {
	db := openPool(t, 0)
	hold(t, db, 3)
	r := runOnce(t, checks.NewSQLPool(db, checks.SQLPoolOptions{Window: -1}))
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Value != 3 || r.Observation.Unit != "connections" {
		t.Fatalf("unlimited pool with 3 in use: %+v (observed %+v)", r, r.Observation)
	}
}

// Through a real Monitor: the observation is the saturation in percent, and
// with a negative window the second saturated run with a new wait fails.
func TestSQLPoolObservesPercent(t *testing.T) {
	db := openPool(t, 4)
	hold(t, db, 3)
	r := runOnce(t, checks.NewSQLPool(db, checks.SQLPoolOptions{}))
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Value != 75 || r.Observation.Unit != "percent" {
		t.Fatalf("3 of 4 in use: %+v (observed %+v)", r, r.Observation)
	}
	hold(t, db, 1)
	p := checks.NewSQLPool(db, checks.SQLPoolOptions{Window: -1})
	ctx := context.Background()
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(ctx); err != nil {
		t.Fatalf("no new wait: %v", err)
	}
	wait(t, db)
	if err := p.Check(ctx); !errors.Is(err, checks.ErrPoolExhausted) {
		t.Fatalf("window -1, new wait: %v", err)
	}
}
