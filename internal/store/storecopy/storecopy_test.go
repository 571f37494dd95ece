package storecopy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/actions/policy"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storecopy"
	"github.com/vitals-go/vitals/internal/watchdog"
)

var quiet = slog.New(slog.DiscardHandler)

// populate runs a real engine (with the outbox planner and the alert
// policy) on a real SQLite store and leaves a copy of its file as a crash
// would: the ping log not compacted yet. It returns that copy's path.
// Every table of the history has rows: live and retired checks, pings past
// the retention, flips both ways, outbox rows, uptime, policy state, the
// installation secret.
func populate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	st, err := sqlite.Open(path, sqlite.Options{PingRetention: 10, CompactInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.InstallationSecret(ctx); err != nil {
		t.Fatal(err)
	}
	var eng *watchdog.Engine
	sup := policy.NewSuppression(func(id model.CheckID) (string, model.Status, bool) {
		cs, ok := eng.Get(id)
		return cs.Check.Name, cs.State.Status, ok
	}, 0)
	if err := sup.Restore(ctx, st); err != nil {
		t.Fatal(err)
	}
	eng = watchdog.New(st, watchdog.Options{Logger: quiet})
	if err := eng.AddPlanner(outbox.NewPlanner(outbox.PlannerOptions{Policy: sup, Logger: quiet})); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []model.CheckID
	for i := range 12 {
		c, err := eng.Create(ctx, model.Check{Name: fmt.Sprintf("job %d", i), Kind: model.KindPush,
			Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute},
			Routes:   model.Routes{Down: []string{"ops"}, Up: []string{"ops", "chat"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	ping := func(id model.CheckID, kind model.PingKind, body string) {
		t.Helper()
		if _, err := eng.Ping(ctx, id, model.Ping{Kind: kind, Body: []byte(body), RemoteAddr: "192.0.2.7", UserAgent: "curl/8", Method: "POST", Scheme: "https"}); err != nil {
			t.Fatal(err)
		}
	}
	// Before the compaction: these end up in pings and states.
	for i, id := range ids {
		for n := range 4 + i {
			ping(id, model.PingSuccess, fmt.Sprintf("run %d\x00binary", n))
		}
		ping(id, model.PingFail, "exit 1")
	}
	if err := eng.Retire(ctx, ids[11]); err != nil {
		t.Fatal(err)
	}
	// A silence of the API, kept in the store, goes with the history.
	if err := st.AddSilence(ctx, model.Silence{ID: uuid.New(), Name: "pg upgrade", Checks: ids[:2],
		Start: time.Now().UTC().Truncate(time.Second), End: time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second),
		Reason: "migration test", CreatedBy: "ops", Created: time.Now().UTC().Truncate(time.Second)}); err != nil {
		t.Fatal(err)
	}
	// Fold the log in (closing a store compacts it), then reopen with the
	// same engine's file for the pings a crash leaves in the log.
	eng.Close()
	st.Close()
	st, err = sqlite.Open(path, sqlite.Options{PingRetention: 10, CompactInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng = watchdog.New(st, watchdog.Options{Logger: quiet})
	if err := eng.AddPlanner(outbox.NewPlanner(outbox.PlannerOptions{Policy: sup, Logger: quiet})); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for i, id := range ids[:11] {
		ping(id, model.PingSuccess, "recovered")
		for n := range i {
			ping(id, model.PingStart, fmt.Sprint("start ", n))
		}
	}
	// The crash: the file as it is now, with its WAL.
	crash := filepath.Join(dir, "crash.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crash+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return crash
}

// clone copies the store file at path (and its WAL) to a new path.
func clone(t *testing.T, path string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "clone.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// snapshot is everything a store says about an installation.
type snapshot struct {
	Secret  []byte
	Checks  []model.CheckState
	Retired []store.RetiredCheck
	Pings   map[model.CheckID][]model.Ping
	Flips   map[model.CheckID][]model.Flip
	Uptime  map[model.CheckID][]model.UptimeDay
	Outbox  []model.Notification
	Policy  []store.PolicyState
	Silence []model.Silence
}

func read(t *testing.T, st store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Secret, err = st.InstallationSecret(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Checks, err = st.ListChecks(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Retired, err = st.RetiredChecks(ctx); err != nil {
		t.Fatal(err)
	}
	ids := []model.CheckID{}
	for _, c := range s.Checks {
		ids = append(ids, c.Check.ID)
	}
	for _, c := range s.Retired {
		ids = append(ids, c.Check.ID)
	}
	s.Pings, s.Flips, s.Uptime = map[model.CheckID][]model.Ping{}, map[model.CheckID][]model.Flip{}, map[model.CheckID][]model.UptimeDay{}
	for _, id := range ids {
		pings, err := st.Pings(ctx, id, store.PingQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for i := range pings {
			if len(pings[i].Body) == 0 {
				pings[i].Body = nil // SQLite: NULL; PostgreSQL: empty
			}
		}
		s.Pings[id] = pings
		if s.Flips[id], err = st.Flips(ctx, id, store.FlipQuery{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		if s.Uptime[id], err = st.Uptime(ctx, id, time.Unix(0, 0), time.Now().Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Outbox, err = st.Notifications(ctx, store.NotificationQuery{Limit: 100000}); err != nil {
		t.Fatal(err)
	}
	if s.Policy, err = st.PolicyStates(ctx); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(s.Policy, func(a, b store.PolicyState) int { return bytes.Compare(a.CheckID[:], b.CheckID[:]) })
	if s.Silence, err = st.(store.SilenceStore).Silences(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// expect reads the installation of the SQLite file at path as the SQLite
// store sees it (on a clone: opening a store compacts its log).
func expect(t *testing.T, path string) snapshot {
	t.Helper()
	st, err := sqlite.Open(clone(t, path), sqlite.Options{PingRetention: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return read(t, st)
}

func openPG(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{PingRetention: 10})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// migrate copies the file at path into the database of dsn.
func migrate(ctx context.Context, t *testing.T, path, dsn string, opts storecopy.Options) (storecopy.Report, error) {
	t.Helper()
	src, err := sqlite.OpenExport(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := openPG(t, dsn)
	defer dst.Close()
	return storecopy.Copy(ctx, src, dst, opts)
}

// compare fails the test for every part of got that differs from want.
func compare(t *testing.T, got, want snapshot) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s differ after the migration:\n got %+v\nwant %+v", name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

// TestMigrateSQLiteToPostgres: an installation made by the real engine on
// SQLite (with a ping log a crash left), migrated, reads back from the
// PostgreSQL store exactly as from the SQLite one: checks, states, retired
// checks, pings, flips, uptime, outbox, policy state and the secret. A
// second run copies nothing.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	t.Parallel()
	path := populate(t)
	want := expect(t, path)
	if len(want.Checks) != 11 || len(want.Retired) != 1 || len(want.Outbox) == 0 || len(want.Policy) == 0 {
		t.Fatalf("the source lacks history: %d checks, %d retired, %d outbox rows, %d policy states",
			len(want.Checks), len(want.Retired), len(want.Outbox), len(want.Policy))
	}
	src, err := sqlite.OpenExport(path)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := src.Steps(context.Background())
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	total := map[string]int64{}
	for _, s := range steps {
		total[s.Name] = s.Total
	}
	for _, name := range []string{"checks", "states", "pings", "ping_log", "flips", "outbox", "uptime", "policy_state", "silences"} {
		if total[name] == 0 {
			t.Errorf("the source has no rows for step %s: the test would not show it is copied", name)
		}
	}

	dsn := pgtest.Schema(t)
	var lines bytes.Buffer
	pr := storecopy.NewPrinter(&lines, false)
	rep, err := migrate(context.Background(), t, path, dsn, storecopy.Options{Batch: 16, Progress: pr.Show})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Steps {
		if s.Read != total[s.Step] || s.Copied != s.Read {
			t.Errorf("step %s: read %d, copied %d, want all %d", s.Step, s.Read, s.Copied, total[s.Step])
		}
	}
	if out := lines.String(); strings.Count(out, "\n") < len(steps) || !strings.Contains(out, "[4/9] ping_log") {
		t.Errorf("progress lines:\n%s", out)
	}
	dst := openPG(t, dsn)
	compare(t, read(t, dst), want)
	dst.Close()

	again, err := migrate(context.Background(), t, path, dsn, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again.Steps {
		if !s.Skipped || s.Read != 0 {
			t.Errorf("second run, step %+v: want it skipped", s)
		}
	}
	if again.Copied() != 0 {
		t.Errorf("second run copied %d rows", again.Copied())
	}
}

// TestMigrateResumes: a migration cancelled in the middle of the pings
// resumes where it stopped: the two runs together copy each row once, and
// the result is the same as the uninterrupted one's.
func TestMigrateResumes(t *testing.T) {
	t.Parallel()
	path := populate(t)
	want := expect(t, path)
	dsn := pgtest.Schema(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := migrate(ctx, t, path, dsn, storecopy.Options{Batch: 7, Progress: func(p storecopy.Progress) {
		if p.Step == "pings" && p.Read >= 21 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	last := first.Steps[len(first.Steps)-1]
	if last.Step != "pings" || last.Read != 21 {
		t.Fatalf("first run stopped at %+v, want in the pings after 21 rows", last)
	}
	second, err := migrate(context.Background(), t, path, dsn, storecopy.Options{Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	copied := map[string]int64{}
	for _, r := range []storecopy.Report{first, second} {
		for _, s := range r.Steps {
			copied[s.Step] += s.Copied
			if s.Read != s.Copied {
				t.Errorf("step %s: read %d, copied %d: a row was read twice", s.Step, s.Read, s.Copied)
			}
		}
	}
	src, err := sqlite.OpenExport(path)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := src.Steps(context.Background())
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if copied[s.Name] != s.Total {
			t.Errorf("step %s: %d rows copied over both runs, want %d", s.Name, copied[s.Name], s.Total)
		}
	}
	dst := openPG(t, dsn)
	defer dst.Close()
	compare(t, read(t, dst), want)
}

// TestMigrateRefusesAnotherInstallation: a database that already has an
// installation secret of its own (a watchdog ran on it) is refused before
// anything is copied: derived check ids would change.
func TestMigrateRefusesAnotherInstallation(t *testing.T) {
	t.Parallel()
	path := populate(t)
	dsn := pgtest.Schema(t)
	dst := openPG(t, dsn)
	if _, err := dst.InstallationSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	rep, err := migrate(context.Background(), t, path, dsn, storecopy.Options{})
	if !errors.Is(err, postgres.ErrOtherInstallation) || rep.Copied() != 0 {
		t.Fatalf("migrate into another installation: %v, %d rows copied; want ErrOtherInstallation and nothing", err, rep.Copied())
	}
}

// TestPrinter: the plain lines name the step, the counts, the rate and
// the time left; the terminal form redraws one line with a bar.
func TestPrinter(t *testing.T) {
	p := storecopy.Progress{Step: "pings", Index: 2, Steps: 8, Total: 100000, Read: 41000, Copied: 40950, ThisRun: 41000, Elapsed: 5 * time.Second}
	got := storecopy.Line(p, false)
	want := "[3/8] pings        41,000/100,000 rows, 40,950 copied (50 already there or orphaned), 8,200 rows/s, 7s left"
	if got != want {
		t.Errorf("Line:\n got %q\nwant %q", got, want)
	}
	var b bytes.Buffer
	pr := storecopy.NewPrinter(&b, true)
	pr.Show(p)
	p.Read, p.ThisRun, p.Done = 100000, 100000, true
	pr.Show(p)
	if out := b.String(); !strings.HasPrefix(out, "\r\x1b[K[3/8] pings        [=========>") || !strings.HasSuffix(out, "done in 5s\n") {
		t.Errorf("terminal output %q", out)
	}
	var plain bytes.Buffer
	pr = storecopy.NewPrinter(&plain, false)
	for i := range 10 {
		pr.Show(storecopy.Progress{Step: "flips", Steps: 1, Total: 10, Read: int64(i), Elapsed: time.Duration(i) * time.Second})
	}
	if n := strings.Count(plain.String(), "\n"); n != 2 {
		t.Errorf("plain lines over 9 s at 5 s apart: %d, want 2:\n%s", n, plain.String())
	}
}
