package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// TestInstallationSecretInOldFile: a database made before the
// installation table existed (schema version 1 without it) opens, gets the
// table, and its secret then survives a reopen.
func TestInstallationSecretInOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Make it an old file: drop the table, keep the version.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE installation`); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != 1 {
		t.Fatalf("user_version %d, %v: the table must be added without a version bump", v, err)
	}
	db.Close()

	ctx := context.Background()
	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.InstallationSecret(ctx)
	if err != nil || len(first) != store.InstallationSecretLen {
		t.Fatalf("secret of an old file: %d bytes, %v", len(first), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again, err := s.InstallationSecret(ctx); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("after reopen: %v, %v", again, err)
	}
	if _, err := s.InstallationSecret(canceled()); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("canceled ctx: %v", err)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
