package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// testSilences: silences are kept whole, listed by start among those not
// ended, refused twice, deleted (returning what was deleted) and pruned
// once ended; a persistent store keeps them across a reopen. Stores
// without store.SilenceStore skip it.
func testSilences(t *testing.T, cfg Config) {
	s, reopen, ss, c := openCapable[store.SilenceStore](t, cfg, "SilenceStore")
	ctx := context.Background()
	mk := func(name string, start, end time.Time) model.Silence {
		return model.Silence{ID: uuid.Must(uuid.NewV7()), Name: name, Start: start, End: end, Created: base.Add(-3 * time.Hour)}
	}
	s1 := mk("deploy", base, base.Add(time.Hour))
	s1.Checks, s1.Tags, s1.Reason, s1.CreatedBy = []model.CheckID{c.ID}, []string{"db", "eu"}, "pg 17 \u00e9\x00", "ops key"
	s2 := mk("", base.Add(-time.Hour), base.Add(2*time.Hour))
	s3 := mk("ended", base.Add(-2*time.Hour), base.Add(-time.Hour))
	for _, sl := range []model.Silence{s1, s2, s3} {
		if err := ss.AddSilence(ctx, sl); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.AddSilence(ctx, s1); !errors.Is(err, store.ErrExists) {
		t.Fatalf("the same id again: %v, want ErrExists", err)
	}
	list := func(after time.Time) []model.Silence {
		t.Helper()
		l, err := ss.Silences(ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	equal(t, "silences not ended at base", list(base), []model.Silence{s2, s1})
	equal(t, "every silence", list(time.Time{}), []model.Silence{s3, s2, s1})
	equal(t, "ending exactly at after is out", list(base.Add(time.Hour)), []model.Silence{s2})
	if n, err := ss.PruneSilences(ctx, base.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want the one ended", n, err)
	}
	equal(t, "after pruning", list(time.Time{}), []model.Silence{s2, s1})
	got, err := ss.DeleteSilence(ctx, s2.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "deleted", got, s2)
	if _, err := ss.DeleteSilence(ctx, s2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if !cfg.Persistent {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := reopen().(store.SilenceStore).Silences(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "after reopen", l, []model.Silence{s1})
}
