package actions

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// sqliteWatchdog is the watchdog as the daemon wires it: a System over the
// SQLite store at a path, its policy memory restored before the engine
// starts. Starting it again over the same path is a restart.
type sqliteWatchdog struct {
	st  *sqlite.Store
	eng *watchdog.Engine
	sys *System
}

// startSQLite starts a watchdog over the SQLite file at path with cfg, whose
// rules name the channel "ops" (a recorder).
func startSQLite(t *testing.T, path string, cfg Config, rec *recorder) *sqliteWatchdog {
	t.Helper()
	// No background checkpoints or compactions: under synctest an hour of
	// sleep would run thousands of them.
	st, err := sqlite.Open(path, sqlite.Options{CheckpointInterval: 24 * time.Hour, CompactInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w := &sqliteWatchdog{st: st}
	w.sys = NewSystem(st, SystemOptions{Logger: quiet, Status: func(id model.CheckID) (string, model.Status, bool) {
		cs, ok := w.eng.Get(id)
		return cs.Check.Name, cs.State.Status, ok
	}})
	w.sys.Registry().Register("recorder", func() notify.Spec { return recorderSpec{rec} })
	ctx := context.Background()
	if err := w.sys.Apply(withOps(w.sys, cfg)); err != nil {
		t.Fatal(err)
	}
	if err := w.sys.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	w.eng = hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{w.sys.Planner()}, w.sys.Dispatcher())
	if err := w.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *sqliteWatchdog) stop(t *testing.T) {
	t.Helper()
	w.sys.Stop()
	if err := w.eng.Close(); err != nil {
		t.Error(err)
	}
	if err := w.st.Close(); err != nil {
		t.Error(err)
	}
}

func (w *sqliteWatchdog) ping(t *testing.T, c model.Check, k model.PingKind) {
	t.Helper()
	if _, err := w.eng.Ping(context.Background(), c.ID, model.Ping{Kind: k}); err != nil {
		t.Fatal(err)
	}
}

// create creates the checks, each up after a success.
func (w *sqliteWatchdog) create(t *testing.T, cs ...model.Check) {
	t.Helper()
	for _, c := range cs {
		if _, err := w.eng.Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		w.ping(t, c, model.PingSuccess)
	}
}

// rows returns the outbox rows of a check.
func (w *sqliteWatchdog) rows(t *testing.T, c model.Check) []model.Notification {
	t.Helper()
	rows, err := w.st.Notifications(context.Background(), store.NotificationQuery{CheckID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// announced lists what the recorder was sent, as "check state".
func announced(rec *recorder) []string {
	var out []string
	for _, n := range rec.Sent() {
		out = append(out, fmt.Sprintf("%s %s", n.Check, n.State))
	}
	return out
}

func wantAnnounced(t *testing.T, rec *recorder, when string, want ...string) {
	t.Helper()
	if got := announced(rec); !slices.Equal(got, want) {
		t.Fatalf("%s: announced %q, want %q", when, got, want)
	}
}

// named returns the i-th push check, named name, whose flips down and
// back up go to "ops".
func named(i int, name string) model.Check {
	c := pushCheck(i)
	c.Name = name
	c.Routes = model.Routes{Down: []string{"ops"}, Up: []string{"ops"}}
	return c
}

// The policy's memory is written with the flips and survives a restart of
// the watchdog on its SQLite store: a child whose down its parent absorbed
// does not announce its recovery after a restart; a down held by a window
// whose check recovers inside the window after a restart is never
// announced, nor is its recovery; a held down is released exactly once
// when the window ends after a restart, and its recovery is news.
func TestPolicyMemorySurvivesRestart(t *testing.T) {
	t.Run("absorbed child", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vitals.db")
			parent, child := named(1, "network"), named(2, "app")
			cfg := Config{Parents: map[model.CheckID][]model.CheckID{child.ID: {parent.ID}}}
			rec := &recorder{}
			w := startSQLite(t, path, cfg, rec)
			w.create(t, parent, child)
			w.ping(t, parent, model.PingFail)
			w.ping(t, child, model.PingFail)
			synctest.Wait()
			wantAnnounced(t, rec, "parent and child down", "network down")

			w.stop(t)
			w = startSQLite(t, path, cfg, rec)
			defer w.stop(t)
			w.ping(t, parent, model.PingSuccess)
			w.ping(t, child, model.PingSuccess)
			time.Sleep(time.Minute)
			synctest.Wait()
			wantAnnounced(t, rec, "after a restart, parent then child up", "network down", "network up")
			if rows := w.rows(t, child); len(rows) != 0 {
				t.Errorf("the child's flips planned rows: %+v", rows)
			}
		})
	})

	db := named(1, "db")
	window := func() Config {
		now := time.Now()
		return Config{Windows: []policy.Window{{Name: "db upgrade", Checks: []model.CheckID{db.ID}, Start: now.Add(time.Minute), End: now.Add(time.Hour)}}}
	}

	t.Run("held down, recovery inside the window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vitals.db")
			cfg, rec := window(), &recorder{}
			w := startSQLite(t, path, cfg, rec)
			w.create(t, db)
			time.Sleep(2 * time.Minute) // inside the window
			w.ping(t, db, model.PingFail)
			synctest.Wait()
			wantAnnounced(t, rec, "down inside the window")

			w.stop(t)
			w = startSQLite(t, path, cfg, rec)
			defer w.stop(t)
			w.ping(t, db, model.PingSuccess)
			time.Sleep(time.Hour) // past the window's end
			synctest.Wait()
			wantAnnounced(t, rec, "after the window")
			rows := w.rows(t, db)
			if len(rows) != 1 || rows[0].State != model.NotificationFailed || !strings.HasPrefix(rows[0].LastError, "dropped: superseded") {
				t.Fatalf("outbox %+v, want the down row dropped as superseded and no row for the recovery", rows)
			}
		})
	})

	t.Run("held down released once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vitals.db")
			cfg, rec := window(), &recorder{}
			w := startSQLite(t, path, cfg, rec)
			end := cfg.Windows[0].End
			w.create(t, db)
			time.Sleep(2 * time.Minute)
			w.ping(t, db, model.PingFail)

			w.stop(t)
			w = startSQLite(t, path, cfg, rec)
			time.Sleep(time.Hour) // past the window's end
			synctest.Wait()
			time.Sleep(10 * time.Minute)
			synctest.Wait()
			wantAnnounced(t, rec, "after the window", "db down")
			if got := rec.Sent()[0]; !got.HeldUntil.Equal(end) {
				t.Errorf("held until %v, want the window's end %v", got.HeldUntil, end)
			}

			// The release is remembered too: after another restart the
			// recovery is news.
			w.stop(t)
			w = startSQLite(t, path, cfg, rec)
			defer w.stop(t)
			w.ping(t, db, model.PingSuccess)
			synctest.Wait()
			wantAnnounced(t, rec, "recovery after the release and a restart", "db down", "db up")
		})
	})
}

