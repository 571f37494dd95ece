package watchdog_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/testenv"
	"github.com/vitals-go/vitals/internal/watchdog"
)

const tzLogMsg = "check's pings fit another time zone"

// The time-zone warning through the real engine over a SQLite file, on
// synctest's clock (it starts at 2000-01-01 00:00 UTC): a daily 03:00 UTC
// check pinged by a job on Tokyo time (18:00 UTC) is warned at its fourth
// ping; the warning is logged once with the check's name and unique key,
// survives a restart without a second log line, is cleared by a ping on
// time and logged again when it comes back, and is dropped with the kept
// ping times when the schedule's zone changes.
func TestTZWarningThroughEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "vitals.db")
		var buf testenv.LogBuffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		open := func() (*sqlite.Store, *watchdog.Engine) {
			// No background checkpoints or compactions: days of sleep
			// would run thousands of them.
			st, err := sqlite.Open(path, sqlite.Options{CheckpointInterval: 24 * time.Hour, CompactInterval: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			e := watchdog.New(st, watchdog.Options{Logger: log, HostTZ: "Europe/Berlin"})
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
			return st, e
		}
		shut := func(st *sqlite.Store, e *watchdog.Engine) {
			if err := e.Close(); err != nil {
				t.Error(err)
			}
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		}
		st, e := open()
		c, err := e.Create(ctx, model.Check{Name: "nightly-backup", Kind: model.KindPush,
			Schedule: model.Schedule{Cron: "0 3 * * *", TZ: "UTC", Grace: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		day := 0
		// pingAt sleeps to the next day's hh:mm UTC and pings.
		pingAt := func(hh, mm int) model.State {
			t.Helper()
			day++
			at := time.Date(2000, 1, day, hh, mm, 0, 0, time.UTC)
			time.Sleep(time.Until(at))
			s, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1})
			if err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			return s
		}
		logged := func() []map[string]any {
			var out []map[string]any
			for _, r := range buf.Records(t) {
				if r["msg"] == tzLogMsg {
					out = append(out, r)
				}
			}
			return out
		}
		tokyo := func() model.State { return pingAt(18, 2) }

		for range model.TZMinPings - 1 {
			if s := tokyo(); s.TZWarning != "" {
				t.Fatalf("warned after %d pings: %q", day, s.TZWarning)
			}
		}
		want := "the last 4 pings came 9 hours before the schedule in UTC: is the schedule meant for Asia/Tokyo? (tz: Asia/Tokyo)"
		if s := tokyo(); s.TZWarning != want {
			t.Fatalf("warning %q, want %q", s.TZWarning, want)
		}
		if cs, _ := e.Get(c.ID); cs.State.TZWarning != want {
			t.Fatalf("Get: warning %q", cs.State.TZWarning)
		}
		tokyo()
		tokyo()
		recs := logged()
		if len(recs) != 1 || recs[0]["check"] != "nightly-backup" || recs[0]["unique_key"] != model.UniqueKey(c.ID) ||
			recs[0]["warning"] != want || recs[0]["level"] != "WARN" {
			t.Fatalf("logged %v, want one line with the name and unique key", recs)
		}

		// A restart loads the warning and the kept times from the file;
		// the next ping does not log it again.
		shut(st, e)
		st, e = open()
		cs, _ := e.Get(c.ID)
		if !strings.HasPrefix(cs.State.TZWarning, "the last 6 pings") || len(cs.State.TZPings) != 6 {
			t.Fatalf("after a restart: warning %q, %d times kept", cs.State.TZWarning, len(cs.State.TZPings))
		}
		if s := tokyo(); !strings.HasPrefix(s.TZWarning, "the last 7 pings") || len(logged()) != 1 {
			t.Fatalf("after a restart: warning %q, logged %d times", s.TZWarning, len(logged()))
		}

		// A ping on time clears it; it comes back once the newest
		// MaxTZPings pings all miss again, and is logged again.
		if s := pingAt(3, 1); s.TZWarning != "" {
			t.Fatalf("a ping on time left %q", s.TZWarning)
		}
		for range model.MaxTZPings - 1 {
			if s := tokyo(); s.TZWarning != "" {
				t.Fatalf("warned with a ping on time among the last %d: %q", model.MaxTZPings, s.TZWarning)
			}
		}
		if s := tokyo(); !strings.HasPrefix(s.TZWarning, "the last 8 pings came 9 hours before") || len(logged()) != 2 {
			t.Fatalf("back: warning %q, logged %d times", s.TZWarning, len(logged()))
		}

		// An update that keeps the schedule keeps the warning; one that
		// changes its zone drops it, with the kept times, durably.
		c.Desc = "nightly"
		if _, err := e.Update(ctx, c); err != nil {
			t.Fatal(err)
		}
		if cs, _ := e.Get(c.ID); cs.State.TZWarning == "" {
			t.Fatal("an update of the description dropped the warning")
		}
		c.Schedule.TZ = "Asia/Tokyo"
		if _, err := e.Update(ctx, c); err != nil {
			t.Fatal(err)
		}
		_, stored, err := st.GetCheck(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cs, _ := e.Get(c.ID); cs.State.TZWarning != "" || cs.State.TZPings != nil || stored.TZWarning != "" || stored.TZPings != nil {
			t.Fatalf("after the zone changed: engine %q %v, store %q %v", cs.State.TZWarning, cs.State.TZPings, stored.TZWarning, stored.TZPings)
		}
		if s := tokyo(); s.TZWarning != "" || len(s.TZPings) != 1 {
			t.Fatalf("a ping on time in the new zone: warning %q, kept %v", s.TZWarning, s.TZPings)
		}
		if strings.Contains(buf.String(), c.ID.Secret()) {
			t.Errorf("the log carries the check's UUID (its ping secret)")
		}
		shut(st, e)
	})
}
