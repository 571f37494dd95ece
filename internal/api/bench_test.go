package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

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
			Tags: []string{"prod"}, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}); err != nil {
			b.Fatal(err)
		}
	}
	return api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: rwKey}, {Secret: roKey, ReadOnly: true}}}), e
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

// BenchmarkListPage10k is GET /api/v1/checks (a page of 100) among 10,000
// checks: the engine's list, filtering, ordering and encoding one page.
func BenchmarkListPage10k(b *testing.B) {
	h, _ := benchAPI(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, roKey, "/api/v1/checks?tag=prod")
	}
}

// BenchmarkGetByUniqueKey10k is GET /api/v1/checks/{unique_key} among
// 10,000 checks (a read-only key's way to address a check).
func BenchmarkGetByUniqueKey10k(b *testing.B) {
	h, e := benchAPI(b, 10_000)
	target := "/api/v1/checks/" + uniqueKeyOf(e.List()[5000].Check.ID.Secret())
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, roKey, target)
	}
}

// BenchmarkGetByUUID10k is GET /api/v1/checks/{uuid}: the baseline for
// the unique-key lookup.
func BenchmarkGetByUUID10k(b *testing.B) {
	h, e := benchAPI(b, 10_000)
	target := "/api/v1/checks/" + e.List()[5000].Check.ID.Secret()
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