// With dependency_delay 0 (the default), a parent already down absorbs its
// children's alerts, even when they go down at the same instant, and only
// the parent's recovery is announced, whichever recovers first.
func TestDependencyDelayZero(t *testing.T) {
	for _, parentFirst := range []bool{true, false} {
		name := map[bool]string{true: "parent recovers first", false: "children recover first"}[parentFirst]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				parent := named(100, "network")
				cfg := Config{Parents: map[model.CheckID][]model.CheckID{}}
				var children []model.Check
				for i := range 3 {
					c := named(i, fmt.Sprintf("app-%d", i))
					children = append(children, c)
					cfg.Parents[c.ID] = []model.CheckID{parent.ID}
				}
				rec := &recorder{}
				w := startSQLite(t, filepath.Join(t.TempDir(), "vitals.db"), cfg, rec)
				defer w.stop(t)
				w.create(t, append([]model.Check{parent}, children...)...)
				w.ping(t, parent, model.PingFail) // the same instant: no time passes
				for _, c := range children {
					w.ping(t, c, model.PingFail)
				}
				synctest.Wait()
				wantAnnounced(t, rec, "parent and children down", "network down")

				if parentFirst {
					w.ping(t, parent, model.PingSuccess)
				}
				for _, c := range children {
					w.ping(t, c, model.PingSuccess)
				}
				if !parentFirst {
					w.ping(t, parent, model.PingSuccess)
				}
				synctest.Wait()
				wantAnnounced(t, rec, "after the recoveries", "network down", "network up")
				for _, c := range children {
					if rows := w.rows(t, c); len(rows) != 0 {
						t.Errorf("%s planned rows: %+v", c.Name, rows)
					}
				}
			})
		})
	}
}

