package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// versions returns the versions recorded in schema_migrations,
// comma-separated, checking that each has a time and a description.
func versions(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version, applied_at, description FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var at time.Time
		var desc string
		if err := rows.Scan(&v, &at, &desc); err != nil {
			t.Fatal(err)
		}
		if at.IsZero() || desc == "" {
			t.Fatalf("version %d: applied_at %v, description %q", v, at, desc)
		}
		out = append(out, fmt.Sprint(v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}

// upTo is the versions column of a database migrated to version n:
// "1,2,…,n".
func upTo(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(v, ",")
}

// withStep2 is the binary's steps and a later one: the next vitals.
func withStep2(fail bool) []store.Migration[pgx.Tx] {
	return append(append([]store.Migration[pgx.Tx]{}, postgres.Migrations...), store.Migration[pgx.Tx]{
		Version: len(postgres.Migrations) + 1, Description: "a table of the next vitals",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE next_feature (id int PRIMARY KEY)`); err != nil {
				return err
			}
			if fail {
				return errors.New("step failed halfway")
			}
			return nil
		}})
}

func openClose(dsn string, steps []store.Migration[pgx.Tx]) error {
	s, err := postgres.OpenWithMigrations(context.Background(), dsn, postgres.Options{}, steps)
	if err != nil {
		return err
	}
	return s.Close()
}

// A new database gets every step, once; a database at each older version
// is brought to the newest with its data; a step that fails leaves the
// database at the version before it, whole (its table is not there).
func TestMigrateFreshAndUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	for range 2 {
		if err := openClose(dsn, postgres.Migrations); err != nil {
			t.Fatal(err)
		}
		if got, want := versions(t, dsn), upTo(len(postgres.Migrations)); got != want {
			t.Fatalf("versions %q, want %s", got, want)
		}
	}
	s := open(t, dsn, postgres.Options{})
	c := storetest.SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	s.Close()

	if err := openClose(dsn, withStep2(true)); err == nil || !strings.Contains(err.Error(), "step failed halfway") ||
		!strings.Contains(err.Error(), fmt.Sprintf("schema version %d", len(postgres.Migrations)+1)) {
		t.Fatalf("failing step: %v", err)
	}
	if got, want := versions(t, dsn), upTo(len(postgres.Migrations)); got != want {
		t.Fatalf("after a failed step: versions %q, want %s", got, want)
	}
	if err := openClose(dsn, withStep2(false)); err != nil {
		t.Fatalf("the step, fixed: %v", err)
	}
	if got, want := versions(t, dsn), upTo(len(postgres.Migrations)+1); got != want {
		t.Fatalf("versions %q, want %s", got, want)
	}
	s, err := postgres.OpenWithMigrations(ctx, dsn, postgres.Options{}, withStep2(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.GetCheck(ctx, c.ID); err != nil {
		t.Fatalf("the check after the upgrade: %v", err)
	}
}

// A database a newer vitals migrated is refused, named by both versions,
// and left as it was.
func TestMigrateRefusesNewer(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	if err := openClose(dsn, withStep2(false)); err != nil {
		t.Fatal(err)
	}
	err := openClose(dsn, postgres.Migrations)
	var tooNew *store.SchemaTooNewError
	n := len(postgres.Migrations)
	if !errors.As(err, &tooNew) || tooNew.Have != n+1 || tooNew.Know != n ||
		!strings.Contains(err.Error(), fmt.Sprintf("the database is at schema version %d; this vitals knows up to %d: upgrade vitals", n+1, n)) {
		t.Fatalf("newer database: %v", err)
	}
	if got := versions(t, dsn); got != upTo(n+1) {
		t.Fatalf("the refused database changed: versions %q", got)
	}
}

// The helper process of TestMigrateConcurrentProcesses: it opens the
// database of VITALS_TEST_MIGRATE_DSN with the next vitals' steps.
func TestMigrateHelperProcess(t *testing.T) {
	dsn := os.Getenv("VITALS_TEST_MIGRATE_DSN")
	if dsn == "" {
		t.Skip("helper process of TestMigrateConcurrentProcesses")
	}
	if err := openClose(dsn, withStep2(false)); err != nil {
		t.Fatal(err)
	}
}

// Processes opening one new database at once (replicas started together)
// migrate it once, in turn: two processes and, in this one, two more
// stores (sessions of their own).
func TestMigrateConcurrentProcesses(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "VITALS_TEST_MIGRATE_DSN="+dsn)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("process %d: %v\n%s", i, err, out)
			}
		})
		wg.Go(func() { errs[2+i] = openClose(dsn, withStep2(false)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := versions(t, dsn), upTo(len(postgres.Migrations)+1); got != want {
		t.Fatalf("versions %q, want %s", got, want)
	}
}
