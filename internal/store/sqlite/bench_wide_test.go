package sqlite_test

import (
	"context"
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

var wideChecks = flag.Int("wide-checks", 20000, "checks of BenchmarkApplyWide")

// BenchmarkApplyWide measures durable ping writes spread over many checks
// (-wide-checks, default 20,000) whose pings already pass the retention
// (10), so that compaction prunes as it moves the log: the store's share
// of issue 14's workload, where a database larger than SQLite's page
// cache makes every compacted row a random page.
func BenchmarkApplyWide(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "w.db")
	const retention = 10
	n := *wideChecks
	ids := make([]model.CheckID, n)
	ns := make([]atomic.Int64, n)
	fill, err := sqlite.Open(path, sqlite.Options{Synchronous: "OFF", PingRetention: retention})
	if err != nil {
		b.Fatal(err)
	}
	apply := func(st store.Store, i int) error {
		k := ns[i].Add(1)
		now := time.Now()
		s := model.NewState(ids[i], now)
		s.Status, s.Underlying, s.LastPing, s.NPings = model.StatusUp, model.StatusUp, now, k
		s.Due, s.Deadline = now.Add(time.Hour), now.Add(time.Hour+time.Minute)
		p := model.Ping{CheckID: ids[i], N: k, Kind: model.PingSuccess, ExitStatus: -1, Time: now,
			Method: "GET", Scheme: "http", RemoteAddr: "127.0.0.1", UserAgent: "scaleload"}
		return st.Apply(ctx, store.Update{CheckID: ids[i], State: s, Ping: &p})
	}
	parallel := func(st store.Store, count int, each func(int) int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 64 {
			wg.Go(func() {
				for j := int(next.Add(1)) - 1; j < count; j = int(next.Add(1)) - 1 {
					if err := apply(st, each(j)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for i := range ids {
		c := storetest.SampleCheck(i)
		ids[i] = c.ID
		if err := fill.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
			b.Fatal(err)
		}
	}
	parallel(fill, n*(retention+2), func(j int) int { return j % n })
	if err := fill.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(path, sqlite.Options{PingRetention: retention})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var seq atomic.Uint64
	b.ResetTimer()
	t0 := time.Now()
	parallel(st, b.N, func(int) int { return int(seq.Add(0x9E3779B9) % uint64(n)) })
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "pings/s")
}
