package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// versions returns the versions recorded in the file's schema_migrations,
// comma-separated, and checks that PRAGMA user_version is the newest.
func versions(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version, applied_at, description FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	last := 0
	for rows.Next() {
		var v int
		var at, desc string
		if err := rows.Scan(&v, &at, &desc); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil || desc == "" {
			t.Fatalf("version %d: applied_at %q, description %q", v, at, desc)
		}
		out, last = append(out, fmt.Sprint(v)), v
	}
	var uv int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil || uv != last {
		t.Fatalf("user_version %d (%v), want %d", uv, err, last)
	}
	return strings.Join(out, ",")
}

// upTo returns "1,2,…,n", the versions of n steps as versions shows them.
func upTo(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprint(i + 1)
	}
	return strings.Join(v, ",")
}

// withStep2 is the binary's steps and a later one: the next vitals.
func withStep2(fail bool) []store.Migration[*sql.Tx] {
	return append(append([]store.Migration[*sql.Tx]{}, sqlite.Migrations...), store.Migration[*sql.Tx]{
		Version: len(sqlite.Migrations) + 1, Description: "a table of the next vitals",
		Up: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE next_feature (id INTEGER PRIMARY KEY)`); err != nil {
				return err
			}
			if fail {
				return errors.New("step failed halfway")
			}
			return nil
		}})
}

func openClose(t *testing.T, path string, steps []store.Migration[*sql.Tx]) error {
	t.Helper()
	s, err := sqlite.OpenWithMigrations(path, sqlite.Options{}, steps)
	if err != nil {
		return err
	}
	return s.Close()
}

// A new file gets every step; reopening applies nothing again.
func TestMigrateFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	for range 2 {
		if err := openClose(t, path, sqlite.Migrations); err != nil {
			t.Fatal(err)
		}
		if got := versions(t, path); got != upTo(len(sqlite.Migrations)) {
			t.Fatalf("versions %q", got)
		}
	}
}

// A file at each older version is brought to the newest, keeping its data;
// a step that fails leaves the file at the version before it, whole.
func TestMigrateUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	s.Close()

	if err := openClose(t, path, withStep2(true)); err == nil || !strings.Contains(err.Error(), "step failed halfway") ||
		!strings.Contains(err.Error(), fmt.Sprintf("schema version %d", len(sqlite.Migrations)+1)) {
		t.Fatalf("failing step: %v", err)
	}
	if got := versions(t, path); got != upTo(len(sqlite.Migrations)) {
		t.Fatalf("after a failed step: versions %q, want %s", got, upTo(len(sqlite.Migrations)))
	}
	if err := openClose(t, path, withStep2(false)); err != nil {
		t.Fatalf("the step, fixed: %v", err)
	}
	if got := versions(t, path); got != upTo(len(sqlite.Migrations)+1) {
		t.Fatalf("versions %q, want %s", got, upTo(len(sqlite.Migrations)+1))
	}
	s, err = sqlite.OpenWithMigrations(path, sqlite.Options{}, withStep2(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.GetCheck(ctx, c.ID); err != nil {
		t.Fatalf("the check after the upgrade: %v", err)
	}
}

// A file a newer vitals migrated is refused, named by both versions, and
// left as it was; so is a file of the unversioned scheme whose
// user_version only a newer binary could have written.
func TestMigrateRefusesNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	if err := openClose(t, path, withStep2(false)); err != nil {
		t.Fatal(err)
	}
	err := openClose(t, path, sqlite.Migrations)
	var tooNew *store.SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Have != len(sqlite.Migrations)+1 || tooNew.Know != len(sqlite.Migrations) ||
		!strings.Contains(err.Error(), fmt.Sprintf("the database is at schema version %d; this vitals knows up to %d: upgrade vitals", len(sqlite.Migrations)+1, len(sqlite.Migrations))) {
		t.Fatalf("newer file: %v", err)
	}
	if got := versions(t, path); got != upTo(len(sqlite.Migrations)+1) {
		t.Fatalf("the refused file changed: versions %q", got)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE checks (id TEXT PRIMARY KEY, def TEXT NOT NULL); PRAGMA user_version = 7`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := openClose(t, old, sqlite.Migrations); !errors.As(err, &tooNew) || tooNew.Have != 7 {
		t.Fatalf("user_version 7 without schema_migrations: %v", err)
	}
}

// Several stores opening one new file at once migrate it once.
func TestMigrateConcurrentOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = openClose(t, path, withStep2(false)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := versions(t, path); got != upTo(len(sqlite.Migrations)+1) {
		t.Fatalf("versions %q", got)
	}
}
