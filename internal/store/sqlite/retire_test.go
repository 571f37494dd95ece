package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// TestRetiredTableAddedToAnOldFile: a file made before retired_checks
// existed (same schema version) gains the table when opened, keeps its
// checks, and can retire one.
func TestRetiredTableAddedToAnOldFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE retired_checks`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open a file without retired_checks: %v", err)
	}
	defer s.Close()
	if all, err := s.ListChecks(ctx); err != nil || len(all) != 1 {
		t.Fatalf("checks of the old file: %d, %v", len(all), err)
	}
	if err := s.RetireCheck(ctx, c.ID, time.Now()); err != nil {
		t.Fatalf("retire in an old file: %v", err)
	}
}
