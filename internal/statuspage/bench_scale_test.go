package statuspage_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
	"github.com/vitals-go/vitals/internal/store"
)

// BenchmarkStatusPageScale measures what one browser's requests cost the
// server at 10,000 and 100,000 checks (SQLite store; 89 days of rollups at
// 10k, 14 at 100k to keep the seeding short: the rollups are read once,
// not per request), every check with a full sparkline, 1 % of them down,
// 1 % late, tagged by 40 teams; before each request 1 % of the checks
// report a new result (the listeners' marks the next request syncs):
//
//   - first-screen: GET / as a browser gets it (authorised, gzip): the
//     summary, the checks needing attention, the groups and the first
//     page of the list.
//   - first-screen-public: the same, anonymous (no groups).
//   - rows: GET checks.json, 100 rows at an offset that moves through the
//     list (what scrolling asks for).
//   - search: checks.json filtered by a name substring.
//   - status-filter: GET /?status=down (the first page of the down checks).
//
// gzB/op is the body as sent.
func BenchmarkStatusPageScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			days := statuspage.Days - 1
			if n > 10_000 {
				days = 14
			}
			now := time.Now()
			f := statuspagetest.NewSeeded(b, statuspage.Options{Public: true}, true, func(st store.Store) {
				statuspagetest.Seed(b, st, statuspagetest.SeedOptions{N: n, Days: days, DownEvery: 100, LateEvery: 101, Teams: 40}, now)
			})
			cs := f.Engine.List()
			if len(cs) != n {
				b.Fatalf("%d checks", len(cs))
			}
			statuspagetest.FillSparklines(f.Page, cs, now)
			get := func(b *testing.B, path string, auth bool) int {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Accept-Encoding", "gzip, deflate, br")
				if auth {
					req.Header.Set("X-Api-Key", statuspagetest.APIKey)
				}
				rec := httptest.NewRecorder()
				f.Page.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
				}
				return rec.Body.Len()
			}
			get(b, "/", true)
			// The background scan of every rollup, after a start.
			for i := 0; !f.Page.Warmed(); i++ {
				if i == 12_000 {
					b.Fatal("the page did not warm up in 2 minutes")
				}
				time.Sleep(10 * time.Millisecond)
			}
			run := func(name string, path func(i int) string, auth bool) {
				b.Run(name, func(b *testing.B) {
					i, k, size := 0, 0, 0
					for b.Loop() {
						touch(f.Page, cs, &i, n/100)
						size = get(b, path(k), auth)
						k++
					}
					b.ReportMetric(float64(size), "gzB/op")
				})
			}
			run("first-screen", func(int) string { return "/" }, true)
			run("first-screen-public", func(int) string { return "/" }, false)
			run("rows", func(k int) string {
				return "/checks.json?limit=100&offset=" + strconv.Itoa((k*7919*100)%n)
			}, true)
			run("search", func(k int) string { return "/checks.json?limit=100&q=billing+worker+" + strconv.Itoa(k%10) }, true)
			run("status-filter", func(int) string { return "/?status=down" }, true)
		})
	}
}
