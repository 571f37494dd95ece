package statuspage_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
)

// benchChecks is the size SPEC §5 asks one watchdog to carry.
const benchChecks = 10_000

// BenchmarkStatusPage10k renders the overview of 10,000 checks, each with 90
// days of rollups in a real SQLite store, and a full 30-point sparkline:
//
//   - json-baseline: the same data (checks, states, 90 rollups each),
//     already in memory, encoded with encoding/json: the floor a page
//     of this data cannot beat by much.
//   - cold: a new page (empty caches) renders once: the first request after
//     the daemon started, with the store read for every check's rollups.
//   - warm: 1 % of the checks changed since the last render (re-rendered
//     fragments), the rest comes from the cache.
//   - warm-20-flips: warm, and 20 of the changed checks flipped (their
//     rollups and the recent flips are read from the store again).
//   - warm-http-gzip: warm, through ServeHTTP with Accept-Encoding: gzip,
//     as a browser gets it.
//
// Page sizes are reported as B/page (raw HTML) and gzB/page.
func BenchmarkStatusPage10k(b *testing.B) {
	now := time.Now()
	var seeded []model.Check
	f := newSeededFixture(b, statuspage.Options{Public: true}, true,
		func(st store.Store) { seeded = seedChecks(b, st, benchChecks, now) })
	ctx := context.Background()
	cs := f.eng.List()
	if len(cs) != benchChecks {
		b.Fatalf("%d checks", len(cs))
	}
	fillSparklines(f.page, cs, now)

	b.Run("json-baseline", func(b *testing.B) {
		from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(statuspage.Days - 1))
		type checkData struct {
			model.CheckState
			Uptime []model.UptimeDay
		}
		data := make([]checkData, len(cs))
		for i := range cs {
			u, err := f.st.Uptime(ctx, cs[i].Check.ID, from, now)
			if err != nil {
				b.Fatal(err)
			}
			data[i] = checkData{cs[i], u}
		}
		var n int
		for b.Loop() {
			out, err := json.Marshal(data)
			if err != nil {
				b.Fatal(err)
			}
			n = len(out)
		}
		b.ReportMetric(float64(n), "B/page")
	})
	b.Run("cold", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			p := statuspage.New(statuspage.Options{Engine: f.eng, Store: f.st, Public: true})
			buf.Reset()
			if err := p.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
			p.Close()
		}
		b.ReportMetric(float64(buf.Len()), "B/page")
	})
	b.Run("memory", func(b *testing.B) {
		// What a page holds for 10,000 checks: rows, rollups, sparklines.
		var ms runtime.MemStats
		var held uint64
		for b.Loop() {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			p := statuspage.New(statuspage.Options{Engine: f.eng, Store: f.st})
			fillSparklines(p, cs, now)
			var buf bytes.Buffer
			if err := p.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
			buf = bytes.Buffer{}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			held = ms.HeapAlloc - before
			runtime.KeepAlive(p)
			p.Close()
		}
		b.ReportMetric(float64(held)/benchChecks, "heapB/check")
	})
	b.Run("warm", func(b *testing.B) {
		var buf bytes.Buffer
		if err := f.page.Render(ctx, &buf, true); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			touch(f.page, cs, &i, benchChecks/100)
			buf.Reset()
			if err := f.page.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "B/page")
		b.ReportMetric(float64(gzipLen(b, buf.Bytes())), "gzB/page")
	})
	b.Run("warm-20-flips", func(b *testing.B) {
		// 1 % changed, 20 of them flipped: their rollups are read again
		// (one query each) and the recent flips once.
		var buf bytes.Buffer
		if err := f.page.Render(ctx, &buf, true); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			touch(f.page, cs, &i, benchChecks/100)
			for k := range 20 {
				c := &cs[(i+k*97)%len(cs)]
				f.page.OnFlip(model.Transition{Check: c.Check, State: c.State})
			}
			buf.Reset()
			if err := f.page.Render(ctx, &buf, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm-http-gzip", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		req.Header.Set("X-Api-Key", testKey)
		var buf bytes.Buffer
		if err := f.page.Render(ctx, &buf, true); err != nil { // warm the caches
			b.Fatal(err)
		}
		i := 0
		var n int
		for b.Loop() {
			touch(f.page, cs, &i, benchChecks/100)
			rec := httptest.NewRecorder()
			f.page.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
				b.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Encoding"))
			}
			n = rec.Body.Len()
		}
		b.ReportMetric(float64(n), "gzB/page")
	})
	_ = seeded
}

// fillSparklines gives every check 30 results, as after 30 probe rounds.
func fillSparklines(p *statuspage.Page, cs []model.CheckState, now time.Time) {
	for i := range cs {
		s := cs[i].State
		for k := range 30 {
			s.LastPing = now.Add(time.Duration(k-30) * time.Minute)
			ms := 60 + (i*37)%300 + ((i*131+k*71)^(k*k*13))%60 // a base and some noise
			if (k+i)%11 == 0 {
				ms += 150 // a slow run now and then
			}
			s.LastDuration = time.Duration(ms) * time.Millisecond
			p.OnState(cs[i].Check, s)
		}
	}
}

// touch gives n checks (round robin from *i) a new result.
func touch(p *statuspage.Page, cs []model.CheckState, i *int, n int) {
	for range n {
		c := &cs[*i%len(cs)]
		c.State.LastPing = c.State.LastPing.Add(time.Minute)
		c.State.LastDuration += time.Millisecond
		p.OnState(c.Check, c.State)
		*i++
	}
}

func gzipLen(tb testing.TB, b []byte) int {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return out.Len()
}
