package watchdog_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/testenv"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// A check that Sync no longer lists is retired, not deleted: it is no
// longer watched or listed, and when Sync lists it again it comes back
// with its state and history; the engine logs both by unique key.
func TestSyncRetiresAndRestores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		var buf testenv.LogBuffer
		e := start(t, st, watchdog.Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		a, b := pushCheck("a"), pushCheck("b")
		a.ID, b.ID = model.NewCheckID(), model.NewCheckID()
		if _, err := e.Sync(ctx, model.SourceConfig, []model.Check{a, b}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := e.Ping(ctx, b.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := e.Get(b.ID)
		if before.State.Status != model.StatusUp || before.State.Deadline.IsZero() || e.PendingDeadlines() != 1 {
			t.Fatalf("b before: %+v, %d deadlines", before.State, e.PendingDeadlines())
		}

		res, err := e.Sync(ctx, model.SourceConfig, []model.Check{a})
		if err != nil || res != (watchdog.SyncResult{Unchanged: 1, Retired: 1}) {
			t.Fatalf("sync without b: %+v %v", res, err)
		}
		if _, ok := e.Get(b.ID); ok || len(e.List()) != 1 {
			t.Fatal("a retired check is still listed")
		}
		if _, err := e.Ping(ctx, b.ID, model.Ping{Kind: model.PingSuccess}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ping to a retired check: %v, want ErrNotFound", err)
		}
		if ids := e.LookupSlug("k", "b"); len(ids) != 0 {
			t.Fatalf("a retired check's slug still resolves: %v", ids)
		}
		if n := e.PendingDeadlines(); n != 0 {
			t.Fatalf("%d deadlines armed: a retired check is still watched", n)
		}
		if rs, _ := st.RetiredChecks(ctx); len(rs) != 1 || rs[0].Check.ID != b.ID {
			t.Fatalf("retired in the store: %+v", rs)
		}

		b.Desc = "back"
		res, err = e.Sync(ctx, model.SourceConfig, []model.Check{a, b})
		if err != nil || res != (watchdog.SyncResult{Unchanged: 1, Restored: 1}) {
			t.Fatalf("sync with b again: %+v %v", res, err)
		}
		after, ok := e.Get(b.ID)
		if !ok || after.Check.Desc != "back" || !after.Check.Created.Equal(before.Check.Created) {
			t.Fatalf("restored check: %+v", after.Check)
		}
		if after.State.Status != model.StatusUp || after.State.NPings != 2 || after.State.NFlips != before.State.NFlips ||
			!after.State.Deadline.Equal(before.State.Deadline) || e.PendingDeadlines() != 1 {
			t.Fatalf("restored state %+v, want %+v", after.State, before.State)
		}
		pings, _ := st.Pings(ctx, b.ID, store.PingQuery{})
		flips, _ := st.Flips(ctx, b.ID, store.FlipQuery{})
		if len(pings) != 2 || len(flips) != int(before.State.NFlips) {
			t.Fatalf("history after the restore: %d pings, %d flips", len(pings), len(flips))
		}
		if _, err := e.Ping(ctx, b.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatalf("ping to a restored check: %v", err)
		}
		if ids := e.LookupSlug("k", "b"); len(ids) != 1 {
			t.Fatalf("a restored check's slug: %v", ids)
		}
		out := buf.String()
		if !strings.Contains(out, "check retired") || !strings.Contains(out, "check restored") || !strings.Contains(out, model.UniqueKey(b.ID)) {
			t.Fatalf("retire and restore not logged by unique key:\n%s", out)
		}
		if strings.Contains(out, b.ID.Secret()) {
			t.Errorf("the log carries the check's UUID (its ping secret):\n%s", out)
		}
	})
}

// A restored check whose deadline passed while it was retired (no ping was
// accepted meanwhile) is decided at once: down.
func TestRestoredPastDeadlineGoesDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := start(t, memstore.New(memstore.Options{}), watchdog.Options{})
		c := pushCheck("c")
		c.ID = model.NewCheckID()
		if _, err := e.Sync(ctx, model.SourceConfig, []model.Check{c}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Sync(ctx, model.SourceConfig, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute) // past period + grace: no deadline fires for a retired check
		synctest.Wait()
		if _, err := e.Sync(ctx, model.SourceConfig, []model.Check{c}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if cs, _ := e.Get(c.ID); cs.State.Status != model.StatusDown || cs.State.NPings != 1 {
			t.Fatalf("restored past its deadline: %+v", cs.State)
		}
	})
}

// The engine's sweep purges a retired check once RetiredRetention has
// passed, not before, and stops on Close; a check with its id created
// after that starts afresh.
func TestSweepPurgesAfterRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		e := start(t, st, watchdog.Options{RetiredRetention: 48 * time.Hour})
		c := pushCheck("c")
		c.ID = model.NewCheckID()
		if _, err := e.Sync(ctx, model.SourceConfig, []model.Check{c}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Sync(ctx, model.SourceConfig, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(47 * time.Hour)
		synctest.Wait()
		if rs, _ := st.RetiredChecks(ctx); len(rs) != 1 {
			t.Fatalf("purged before the retention: %+v", rs)
		}
		time.Sleep(2 * time.Hour) // the retention and one sweep interval
		synctest.Wait()
		if rs, _ := st.RetiredChecks(ctx); len(rs) != 0 {
			t.Fatalf("not purged after the retention: %+v", rs)
		}
		if _, err := st.Pings(ctx, c.ID, store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pings of a purged check: %v", err)
		}
		res, err := e.Sync(ctx, model.SourceConfig, []model.Check{c})
		if err != nil || res != (watchdog.SyncResult{Created: 1}) {
			t.Fatalf("sync after the purge: %+v %v", res, err)
		}
		if cs, _ := e.Get(c.ID); cs.State.NPings != 0 || cs.State.Status != model.StatusNew {
			t.Fatalf("a purged check came back with state: %+v", cs.State)
		}
	})
}
