package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// BenchmarkApply measures concurrent ping writes (state + ping row) over
// 1000 checks: the SQLite store durable (FULL), without fsync (OFF), and
// the in-memory store as the baseline.
func BenchmarkApply(b *testing.B) {
	for _, mode := range []string{"PIPELINED", "FULL", "OFF", "memory"} {
		b.Run(mode, func(b *testing.B) {
			var st store.Store
			if mode == "memory" {
				st = memstore.New(memstore.Options{})
			} else {
				s, err := sqlite.Open(filepath.Join(b.TempDir(), "b.db"), sqlite.Options{Synchronous: mode})
				if err != nil {
					b.Fatal(err)
				}
				st = s
			}
			defer st.Close()
			ctx := context.Background()
			const checks = 1000
			ids := make([]model.CheckID, checks)
			ns := make([]atomic.Int64, checks)
			for i := range ids {
				c := storetest.SampleCheck(i)
				ids[i] = c.ID
				if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1)) % checks
					n := ns[i].Add(1)
					s := model.NewState(ids[i], time.Now())
					s.Status, s.Underlying, s.LastPing, s.NPings = model.StatusUp, model.StatusUp, time.Now(), n
					s.Due, s.Deadline = time.Now().Add(time.Hour), time.Now().Add(time.Hour+time.Minute)
					p := model.Ping{CheckID: ids[i], N: n, Kind: model.PingSuccess, ExitStatus: -1, Time: time.Now(),
						Method: "POST", Scheme: "http", RemoteAddr: "127.0.0.1", UserAgent: "wrk", Body: []byte("backup done")}
					if err := st.Apply(ctx, store.Update{CheckID: ids[i], State: s, Ping: &p}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if s, ok := st.(*sqlite.Store); ok {
				stats := s.Stats()
				b.ReportMetric(float64(stats.Writes)/float64(max(stats.Batches, 1)), "writes/batch")
				b.ReportMetric(float64(stats.CommitTime.Microseconds())/float64(max(stats.Batches, 1)), "µs/batch")
			}
		})
	}
}
