package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// benchAPI is the handler over a real engine with n checks.
func benchAPI(b *testing.B, n int) (*api.Handler, *watchdog.Engine) {
	b.Helper()
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(); st.Close() })
	for i := range n {
		if _, err := e.Create(context.Background(), model.Check{Name: fmt.Sprintf("job-%05d", i), Kind: model.KindPush,
			Tags: []string{"prod"}, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute},
			Routes: model.RouteAll([]string{"mail"})}); err != nil {
			b.Fatal(err)
		}
	}
	chans := []model.Channel{{ID: uuid.New(), Name: "mail", Kind: "email"}, {ID: uuid.New(), Name: "hook", Kind: "webhook"}}
	return api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: rwKey}, {Secret: roKey, ReadOnly: true}},
		Channels: func() []model.Channel { return chans }}), e
}

func serve(b *testing.B, h *api.Handler, key, target string) {
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set("X-Api-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
	}
}

// BenchmarkListPage10k is GET /api/v3/checks/?limit=100 (the opt-in
// page) among 10,000 checks: the engine's list, filtering, ordering and
// encoding one page.
func BenchmarkListPage10k(b *testing.B) {
	h, _ := benchAPI(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, roKey, "/api/v3/checks/?tag=prod&limit=100")
	}
}

// BenchmarkListAll10k is GET /api/v3/checks/ among 10,000 checks, as
// healthchecks.io's clients ask: every check, read-write view (URLs and
// channels).
func BenchmarkListAll10k(b *testing.B) {
	h, _ := benchAPI(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, rwKey, "/api/v3/checks/")
	}
}

// BenchmarkListAll100 is GET /api/v3/checks/ among 100 checks: the
// baseline of BenchmarkListAll10k (a hundredth of the work).
func BenchmarkListAll100(b *testing.B) {
	h, _ := benchAPI(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, rwKey, "/api/v3/checks/")
	}
}

func post(b *testing.B, h *api.Handler, target, body string, want int) {
	req := httptest.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("X-Api-Key", rwKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", target, body, rec.Code, rec.Body)
	}
}

// BenchmarkCreate10k is POST /api/v3/checks/ among 10,000 checks (and
// more, one per iteration), with channels.
func BenchmarkCreate10k(b *testing.B) {
	h, _ := benchAPI(b, 10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		post(b, h, "/api/v3/checks/", fmt.Sprintf(`{"name":"new-%d","tags":"prod new","timeout":3600,"grace":60,"channels":"*"}`, i), 201)
	}
}

// BenchmarkCreateUnique10k is the same create with "unique": ["name"],
// which looks every check over first (healthchecks.io's upsert).
func BenchmarkCreateUnique10k(b *testing.B) {
	h, _ := benchAPI(b, 10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		post(b, h, "/api/v3/checks/", fmt.Sprintf(`{"name":"new-%d","timeout":3600,"grace":60,"unique":["name"]}`, i), 201)
	}
}

// BenchmarkEngineCreate10k is Engine.Create alone among 10,000 checks: the
// baseline of the creates.
func BenchmarkEngineCreate10k(b *testing.B) {
	_, e := benchAPI(b, 10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := e.Create(context.Background(), model.Check{Name: fmt.Sprintf("new-%d", i), Kind: model.KindPush,
			Tags: []string{"prod", "new"}, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetByUniqueKey10k is GET /api/v3/checks/{unique_key} among
// 10,000 checks (a read-only key's way to address a check).
func BenchmarkGetByUniqueKey10k(b *testing.B) {
	h, e := benchAPI(b, 10_000)
	target := "/api/v3/checks/" + e.List()[5000].Check.ID.UniqueKey()
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, roKey, target)
	}
}

// BenchmarkGetByUUID10k is GET /api/v3/checks/{uuid}: the baseline for
// the unique-key lookup.
func BenchmarkGetByUUID10k(b *testing.B) {
	h, e := benchAPI(b, 10_000)
	target := "/api/v3/checks/" + e.List()[5000].Check.ID.Secret()
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, rwKey, target)
	}
}

// BenchmarkEngineList10k is the engine read alone: the baseline of
// BenchmarkListPage10k.
func BenchmarkEngineList10k(b *testing.B) {
	_, e := benchAPI(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		if len(e.List()) != 10_000 {
			b.Fatal("short list")
		}
	}
}
