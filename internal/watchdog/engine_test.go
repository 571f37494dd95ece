package watchdog_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/testenv"
	"github.com/vitals-go/vitals/internal/watchdog"
)

type flips struct {
	mu  sync.Mutex
	all []model.Transition
	at  []time.Time
}

func (f *flips) OnFlip(t model.Transition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = append(f.all, t)
	f.at = append(f.at, time.Now())
}

func (f *flips) get() ([]model.Transition, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.Transition(nil), f.all...), append([]time.Time(nil), f.at...)
}

func pushCheck(name string) model.Check {
	return model.Check{Name: name, Kind: model.KindPush, Slug: name, PingKey: "k",
		Schedule: model.Schedule{Period: time.Minute, Grace: 30 * time.Second}}
}

func start(t *testing.T, st store.Store, opts watchdog.Options, hooks ...any) *watchdog.Engine {
	t.Helper()
	e := watchdog.New(st, opts)
	hook(t, e, hooks...)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// hook registers each of hooks as a listener, a planner, or both.
func hook(t testing.TB, e *watchdog.Engine, hooks ...any) {
	t.Helper()
	for _, h := range hooks {
		l, isL := h.(model.Listener)
		p, isP := h.(model.Planner)
		if !isL && !isP {
			t.Fatalf("hook %T is neither a listener nor a planner", h)
		}
		if isL {
			if err := e.AddListener(l); err != nil {
				t.Fatal(err)
			}
		}
		if isP {
			if err := e.AddPlanner(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A missed heartbeat is declared down exactly at its deadline, the flip is
// stored with its planned outbox rows, and listeners hear it once.
func TestDeadlineFlipsDownOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		rec := &flips{}
		planner := model.PlannerFunc(func(tr model.Transition) []model.Notification {
			return []model.Notification{{ID: uuid.Must(uuid.NewV7()), FlipID: tr.Flip.ID, CheckID: tr.Check.ID,
				Channel: "webhook:ops", State: model.NotificationPending, NextAttempt: tr.Flip.Time, Created: tr.Flip.Time}}
		})
		e := start(t, st, watchdog.Options{}, rec, planner)
		c, err := e.Create(ctx, pushCheck("backup"))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + 30*time.Second + time.Millisecond)
		synctest.Wait()
		all, at := rec.get()
		if len(all) != 2 || all[1].Flip.To != model.StatusDown {
			t.Fatalf("flips: %+v", all)
		}
		if want := t0.Add(time.Minute + 30*time.Second); !at[1].Equal(want) {
			t.Fatalf("down at +%v, want +%v", at[1].Sub(t0), want.Sub(t0))
		}
		stored, _ := st.Flips(ctx, c.ID, store.FlipQuery{})
		if len(stored) != 2 || stored[0].ID != all[1].Flip.ID || !strings.Contains(stored[0].Reason, "no ping since") {
			t.Fatalf("stored flips %+v", stored)
		}
		outbox, _ := st.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		if len(outbox) != 2 || outbox[1].FlipID != stored[0].ID {
			t.Fatalf("outbox %+v", outbox)
		}
		// Down: no more deadlines.
		if e.PendingDeadlines() != 0 {
			t.Fatalf("%d deadlines pending", e.PendingDeadlines())
		}
	})
}

// A restart keeps states and pending deadlines: a deadline that passed
// while the engine was down fires at start.
func TestRestartKeepsDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		e := watchdog.New(st, watchdog.Options{})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		a, _ := e.Create(ctx, pushCheck("a"))
		b, _ := e.Create(ctx, pushCheck("b"))
		for _, id := range []model.CheckID{a.ID, b.ID} {
			if _, err := e.Ping(ctx, id, model.Ping{Kind: model.PingSuccess}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute)
		if _, err := e.Ping(ctx, b.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
			t.Fatal(err)
		}
		e.Close()
		time.Sleep(time.Minute) // a's deadline (+90s) passes while down; b's (+150s) not yet
		rec := &flips{}
		e2 := start(t, st, watchdog.Options{}, rec)
		synctest.Wait()
		if cs, _ := e2.Get(a.ID); cs.State.Status != model.StatusDown {
			t.Fatalf("a: %s after restart, want down", cs.State.Status)
		}
		if cs, _ := e2.Get(b.ID); cs.State.Status != model.StatusUp {
			t.Fatalf("b: %s, want up", cs.State.Status)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if cs, _ := e2.Get(b.ID); cs.State.Status != model.StatusDown {
			t.Fatalf("b: %s after its deadline, want down", cs.State.Status)
		}
		if all, _ := rec.get(); len(all) != 2 {
			t.Fatalf("%d flips after restart, want 2", len(all))
		}
	})
}

// failing wraps a store and fails Apply on demand.
type failing struct {
	store.Store
	mu   sync.Mutex
	fail bool
}

func (f *failing) Apply(ctx context.Context, u store.Update) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Store.Apply(ctx, u)
}

