package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// TestTablesAddedToAnOldFile: a file of the unversioned scheme (PRAGMA
// user_version 1, no schema_migrations, and only the tables its binary
// knew: tables were added without a version bump then) is recognised and
// brought forward. The file is made by this binary, then the table, the
// tables of the later steps and schema_migrations are dropped and
// user_version set to 1, as an older binary would have left it; reopened,
// the file keeps its checks, is recorded at every version, and the
// feature the table serves works.
func TestTablesAddedToAnOldFile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		table string
		use   func(t *testing.T, s *sqlite.Store, c model.Check)
	}{
		{"retired_checks", func(t *testing.T, s *sqlite.Store, c model.Check) {
			if err := s.RetireCheck(ctx, c.ID, time.Now()); err != nil {
				t.Fatalf("retire: %v", err)
			}
		}},
		{"write_probe", func(t *testing.T, s *sqlite.Store, c model.Check) {
			if err := s.ProbeWrite(ctx); err != nil {
				t.Fatalf("write probe: %v", err)
			}
		}},
		{"policy_state", func(t *testing.T, s *sqlite.Store, c model.Check) {
			ps := store.PolicyState{CheckID: c.ID, FlipID: uuid.New(), Dropped: true}
			if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, time.Now()), Policy: &ps}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.PolicyStates(ctx); err != nil || len(got) != 1 || got[0] != ps {
				t.Fatalf("policy states: %+v %v", got, err)
			}
		}},
		{"installation", func(t *testing.T, s *sqlite.Store, c model.Check) {
			first, err := s.InstallationSecret(ctx)
			if err != nil || len(first) != store.InstallationSecretLen {
				t.Fatalf("secret: %d bytes, %v", len(first), err)
			}
			if again, err := s.InstallationSecret(ctx); err != nil || !bytes.Equal(again, first) {
				t.Fatalf("secret read again: %v", err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.InstallationSecret(canceled); err == nil || !strings.Contains(err.Error(), "canceled") {
				t.Errorf("canceled ctx: %v", err)
			}
		}},
	} {
		t.Run(tc.table, func(t *testing.T) {
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
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			// The file of a binary from before schema_migrations: user_version
			// 1, none of the later steps' tables.
			if _, err := db.Exec(`DROP TABLE ` + tc.table + `; DROP TABLE schema_migrations; DROP TABLE silences; PRAGMA user_version = 1`); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s, err = sqlite.Open(path, sqlite.Options{})
			if err != nil {
				t.Fatalf("open a file without %s: %v", tc.table, err)
			}
			defer s.Close()
			if all, err := s.ListChecks(ctx); err != nil || len(all) != 1 {
				t.Fatalf("checks of the old file: %d, %v", len(all), err)
			}
			tc.use(t, s, c)
			if got := versions(t, path); got != upTo(len(sqlite.Migrations)) {
				t.Fatalf("versions recorded: %q, want every step", got)
			}
		})
	}
}
