package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
	"github.com/vitals-go/vitals/internal/watchdog/watchdogtest"
)

// scaleAPI is the API over a real engine on SQLite with n push checks:
// named job-000000…, tagged "prod" and one of 100 "team-NN", one in 50
// pinged with a failure (down), one in 3 pinged with a success (up), the
// rest new (watchdogtest.SQLite: the store writes without fsync, and no
// read measured here touches it).
func scaleAPI(b *testing.B, n int) (*api.Handler, *watchdog.Engine) {
	b.Helper()
	e, st := watchdogtest.SQLite(b, n, func(i int) model.Check {
		return model.Check{Name: fmt.Sprintf("job-%06d", i), Kind: model.KindPush,
			Tags: []string{"prod", fmt.Sprintf("team-%02d", i%100)}, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
	}, func(i int) []model.PingKind {
		switch {
		case i%50 == 7:
			return []model.PingKind{model.PingFail}
		case i%3 == 0:
			return []model.PingKind{model.PingSuccess}
		}
		return nil
	})
	return api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: rwKey}, {Secret: roKey, ReadOnly: true}}}), e
}

// BenchmarkScale is the API's reads among 10,000 and 100,000 checks on
// SQLite (the 10,000 figures are the same run's baseline):
//
//	go test -run '^$' -bench Scale -benchtime 2s ./internal/api/
//
// page: the first page of 100 (?limit=100); deep: the page after the
// 90,000th (or 9,000th) check, by cursor; tag-status: down checks of one
// team; name: a name substring that matches 10 (or 1) checks, scanning
// every name; counts: GET /counts; after-create: a page right after a
// create, which rebuilds the list index.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h, e := scaleAPI(b, n)
		serve(b, h, roKey, "/api/v3/checks/?limit=1") // builds the index
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		deep := deepCursor(b, h, n*9/10)
		run := func(name, target string) {
			b.Run(fmt.Sprintf("checks=%d/%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					serve(b, h, roKey, target)
				}
				b.ReportMetric(heap, "heap-B/check")
			})
		}
		run("page", "/api/v3/checks/?limit=100")
		run("deep", "/api/v3/checks/?limit=100&cursor="+deep)
		run("tag-status", "/api/v3/checks/?tag=team-07&status=down&limit=100")
		run("name", "/api/v3/checks/?name=00042&limit=100")
		run("counts", "/api/v3/counts")
		b.Run(fmt.Sprintf("checks=%d/after-create", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				b.StopTimer() // the create's store write is not what is measured
				if _, err := e.Create(context.Background(), model.Check{Name: fmt.Sprintf("new-%d", i), Kind: model.KindPush}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				serve(b, h, roKey, "/api/v3/checks/?limit=100")
			}
		})
	}
}

// deepCursor returns the next_cursor after the first skip checks.
func deepCursor(b *testing.B, h *api.Handler, skip int) string {
	b.Helper()
	cursor := ""
	for skip > 0 {
		page := min(skip, api.MaxLimit)
		req := httptest.NewRequest("GET", fmt.Sprintf("/api/v3/checks/?limit=%d&cursor=%s", page, cursor), nil)
		req.Header.Set("X-Api-Key", roKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct {
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.NextCursor == "" {
			b.Fatalf("page: %d %v %.200s", rec.Code, err, rec.Body)
		}
		cursor = body.NextCursor
		skip -= page
	}
	return cursor
}
