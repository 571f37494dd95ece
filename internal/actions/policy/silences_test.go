package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/model"
)

// A silence created through Silences holds a check's alerts until it ends
// and survives a restart (a new Silences over the same file applies it to a
// new policy).
func TestSilenceHoldsAlertsAndPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		silenced, other := pushCheck(1), pushCheck(2)
		ops := outbox.Rules{Down: []string{"ops"}}
		eng, sup, rec, stop := policyWatchdog(t, map[model.CheckID]outbox.Rules{silenced.ID: ops, other.ID: ops}, 0)
		defer stop()
		path := filepath.Join(t.TempDir(), "silences.json")
		book, err := OpenSilences(path, sup, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sl, err := book.Add(Silence{Name: "deploy", Checks: []model.CheckID{silenced.ID}, End: now.Add(30 * time.Minute), Reason: "rolling deploy"})
		if err != nil {
			t.Fatal(err)
		}
		if sl.ID == uuid.Nil || !sl.Start.Equal(now) {
			t.Fatalf("silence %+v", sl)
		}

		ctx := context.Background()
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

		// A restart: the same file, a fresh policy.
		sup2 := NewSuppression(func(model.CheckID) (string, model.Status, bool) { return "", "", false }, 0)
		book2, err := OpenSilences(path, sup2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l := book2.List(); len(l) != 1 || l[0].ID != sl.ID || l[0].Reason != "rolling deploy" {
			t.Fatalf("after reopening: %+v", l)
		}

		time.Sleep(30 * time.Minute) // the silence ends
		synctest.Wait()
		got := rec.Sent()
		if len(got) != 2 || got[1].CheckID != silenced.ID || got[1].State != model.StatusDown {
			t.Fatalf("after the silence sent %+v, want the held down alert", got)
		}
		if l := book.List(); len(l) != 0 {
			t.Errorf("expired silence still listed: %+v", l)
		}
		if err := book.Delete(sl.ID); !errors.Is(err, ErrSilenceNotFound) {
			t.Errorf("Delete of an expired silence = %v", err)
		}
	})
}

func TestSilenceValidation(t *testing.T) {
	sup := NewSuppression(func(model.CheckID) (string, model.Status, bool) { return "", "", false }, 0)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	book, err := OpenSilences(filepath.Join(t.TempDir(), "s.json"), sup, func() time.Time { return now })
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
		if _, err := book.Add(tc.s); err == nil || err.Error() != tc.want {
			t.Errorf("Add(%+v) = %v, want %q", tc.s, err, tc.want)
		}
	}
	sl, err := book.Add(Silence{End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Delete(sl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSilences(filepath.Join(t.TempDir(), "missing", "s.json"), sup, nil); err != nil {
		t.Errorf("a missing file is an empty list: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	writeFile(t, bad, "{not json")
	if _, err := OpenSilences(bad, sup, nil); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a corrupt file: %v", err)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
