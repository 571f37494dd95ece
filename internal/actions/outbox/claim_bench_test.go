package outbox

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// BenchmarkClaimDelivery: 5,000 outbox rows delivered to a loopback
// webhook receiver that answers at once, by 1 dispatcher reading the
// SQLite outbox (one process, no claims), and by 1 and 3 dispatchers
// claiming rows from one PostgreSQL database (each on its own pool, as
// replicas are). Reported: rows delivered per second, claim statements
// (outbox reads) per second, and the rows the receiver got more than once
// (0 expected).
//
//	go test -run '^$' -bench ClaimDelivery -benchtime 1x ./internal/actions/outbox/
func BenchmarkClaimDelivery(b *testing.B) {
	const n = 5000
	for _, tc := range []struct {
		store       string
		dispatchers int
	}{{"sqlite", 1}, {"postgres", 1}, {"postgres", 3}} {
		b.Run(fmt.Sprintf("%s/dispatchers=%d", tc.store, tc.dispatchers), func(b *testing.B) {
			for range b.N {
				rcv := newHookReceiver(b)
				var stores []store.Store
				if tc.store == "sqlite" {
					st, err := sqlite.Open(filepath.Join(b.TempDir(), "o.db"), sqlite.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { st.Close() })
					stores = append(stores, st)
				} else {
					dsn := pgtest.Schema(b)
					for range tc.dispatchers {
						stores = append(stores, openReplica(b, dsn))
					}
				}
				keys := enqueue(b, stores[0], n, time.Now())
				b.ResetTimer()
				t0 := time.Now()
				var ds []*Dispatcher
				for i, st := range stores {
					ds = append(ds, claimDispatcher(b, st, rcv, "replica-"+strconv.Itoa(i), DispatcherOptions{}))
				}
				for _, d := range ds {
					d.Wake()
				}
				for range 6000 { // at most 60s
					if got, _ := rcv.snapshot(); len(got) == n {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				elapsed := time.Since(t0)
				b.StopTimer()
				got, _ := rcv.snapshot()
				dups := 0
				for _, k := range keys {
					dups += max(len(got[k])-1, 0)
				}
				if len(got) != n {
					b.Fatalf("%d of %d delivered", len(got), n)
				}
				var scans int64
				for _, d := range ds {
					d.Stop()
					scans += d.Stats().Scans
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(scans)/elapsed.Seconds(), "reads/s")
				b.ReportMetric(float64(dups), "duplicates")
			}
		})
	}
}
