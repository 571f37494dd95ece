package sqlite_test

import (
	"context"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

var flipEvery = flag.Duration("flip-every", 5*time.Millisecond, "BenchmarkFlipLane: time between two flips")

// BenchmarkFlipLane measures issue 14's down-flip lag in the store alone:
// 64 goroutines saturate durable pings over -wide-checks checks (100,000
// for the issue) past their retention, so compaction runs as it does under
// scaleload, while one goroutine writes a flip (an Apply with Flips, as
// the watchdog writes a missed deadline) every -flip-every to one of 1,000
// checks the pings leave alone. b.N is the number of flips; it reports
// each flip's commit latency (p50, p99, max) and the pings written per
// second meanwhile. lane=off sends the flips through the FIFO queue (the
// code before the lane), lane=on through the priority lane.
func BenchmarkFlipLane(b *testing.B) {
	n := *wideChecks
	const reserved = 1000
	if n <= 2*reserved {
		b.Fatalf("-wide-checks %d: want more than %d", n, 2*reserved)
	}
	// One filled store, copied for each run: both arms start from the
	// same file. (A benchmark with sub-benchmarks runs once.)
	template := filepath.Join(b.TempDir(), "t.db")
	l := newWide(b, template, n, true)
	for _, lane := range []bool{false, true} {
		name := "lane=off"
		if lane {
			name = "lane=on"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "w.db")
			copyFile(b, template, path)
			st, err := sqlite.Open(path, sqlite.Options{PingRetention: wideRetention})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			sqlite.SetLane(st, lane)
			var stop atomic.Bool
			var pings atomic.Int64
			var seq atomic.Uint64
			done := make(chan struct{})
			go func() {
				defer close(done)
				pings.Store(l.parallel(b, st, math.MaxInt, &stop, func(int) int {
					return int(seq.Add(0x9E3779B9) % uint64(n-reserved))
				}))
			}()
			time.Sleep(2 * time.Second) // the backlog builds up
			lat := make([]time.Duration, 0, b.N)
			tick := time.NewTicker(*flipEvery)
			defer tick.Stop()
			b.ResetTimer()
			t0 := time.Now()
			for i := range b.N {
				<-tick.C
				id := l.ids[n-1-i%reserved]
				now := time.Now()
				s := model.NewState(id, now)
				s.Status, s.Underlying, s.Since = model.StatusDown, model.StatusDown, now
				f := model.Flip{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: model.StatusUp, To: model.StatusDown, Time: now,
					Reason: "no ping within period + grace"}
				start := time.Now()
				if err := st.Apply(context.Background(), store.Update{CheckID: id, State: s, Flips: []model.Flip{f}}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			elapsed := time.Since(t0)
			b.StopTimer()
			stop.Store(true)
			<-done
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6 }
			b.ReportMetric(q(0.50), "flip-p50-ms")
			b.ReportMetric(q(0.99), "flip-p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1])/1e6, "flip-max-ms")
			// The pings of the 2 s before the flips are counted too.
			b.ReportMetric(float64(pings.Load())/(elapsed+2*time.Second).Seconds(), "pings/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func copyFile(b *testing.B, from, to string) {
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}
