package policy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/actionstest"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/testenv"
)

func noStatus(model.CheckID) (string, model.Status, bool) { return "", "", false }

// A silence created through Silences holds a check's alerts until it ends
// and is kept in the store (new Silences over the same store, as after a
// restart, apply it to a new policy).
func TestSilenceHoldsAlertsAndPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		silenced, other := pushCheck(1), pushCheck(2)
		silenced.Routes = model.Routes{Down: []string{"ops"}}
		other.Routes = silenced.Routes
		eng, sup, rec, stop := policyWatchdog(t, 0)
		defer stop()
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		book, err := NewSilences(ctx, st, sup, SilencesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sl, err := book.Add(ctx, Silence{Name: "deploy", Checks: []model.CheckID{silenced.ID}, End: now.Add(30 * time.Minute), Reason: "rolling deploy"})
		if err != nil {
			t.Fatal(err)
		}
		if sl.ID == uuid.Nil || !sl.Start.Equal(now) {
			t.Fatalf("silence %+v", sl)
		}

		for _, c := range []model.Check{silenced, other} {
			eng.Create(ctx, c)
			eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
			eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := rec.Sent(); len(got) != 1 || got[0].CheckID != other.ID {
			t.Fatalf("during the silence sent %+v, want only the other check's alert", got)
		}

		// A restart: the same store, a fresh policy.
		sup2 := NewSuppression(noStatus, 0)
		book2, err := NewSilences(ctx, st, sup2, SilencesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if l, err := book2.List(ctx); err != nil || len(l) != 1 || l[0].ID != sl.ID || l[0].Reason != "rolling deploy" {
			t.Fatalf("after reopening: %+v %v", l, err)
		}
		if len(sup2.silences) != 1 {
			t.Fatalf("the new policy has %d silences, want 1", len(sup2.silences))
		}

		time.Sleep(30 * time.Minute) // the silence ends
		synctest.Wait()
		got := rec.Sent()
		if len(got) != 2 || got[1].CheckID != silenced.ID || got[1].State != model.StatusDown {
			t.Fatalf("after the silence sent %+v, want the held down alert", got)
		}
		if l, _ := book.List(ctx); len(l) != 0 {
			t.Errorf("expired silence still listed: %+v", l)
		}
		if err := book.Delete(ctx, sl.ID); !errors.Is(err, ErrSilenceNotFound) {
			t.Errorf("Delete of an expired silence = %v", err)
		}
		if err := book.Delete(ctx, uuid.New()); !errors.Is(err, ErrSilenceNotFound) {
			t.Errorf("Delete of an unknown silence = %v", err)
		}
	})
}

func TestSilenceValidation(t *testing.T) {
	sup := NewSuppression(noStatus, 0)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	book, err := NewSilences(ctx, memstore.New(memstore.Options{}), sup, SilencesOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    Silence
		want string
	}{
		{Silence{}, "end: required (or a duration)"},
		{Silence{Start: now.Add(time.Hour), End: now}, "end: must be after start"},
		{Silence{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}, "end: must be in the future"},
	} {
		if _, err := book.Add(ctx, tc.s); err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalidSilence) {
			t.Errorf("Add(%+v) = %v, want %q", tc.s, err, tc.want)
		}
	}
	sl, err := book.Add(ctx, Silence{End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Delete(ctx, sl.ID); err != nil {
		t.Fatal(err)
	}
}

// silencesFile writes list as silences.json in a new directory.
func silencesFile(t *testing.T, dir string, list []Silence) string {
	t.Helper()
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "silences.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The silences.json of an earlier version is imported once: the silences
// not ended go into the store with their ids, the file is renamed (never
// deleted; a second file gets a name of its own), a log line says so, and
// importing again adds nothing twice. A corrupt file is an error naming it
// and stays.
func TestImportSilencesFile(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	c := model.NewCheckID()
	active := Silence{ID: uuid.New(), Name: "deploy", Checks: []model.CheckID{c}, Start: now.Add(-time.Hour), End: now.Add(time.Hour), Reason: "v2", Created: now.Add(-time.Hour)}
	later := Silence{ID: uuid.New(), Tags: []string{"db"}, Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
	ended := Silence{ID: uuid.New(), Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}
	path := silencesFile(t, dir, []Silence{active, ended, later})
	st := memstore.New(memstore.Options{})
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	n, err := ImportSilencesFile(ctx, path, st, now, log)
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v; want 2", n, err)
	}
	got, _ := st.Silences(ctx, now)
	if len(got) != 2 || got[0].ID != active.ID || got[0].Checks[0] != c || got[1].ID != later.ID {
		t.Fatalf("in the store: %+v", got)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("silences.json still there: %v", err)
	}
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Errorf("renamed file: %v", err)
	}
	if !strings.Contains(logs.String(), `"imported":2`) || !strings.Contains(logs.String(), "silences.json.imported") {
		t.Errorf("log: %s", logs.String())
	}
	if n, err := ImportSilencesFile(ctx, path, st, now, log); err != nil || n != 0 {
		t.Errorf("no file: %d, %v", n, err)
	}
	// The same file again (an older binary ran meanwhile): nothing twice,
	// and the first renamed file is kept.
	silencesFile(t, dir, []Silence{active})
	if n, err := ImportSilencesFile(ctx, path, st, now, log); err != nil || n != 0 {
		t.Errorf("again: %d, %v", n, err)
	}
	if _, err := os.Stat(path + ".imported.1"); err != nil {
		t.Errorf("second renamed file: %v", err)
	}
	if got, _ := st.Silences(ctx, now); len(got) != 2 {
		t.Errorf("after importing again: %+v", got)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportSilencesFile(ctx, path, st, now, log); err == nil || !strings.Contains(err.Error(), "silences.json") {
		t.Errorf("a corrupt file: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the corrupt file must stay: %v", err)
	}
}

// Two replicas on one PostgreSQL database: a silence added on one holds
// alerts on the other after its next refresh, and deleting it there
// releases them on the other (the policy's OnRelease fires).
func TestSilencesAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	var books []*Silences
	var sups []*Suppression
	for range 2 {
		st, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sup := NewSuppression(noStatus, 0)
		book, err := NewSilences(ctx, st, sup, SilencesOptions{Refresh: 20 * time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := book.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(book.Stop)
		books, sups = append(books, book), append(sups, sup)
	}
	var released atomic.Int32
	sups[1].OnRelease(func() { released.Add(1) })
	c := model.NewCheckID()
	sl, err := books[0].Add(ctx, Silence{Name: "deploy", Checks: []model.CheckID{c}, End: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	held := func() bool {
		sups[1].mu.RLock()
		defer sups[1].mu.RUnlock()
		until, by := sups[1].heldUntilLocked(c, nil, time.Now())
		return until.Equal(sl.End) && strings.Contains(by, sl.ID.String())
	}
	actionstest.WaitUntil(t, "the other replica holds the check's alerts", held)
	if err := books[0].Delete(ctx, sl.ID); err != nil {
		t.Fatal(err)
	}
	actionstest.WaitUntil(t, "the other replica releases them", func() bool { return !held() && released.Load() == 1 })
	if err := books[1].Delete(ctx, sl.ID); !errors.Is(err, ErrSilenceNotFound) {
		t.Errorf("deleting it on the other replica: %v", err)
	}
}
