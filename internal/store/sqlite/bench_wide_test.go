package sqlite_test

import (
	"context"
	"database/sql"
	"flag"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

var wideChecks = flag.Int("wide-checks", 20000, "checks of BenchmarkApplyWide and BenchmarkFlipLane")

// wideRetention is the ping retention of the wide benchmarks' stores.
const wideRetention = 10

// wide is a store of many checks whose pings already pass the retention
// (so that compaction prunes as it moves the log), and the writers of its
// pings.
type wide struct {
	ids []model.CheckID
	ns  []atomic.Int64 // each check's last ping number
}

// newWide creates the store at path with n checks and fills it, without
// fsync, with retention + 2 pings per check: written through Apply, or
// with bulk straight into the pings table with one INSERT (minutes faster
// at 100,000 checks).
func newWide(b *testing.B, path string, n int, bulk bool) *wide {
	ctx := context.Background()
	l := &wide{ids: make([]model.CheckID, n), ns: make([]atomic.Int64, n)}
	fill, err := sqlite.Open(path, sqlite.Options{Synchronous: "OFF", PingRetention: wideRetention})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 { // in parallel: group commits
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				c := storetest.SampleCheck(i)
				l.ids[i] = c.ID
				if err := fill.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	const pings = wideRetention + 2
	if !bulk {
		var stop atomic.Bool
		l.parallel(b, fill, n*pings, &stop, func(j int) int { return j % n })
	}
	if err := fill.Close(); err != nil {
		b.Fatal(err)
	}
	if bulk {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?)
			INSERT INTO pings(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
			SELECT c.id, k.n, 'success', -1, '', ?, 0, 'GET', 'http', '127.0.0.1', 'scaleload', x'', 0 FROM checks c, k`,
			pings, time.Now().UnixNano()); err != nil {
			b.Fatal(err)
		}
		for i := range l.ns {
			l.ns[i].Store(pings)
		}
	}
	return l
}

// ping writes check i's next ping (up, as scaleload's pings are).
func (l *wide) ping(ctx context.Context, st store.Store, i int) error {
	k := l.ns[i].Add(1)
	now := time.Now()
	s := model.NewState(l.ids[i], now)
	s.Status, s.Underlying, s.LastPing, s.NPings = model.StatusUp, model.StatusUp, now, k
	s.Due, s.Deadline = now.Add(time.Hour), now.Add(time.Hour+time.Minute)
	p := model.Ping{CheckID: l.ids[i], N: k, Kind: model.PingSuccess, ExitStatus: -1, Time: now,
		Method: "GET", Scheme: "http", RemoteAddr: "127.0.0.1", UserAgent: "scaleload"}
	return st.Apply(ctx, store.Update{CheckID: l.ids[i], State: s, Ping: &p})
}

// parallel writes count pings from 64 goroutines, the j-th to check
// each(j), or fewer if stop is set meanwhile; it returns how many.
func (l *wide) parallel(b *testing.B, st store.Store, count int, stop *atomic.Bool, each func(int) int) int64 {
	var wg sync.WaitGroup
	var next, done atomic.Int64
	for range 64 {
		wg.Go(func() {
			for j := int(next.Add(1)) - 1; j < count && !stop.Load(); j = int(next.Add(1)) - 1 {
				if err := l.ping(context.Background(), st, each(j)); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load()
}

// BenchmarkApplyWide measures durable ping writes spread over many checks
// (-wide-checks, default 20,000) whose pings already pass the retention
// (10), so that compaction prunes as it moves the log: the store's share
// of issue 14's workload, where a database larger than SQLite's page
// cache makes every compacted row a random page.
func BenchmarkApplyWide(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w.db")
	n := *wideChecks
	l := newWide(b, path, n, false)
	st, err := sqlite.Open(path, sqlite.Options{PingRetention: wideRetention})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var seq atomic.Uint64
	var stop atomic.Bool
	b.ResetTimer()
	t0 := time.Now()
	l.parallel(b, st, b.N, &stop, func(int) int { return int(seq.Add(0x9E3779B9) % uint64(n)) })
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "pings/s")
}
