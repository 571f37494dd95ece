package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// sqliteFile makes a store file with n checks.
func sqliteFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		c := model.Check{ID: model.NewCheckID(), Name: "a", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
		if err := s.CreateCheck(context.Background(), c, model.NewState(c.ID, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.InstallationSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretsOf returns the parts of dsn no output may show.
func secretsOf(t *testing.T, dsn string) []string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{dsn, "@" + cfg.Host}
	if cfg.Password != "" {
		// The test server's password is a common word ("vitals"): look
		// for it as a DSN holds it.
		out = append(out, cfg.User+":"+cfg.Password, "password="+cfg.Password)
	}
	return out
}

// TestMigrateCommand: vitals migrate copies a file into PostgreSQL (the DSN
// from $VITALS_PG_DSN), shows host:port/database and never the DSN, and a
// second run copies nothing.
func TestMigrateCommand(t *testing.T) {
	dsn := pgtest.Schema(t)
	path := sqliteFile(t, 3)
	env := func(k string) (string, bool) {
		if k == "VITALS_PG_DSN" {
			return dsn, true
		}
		return "", false
	}
	code, stdout, stderr := runCLI(env, "migrate", "--from", "sqlite:"+path, "--to", "postgres:")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "into postgres "+postgres.Where(dsn)) || !strings.Contains(stdout, "copied 6 rows (0 already there)") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, "[1/") || !strings.Contains(stderr, "3/3 rows, 3 copied") {
		t.Errorf("progress (stderr):\n%s", stderr)
	}
	code, stdout2, stderr2 := runCLI(noEnv, "migrate", "--from", "sqlite:"+path, "--to", "postgres:"+dsn)
	if code != 0 || !strings.Contains(stdout2, "nothing to copy") {
		t.Errorf("second run: exit %d\nstdout: %s\nstderr: %s", code, stdout2, stderr2)
	}
	for _, s := range secretsOf(t, dsn) {
		for _, out := range []string{stdout, stderr, stdout2, stderr2} {
			if strings.Contains(out, s) {
				t.Fatalf("the output shows the DSN or its password:\n%s", out)
			}
		}
	}
}

// TestMigrateRefusesANewerDestination: a database a newer vitals migrated
// is refused, with the versions, and nothing is copied.
func TestMigrateRefusesANewerDestination(t *testing.T) {
	dsn := pgtest.Schema(t)
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(context.Background(), `INSERT INTO schema_migrations(version, applied_at, description) VALUES(99, now(), 'future')`)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(noEnv, "migrate", "--from", "sqlite:"+sqliteFile(t, 1), "--to", "postgres:"+dsn)
	if code != 1 || !strings.Contains(stderr, "schema version 99") {
		t.Errorf("exit %d, stderr %q; want 1 and the refusal", code, stderr)
	}
	for _, s := range secretsOf(t, dsn) {
		if strings.Contains(stdout+stderr, s) {
			t.Fatalf("the output shows the DSN or its password:\n%s%s", stdout, stderr)
		}
	}
}

func TestMigrateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "postgres:x"}, "--from: want sqlite:PATH"},
		{[]string{"--from", "sqlite:/x", "--to", "mysql://u:hunter2@h/db"}, "--to: want postgres:DSN"},
		{[]string{"--from", "sqlite:/x", "--to", "postgres:"}, "$VITALS_PG_DSN is not set"},
		{[]string{"--from", "sqlite:/x", "--to", "postgres:x", "--batch", "0"}, "--batch must be positive"},
	} {
		code, _, stderr := runCLI(noEnv, append([]string{"migrate"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "hunter2") {
			t.Errorf("%q: the usage error quotes the DSN", tc.args)
		}
	}
	code, _, stderr := runCLI(noEnv, "migrate", "--from", "sqlite:"+filepath.Join(t.TempDir(), "none.db"), "--to", "postgres:postgres://127.0.0.1:1/x")
	if code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("a missing file: exit %d, %q", code, stderr)
	}
}