// A failed write leaves memory as it was, and a missed deadline whose write
// failed is retried.
func TestWriteFailureKeepsMemoryDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &failing{Store: memstore.New(memstore.Options{})}
		e := start(t, st, watchdog.Options{RetryDelay: time.Second})
		c, _ := e.Create(ctx, pushCheck("x"))
		st.fail = true
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err == nil {
			t.Fatal("ping succeeded on a failing store")
		}
		if cs, _ := e.Get(c.ID); cs.State.Status != model.StatusNew || cs.State.NPings != 0 {
			t.Fatalf("memory ran ahead of the store: %+v", cs.State)
		}
		st.fail = false
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		st.fail = true
		st.mu.Unlock()
		time.Sleep(95 * time.Second)
		synctest.Wait()
		if cs, _ := e.Get(c.ID); cs.State.Status != model.StatusUp {
			t.Fatalf("%s while the store fails", cs.State.Status)
		}
		st.mu.Lock()
		st.fail = false
		st.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		if cs, _ := e.Get(c.ID); cs.State.Status != model.StatusDown {
			t.Fatalf("%s after the store recovered, want down", cs.State.Status)
		}
	})
}

func TestCRUDAndSlugs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		e := start(t, st, watchdog.Options{})
		if _, err := e.Create(ctx, model.Check{Name: "", Kind: "x"}); !errors.Is(err, model.ErrInvalidCheck) {
			t.Fatalf("invalid create: %v", err)
		}
		a, _ := e.Create(ctx, pushCheck("same"))
		b, _ := e.Create(ctx, pushCheck("same"))
		if ids := e.LookupSlug("k", "same"); len(ids) != 2 {
			t.Fatalf("slug lookup %v", ids)
		}
		if _, err := e.Create(ctx, a); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate: %v", err)
		}
		b.Slug = "other"
		if _, err := e.Update(ctx, b); err != nil {
			t.Fatal(err)
		}
		if ids := e.LookupSlug("k", "same"); len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("after rename %v", ids)
		}
		if _, changed, err := e.Upsert(ctx, b); err != nil || changed {
			t.Fatalf("no-op upsert: changed=%v err=%v", changed, err)
		}
		// A check's channels and filters are part of its definition: a
		// reload that changes only them updates it.
		b.Routes = model.Routes{Down: []string{"ops"}}
		if _, changed, err := e.Upsert(ctx, b); err != nil || !changed {
			t.Fatalf("upsert of new routes: changed=%v err=%v", changed, err)
		}
		b.Filters.SuccessKW = "ok"
		if _, changed, err := e.Upsert(ctx, b); err != nil || !changed {
			t.Fatalf("upsert of new filters: changed=%v err=%v", changed, err)
		}
		if cs, _ := e.Get(b.ID); cs.Check.Routes.Down[0] != "ops" || cs.Check.Filters.SuccessKW != "ok" {
			t.Fatalf("after upserts %+v %+v", cs.Check.Routes, cs.Check.Filters)
		}
		// Update reschedules from the last ping.
		if _, err := e.Ping(ctx, a.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		a.Schedule.Period = time.Hour
		if _, changed, err := e.Upsert(ctx, a); err != nil || !changed {
			t.Fatalf("upsert: %v %v", changed, err)
		}
		if cs, _ := e.Get(a.ID); !cs.State.Deadline.Equal(t0.Add(time.Hour + 30*time.Second)) {
			t.Fatalf("deadline after update %v", cs.State.Deadline.Sub(t0))
		}
		if _, err := e.Pause(ctx, a.ID, "window"); err != nil {
			t.Fatal(err)
		}
		if e.PendingDeadlines() != 0 {
			t.Fatal("paused check keeps a deadline")
		}
		if err := e.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Ping(ctx, a.ID, model.Ping{Kind: model.PingSuccess}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ping deleted: %v", err)
		}
		if len(e.List()) != 1 {
			t.Fatalf("list %d", len(e.List()))
		}
	})
}

