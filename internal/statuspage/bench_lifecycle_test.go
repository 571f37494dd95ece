package statuspage_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
	"github.com/vitals-go/vitals/internal/store"
)

// BenchmarkStatusPageLifecycle measures, at 100,000 checks on the
// in-memory store (a day of rollups each), what the page costs apart from
// its visitors' requests:
//
//   - start: a new page does the background work that follows a start
//     (the scan of every rollup, the sparklines seeded from stored pings),
//     renders its first screen and does the work that render asked for.
//     pings/op counts the store's Pings queries.
//   - create-delete: a check is created, the first screen rendered, the
//     check deleted and the first screen rendered again: the two syncs
//     that follow a create and a delete.
func BenchmarkStatusPageLifecycle(b *testing.B) {
	const n = 100_000
	now := time.Now()
	f := statuspagetest.NewSeeded(b, statuspage.Options{Public: true}, false, func(st store.Store) {
		statuspagetest.Seed(b, st, statuspagetest.SeedOptions{N: n, Days: 1, DownEvery: 100, LateEvery: 101, Teams: 40}, now)
	})
	ctx := context.Background()
	var buf bytes.Buffer
	b.Run("start", func(b *testing.B) {
		cnt := &pingCounter{History: f.Store}
		b.ReportAllocs()
		for b.Loop() {
			p := statuspage.New(statuspage.Options{Engine: f.Engine, Store: cnt, ScanInterval: time.Hour})
			statuspage.Settle(p)
			buf.Reset()
			if err := p.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
			statuspage.Settle(p)
			p.Close()
		}
		b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "pings/op")
	})
	b.Run("create-delete", func(b *testing.B) {
		buf.Reset()
		if err := f.Page.Render(ctx, &buf, true); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c, err := f.Engine.Create(ctx, model.Check{Name: "bench new " + strconv.Itoa(i), Kind: model.KindPush,
				Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			i++
			buf.Reset()
			if err := f.Page.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
			if err := f.Engine.Delete(ctx, c.ID); err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if err := f.Page.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}