// Deleting a silence releases at once what it held: the check still down
// is announced without waiting for the silence's end; the one that
// recovered meanwhile is not (nor its recovery); a check also covered by a
// maintenance window or by another silence stays held, and the outbox says
// by which; a child waiting for its parents keeps waiting. The real
// actions system (System, Silences) on the SQLite store.
func TestDeletingSilenceReleasesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		silenced, recovers, windowed, twice := named(1, "api"), named(2, "worker"), named(3, "db"), named(4, "cache")
		parent, child := named(5, "network"), named(6, "app")
		now := time.Now()
		cfg := Config{Parents: map[model.CheckID][]model.CheckID{child.ID: {parent.ID}},
			DependencyDelay: 30 * time.Second,
			Windows:         []policy.Window{{Name: "nightly", Checks: []model.CheckID{windowed.ID}, Start: now, End: now.Add(2 * time.Hour)}}}
		all := []model.Check{silenced, recovers, windowed, twice, parent, child}
		rec := &recorder{}
		w := startSQLite(t, filepath.Join(dir, "vitals.db"), cfg, rec)
		defer w.stop(t)
		book, err := policy.NewSilences(context.Background(), w.st, w.sys.Suppression(), policy.SilencesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := book.Add(context.Background(), policy.Silence{Name: "deploy", Checks: []model.CheckID{silenced.ID, recovers.ID, windowed.ID, twice.ID}, End: now.Add(time.Hour), Reason: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		sl2, err := book.Add(context.Background(), policy.Silence{Name: "freeze", Checks: []model.CheckID{twice.ID}, End: now.Add(90 * time.Minute), Reason: "quarter end"})
		if err != nil {
			t.Fatal(err)
		}
		w.create(t, all...)
		for _, c := range []model.Check{silenced, recovers, windowed, twice, child} {
			w.ping(t, c, model.PingFail)
		}
		w.ping(t, recovers, model.PingSuccess)
		synctest.Wait()
		wantAnnounced(t, rec, "while silenced")

		if err := book.Delete(context.Background(), sl.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the store's writer lingers a millisecond: not the silence's hour
		synctest.Wait()
		wantAnnounced(t, rec, "once the silence is deleted", "api down")
		if got := rec.Sent()[0]; !got.HeldUntil.Equal(sl.End) {
			t.Errorf("released alert held until %v, want the silence's end %v", got.HeldUntil, sl.End)
		}
		for _, tc := range []struct {
			c    model.Check
			want string
		}{
			{windowed, `held: maintenance window "nightly"`},
			{twice, fmt.Sprintf(`held: silence %s "freeze" (reason: "quarter end")`, sl2.ID)},
			{recovers, "dropped: superseded: the check is up now"},
		} {
			rows := w.rows(t, tc.c)
			if len(rows) != 1 || rows[0].LastError != tc.want {
				t.Errorf("%s: outbox %+v, want one row %q", tc.c.Name, rows, tc.want)
			}
		}

		time.Sleep(10 * time.Second) // the child is still waiting for its parent
		w.ping(t, parent, model.PingFail)
		time.Sleep(time.Minute)
		synctest.Wait()
		wantAnnounced(t, rec, "after the parent's down", "api down", "network down")
		if rows := w.rows(t, child); len(rows) != 1 || rows[0].LastError != `dropped: parent "network" is down` {
			t.Errorf("child's outbox %+v, want its down absorbed by its parent", rows)
		}

		// A maintenance window removed from the config (a reload) releases
		// what it held at once too.
		cfg.Windows = nil
		if err := w.sys.Apply(withOps(w.sys, cfg)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		wantAnnounced(t, rec, "after the window was removed", "api down", "network down", "db down")
	})
}

// withOps returns cfg with its "ops" channel, the recorder registered in
// sys's registry (the config loader decodes channels again at every load).
func withOps(sys *System, cfg Config) Config {
	spec, _ := sys.Registry().Decode("recorder", func(any) error { return nil })
	cfg.Notifiers = map[string]notify.Spec{"ops": spec}
	return cfg
}
