package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// TestListChecksManyBatches: ListChecks decodes its rows in batches on
// several goroutines into one result; with more checks than a few
// batches, some of them retired and some with a newer state in the ping
// log, it answers every live check once, in id order, each with its
// newest state.
func TestListChecksManyBatches(t *testing.T) {
	ctx := context.Background()
	// The log is left alone: no compaction during the test.
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{CompactInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 1300 // two full batches of 512 and a part
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := map[model.CheckID]model.State{}
	var retired []model.CheckID
	for i := range n {
		c := model.Check{ID: model.NewCheckID(), Name: "c" + string(rune('a'+i%26)), Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
		st := model.NewState(c.ID, now)
		if err := s.CreateCheck(ctx, c, st); err != nil {
			t.Fatal(err)
		}
		switch {
		case i%97 == 0:
			retired = append(retired, c.ID)
		case i%5 == 0: // a newer state, in the log
			st.Status, st.Since = model.StatusDown, now.Add(time.Duration(i)*time.Second)
			if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st}); err != nil {
				t.Fatal(err)
			}
			want[c.ID] = st
		default:
			want[c.ID] = st
		}
	}
	for _, id := range retired {
		if err := s.RetireCheck(ctx, id, now); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("%d checks, want %d", len(all), len(want))
	}
	for i, cs := range all {
		if i > 0 && strings.Compare(string(all[i-1].Check.ID[:]), string(cs.Check.ID[:])) >= 0 {
			t.Fatalf("check %d out of id order", i)
		}
		w, ok := want[cs.Check.ID]
		if !ok {
			t.Fatalf("check %s listed, retired or unknown", cs.Check.ID)
		}
		if cs.State.CheckID != cs.Check.ID || cs.State.Status != w.Status || !cs.State.Since.Equal(w.Since) {
			t.Fatalf("check %s: state %+v, want %+v", cs.Check.ID, cs.State, w)
		}
	}
}

// TestListChecksEmptyAndBadRow: an empty store lists nil; a stored
// definition that does not decode is ListChecks' error, whichever batch
// it is in.
func TestListChecksEmptyAndBadRow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all, err := s.ListChecks(ctx); err != nil || all != nil {
		t.Fatalf("empty store: %v, %v; want nil, nil", all, err)
	}
	var last model.CheckID
	for range 700 {
		c := model.Check{ID: model.NewCheckID(), Name: "c", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
			t.Fatal(err)
		}
		last = c.ID
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE checks SET def = '{"id": 7}' WHERE id = ?`, last.Secret()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err = sqlite.Open(path, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ListChecks(ctx); err == nil || !strings.HasPrefix(err.Error(), "decode check: ") {
		t.Fatalf("ListChecks with a bad row: %v, want a decode error", err)
	}
}