// Many checks pinged concurrently: every ping is counted once.
func TestConcurrentPings(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	e := start(t, st, watchdog.Options{})
	var ids []model.CheckID
	for i := range 8 {
		c, err := e.Create(ctx, pushCheck("c"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if _, err := e.Ping(ctx, ids[(w+i)%len(ids)], model.Ping{Kind: model.PingSuccess}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, cs := range e.List() {
		total += cs.State.NPings
	}
	if total != 1600 {
		t.Fatalf("%d pings counted, want 1600", total)
	}
}

func TestSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := start(t, memstore.New(memstore.Options{}), watchdog.Options{})
		api, _ := e.Create(ctx, pushCheck("api-made"))
		a, b := pushCheck("a"), pushCheck("b")
		a.ID, b.ID = model.NewCheckID(), model.NewCheckID()
		res, err := e.Sync(ctx, model.SourceConfig, []model.Check{a, b})
		if err != nil || res != (watchdog.SyncResult{Created: 2}) {
			t.Fatalf("first sync: %+v %v", res, err)
		}
		if _, err := e.Ping(ctx, a.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
			t.Fatal(err)
		}
		a.Desc = "changed"
		res, err = e.Sync(ctx, model.SourceConfig, []model.Check{a})
		if err != nil || res != (watchdog.SyncResult{Updated: 1, Retired: 1}) {
			t.Fatalf("second sync: %+v %v", res, err)
		}
		if cs, _ := e.Get(a.ID); cs.State.Status != model.StatusUp || cs.Check.Desc != "changed" {
			t.Fatalf("state lost on update: %+v", cs)
		}
		if _, ok := e.Get(api.ID); !ok {
			t.Fatal("sync deleted an API check")
		}
		bad := a
		bad.Schedule.Cron = "not cron"
		if _, err := e.Sync(ctx, model.SourceConfig, []model.Check{bad}); err == nil || !strings.Contains(err.Error(), "schedule") {
			t.Fatalf("invalid sync: %v", err)
		}
		if cs, _ := e.Get(a.ID); cs.Check.Desc != "changed" {
			t.Fatal("invalid sync applied something")
		}
	})
}

// The check's UUID is its ping secret: the engine's logs name a check by
// its name and unique key, never by the UUID.
func TestLogsDoNotLeakPingSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var buf testenv.LogBuffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		e := start(t, memstore.New(memstore.Options{}), watchdog.Options{Logger: log})
		c, err := e.Create(ctx, pushCheck("backup"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute) // missed: flips down
		synctest.Wait()
		out := buf.String()
		if !strings.Contains(out, "check flipped") || !strings.Contains(out, model.UniqueKey(c.ID)) {
			t.Fatalf("no flip logged with the unique key:\n%s", out)
		}
		if strings.Contains(out, c.ID.Secret()) {
			t.Errorf("the log carries the check's UUID (its ping secret):\n%s", out)
		}
	})
}

// updatePlanner records what the engine gives an UpdatePlanner.
type updatePlanner struct {
	mu        sync.Mutex
	planned   int
	committed []uuid.UUID // flip ids whose update is durable
}

func (p *updatePlanner) Plan(model.Transition) []model.Notification {
	panic("Plan called on an UpdatePlanner")
}

func (p *updatePlanner) PlanUpdate(t model.Transition, u *store.Update) func() {
	p.mu.Lock()
	p.planned++
	p.mu.Unlock()
	u.Policy = &store.PolicyState{CheckID: t.Check.ID, FlipID: t.Flip.ID, Held: true}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.committed = append(p.committed, t.Flip.ID)
	}
}

// An UpdatePlanner's fields are written with the flip, and its committed
// function runs only once the write is durable: never for a failed write.
func TestUpdatePlannerCommittedOnlyWhenDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := memstore.New(memstore.Options{})
		st := &failing{Store: mem}
		p := &updatePlanner{}
		e := start(t, st, watchdog.Options{}, p)
		c, _ := e.Create(ctx, pushCheck("x"))
		st.fail = true
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err == nil {
			t.Fatal("ping succeeded on a failing store")
		}
		if p.planned != 1 || len(p.committed) != 0 {
			t.Fatalf("failed write: planned %d, committed %v", p.planned, p.committed)
		}
		st.fail = false
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
			t.Fatal(err)
		}
		flips, _ := mem.Flips(ctx, c.ID, store.FlipQuery{})
		ps, _ := mem.PolicyStates(ctx)
		if len(flips) != 1 || len(p.committed) != 1 || p.committed[0] != flips[0].ID || len(ps) != 1 || ps[0].FlipID != flips[0].ID {
			t.Fatalf("flips %+v, committed %v, policy states %+v", flips, p.committed, ps)
		}
	})
}

// ObserveDeadline hears each deadline whose flip committed, with the
// deadline and the time of the commit (in a bubble, the same instant).
func TestObserveDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var mu sync.Mutex
		var seen []time.Duration
		var to []model.Status
		e := start(t, memstore.New(memstore.Options{}), watchdog.Options{ObserveDeadline: func(deadline, committed time.Time, s model.Status) {
			mu.Lock()
			defer mu.Unlock()
			seen, to = append(seen, committed.Sub(deadline)), append(to, s)
		}})
		c, err := e.Create(ctx, pushCheck("backup"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + 30*time.Second + time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != 0 || to[0] != model.StatusDown {
			t.Fatalf("observed %v %v, want one down flip on time", seen, to)
		}
	})
}

// StartWith starts from the checks given (what the store holds), arming
// their deadlines as Start does; a leased engine refuses it.
func TestStartWith(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		first := start(t, st, watchdog.Options{})
		c, err := first.Create(ctx, pushCheck("backup"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
		first.Close()
		all, err := st.ListChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e := watchdog.New(st, watchdog.Options{})
		if err := e.StartWith(ctx, all); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if cs, ok := e.Get(c.ID); !ok || cs.State.NPings != 1 || e.PendingDeadlines() != 1 {
			t.Fatalf("after StartWith: %+v %v, %d deadlines", cs.State, ok, e.PendingDeadlines())
		}
		if err := watchdog.New(st, watchdog.Options{Leased: true}).StartWith(ctx, all); err == nil {
			t.Fatal("a leased engine started from a list")
		}
	})
}
