// Package storetest is the contract every store.Store implementation
// passes: the same scenarios, run over each store (memstore, sqlite, and
// the PostgreSQL store to come), the way testing/slogtest checks any
// slog.Handler.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, storetest.Config{
//			New: func(t *testing.T) func() store.Store {
//				path := filepath.Join(t.TempDir(), "vitals.db")
//				return func() store.Store { s, err := sqlite.Open(path, opts); ...; return s }
//			},
//			Persistent:    true,
//			PingRetention: 5,
//		})
//	}
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Config describes the store under test.
type Config struct {
	// New prepares fresh, empty backing storage for one test and returns
	// a function opening a store over it. With Persistent, each call of
	// the function opens the same storage again (after the previous store
	// was closed); without, it is called once. The suite closes every
	// store it opens.
	New func(t *testing.T) (open func() store.Store)
	// Persistent says the store survives Close and reopen (the restart
	// scenarios run only then).
	Persistent bool
	// PingRetention is the per-check ping retention the store was opened
	// with; it must be between 2 and 50.
	PingRetention int
}

// Run runs every scenario as a subtest.
func Run(t *testing.T, cfg Config) {
	if cfg.PingRetention < 2 || cfg.PingRetention > 50 {
		t.Fatalf("storetest: PingRetention %d out of 2..50", cfg.PingRetention)
	}
	scenarios := []struct {
		name string
		fn   func(t *testing.T, cfg Config)
	}{
		{"CheckCRUD", testCheckCRUD},
		{"ApplyAndHistory", testApplyAndHistory},
		{"PingRetention", testPingRetention},
		{"Outbox", testOutbox},
		{"EnqueueNotifications", testEnqueue},
		{"ProbeWrite", testProbeWrite},
		{"PolicyState", testPolicyState},
		{"Uptime", testUptime},
		{"UptimeAll", testUptimeAll},
		{"ConcurrentApply", testConcurrentApply},
		{"Closed", testClosed},
		{"Reopen", testReopen},
		{"RetireRestorePurge", testRetire},
		{"InstallationSecret", testInstallationSecret},
		{"SecretsNotStored", testSecretsNotStored},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, cfg) })
	}
}

var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func open(t *testing.T, cfg Config) (store.Store, func() store.Store) {
	t.Helper()
	opener := cfg.New(t)
	s := opener()
	t.Cleanup(func() { _ = s.Close() })
	return s, func() store.Store {
		s2 := opener()
		t.Cleanup(func() { _ = s2.Close() })
		return s2
	}
}

// openCapable opens the store for the scenario of an optional capability
// C (named method), skipping the scenario when the store lacks it, and
// creates one sample check in it.
func openCapable[C any](t *testing.T, cfg Config, method string) (store.Store, func() store.Store, C, model.Check) {
	t.Helper()
	s, reopen := open(t, cfg)
	capable, ok := s.(C)
	if !ok {
		t.Skipf("the store has no %s (optional capability)", method)
	}
	c := SampleCheck(1)
	if err := s.CreateCheck(context.Background(), c, sampleState(c.ID)); err != nil {
		t.Fatal(err)
	}
	return s, reopen, capable, c
}

// SampleCheck returns a check with every field set, for round trips.
func SampleCheck(i int) model.Check {
	return model.Check{
		ID:      model.NewCheckID(),
		Name:    fmt.Sprintf("check %d", i),
		Slug:    fmt.Sprintf("check-%d", i),
		PingKey: "key_1",
		Tags:    []string{"prod", "db"},
		Desc:    "nightly backup",
		Kind:    model.KindPush,
		Schedule: model.Schedule{
			Cron: "30 2 * * *", TZ: "Europe/Paris", Grace: 5 * time.Minute,
		},
		MinRunTime:   time.Second,
		Thresholds:   model.Thresholds{Failures: 2, Successes: 3, StartPeriod: time.Minute, FlapChanges: 3, FlapWindow: 10},
		ManualResume: true,
		PostOnly:     true,
		Probe:        []byte(`{"url":"http://127.0.0.1"}`),
		Created:      base,
		Updated:      base.Add(time.Second),
	}
}

func sampleState(id model.CheckID) model.State {
	s := model.NewState(id, base)
	s.Status, s.Underlying = model.StatusUp, model.StatusUp
	s.LastPing = base.Add(time.Minute)
	s.LastSuccess = base.Add(time.Minute)
	s.LastDuration = 1500 * time.Millisecond
	s.LastError = "fail ping"
	s.Runs = []model.Run{{RID: uuid.New(), Started: base.Add(2 * time.Minute)}}
	s.Due = base.Add(time.Hour)
	s.Deadline = base.Add(time.Hour + 5*time.Minute)
	s.ConsecSuccesses = 4
	s.History, s.HistoryLen = 0b1011, 4
	s.NPings, s.NFlips = 7, 2
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// equal compares via JSON, which normalises time zones and nil/empty.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testCheckCRUD(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	st := sampleState(c.ID)
	if err := s.CreateCheck(ctx, c, st); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCheck(ctx, c, st); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate create: %v, want ErrExists", err)
	}
	gc, gs, err := s.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check", gc, c)
	equal(t, "state", gs, st)

	c.Name, c.Tags, c.Schedule = "renamed", nil, model.Schedule{Period: time.Hour, Grace: time.Minute, TZ: "UTC"}
	if err := s.UpdateCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	gc, gs, _ = s.GetCheck(ctx, c.ID)
	equal(t, "updated check", gc, c)
	equal(t, "state kept by update", gs, st)

	missing := SampleCheck(2)
	if err := s.UpdateCheck(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if _, _, err := s.GetCheck(ctx, missing.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.DeleteCheck(ctx, missing.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}

	var ids []model.CheckID
	for i := range 5 {
		c := SampleCheck(10 + i)
		ids = append(ids, c.ID)
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("%d checks listed, want 6", len(all))
	}
	listed := map[model.CheckID]bool{}
	for i := range all {
		listed[all[i].Check.ID] = true
		if i > 0 && bytes.Compare(all[i-1].Check.ID[:], all[i].Check.ID[:]) >= 0 {
			t.Fatal("ListChecks not ordered by id")
		}
	}
	for _, id := range append(ids, c.ID) {
		if !listed[id] {
			t.Fatalf("check %s not listed", id)
		}
	}

	// Delete removes the check and its history.
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &model.Ping{CheckID: c.ID, N: 1, Kind: model.PingSuccess, Time: base}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCheck(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetCheck(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.Pings(ctx, c.ID, store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pings of deleted: %v", err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("apply to deleted: %v", err)
	}
}

func flip(id model.CheckID, from, to model.Status, at time.Time) model.Flip {
	return model.Flip{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: from, To: to, Time: at, Reason: "because " + string(to)}
}

func testApplyAndHistory(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	other := SampleCheck(2)
	if err := s.CreateCheck(ctx, other, model.NewState(other.ID, base)); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte{0, 0xff, 'a'}, 100) // binary bodies survive
	p := model.Ping{CheckID: c.ID, N: 1, Kind: model.PingExitStatus, ExitStatus: 3, RID: uuid.New(),
		Time: base, Duration: 2 * time.Second, Method: "POST", Scheme: "http", RemoteAddr: "127.0.0.1",
		UserAgent: "curl/8", Body: body, BodyTruncated: true}
	st := sampleState(c.ID)
	f1 := flip(c.ID, model.StatusNew, model.StatusUp, base)
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f1}}); err != nil {
		t.Fatal(err)
	}
	_, gs, _ := s.GetCheck(ctx, c.ID)
	equal(t, "state after apply", gs, st)
	pings, err := s.Pings(ctx, c.ID, store.PingQuery{})
	if err != nil || len(pings) != 1 {
		t.Fatalf("pings %v %v", pings, err)
	}
	equal(t, "ping", pings[0], p)

	// A ping-less update (a deadline) keeps the history.
	f2 := flip(c.ID, model.StatusUp, model.StatusDown, base.Add(time.Hour))
	f3 := flip(other.ID, model.StatusNew, model.StatusDown, base.Add(2*time.Hour))
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Flips: []model.Flip{f2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: other.ID, State: model.NewState(other.ID, base), Flips: []model.Flip{f3}}); err != nil {
		t.Fatal(err)
	}
	flips, err := s.Flips(ctx, c.ID, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "flips newest first", flips, []model.Flip{f2, f1})
	flips, _ = s.Flips(ctx, c.ID, store.FlipQuery{Before: f2.Time})
	equal(t, "flips before", flips, []model.Flip{f1})
	flips, _ = s.Flips(ctx, c.ID, store.FlipQuery{Limit: 1})
	equal(t, "flips limit", flips, []model.Flip{f2})
	flips, _ = s.Flips(ctx, model.CheckID{}, store.FlipQuery{})
	equal(t, "all flips", flips, []model.Flip{f3, f2, f1})
	if _, err := s.Flips(ctx, model.NewCheckID(), store.FlipQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("flips of unknown check: %v", err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: model.NewCheckID(), State: st}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("apply to unknown: %v", err)
	}
}

func testPingRetention(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	total := cfg.PingRetention + 7
	for n := 1; n <= total; n++ {
		st := model.NewState(c.ID, base)
		st.NPings = int64(n)
		p := model.Ping{CheckID: c.ID, N: int64(n), Kind: model.PingLog, ExitStatus: -1, Time: base.Add(time.Duration(n) * time.Second)}
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p}); err != nil {
			t.Fatal(err)
		}
	}
	pings, err := s.Pings(ctx, c.ID, store.PingQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(pings) != cfg.PingRetention || pings[0].N != int64(total) || pings[len(pings)-1].N != int64(total-cfg.PingRetention+1) {
		t.Fatalf("kept %d pings (first N %d), want the newest %d of %d", len(pings), pings[0].N, cfg.PingRetention, total)
	}
	page, _ := s.Pings(ctx, c.ID, store.PingQuery{Limit: 2, Before: int64(total)})
	if len(page) != 2 || page[0].N != int64(total-1) || page[1].N != int64(total-2) {
		t.Fatalf("page: %+v", page)
	}
}

func testOutbox(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	f := flip(c.ID, model.StatusUp, model.StatusDown, base)
	mk := func(channel string, next time.Time) model.Notification {
		return model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: channel,
			Payload: json.RawMessage(`{"to":"down"}`), State: model.NotificationPending, NextAttempt: next, Created: base}
	}
	n1, n2 := mk("webhook:ops", base), mk("slack:team", base.Add(time.Minute))
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Flips: []model.Flip{f}, Notifications: []model.Notification{n1, n2}}); err != nil {
		t.Fatal(err)
	}
	// The same (flip, channel) again is skipped, not an error.
	dup := mk("webhook:ops", base)
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Notifications: []model.Notification{dup}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Notifications(ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "outbox", all, []model.Notification{n1, n2})
	due, _ := s.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending, DueBefore: base.Add(time.Second)})
	equal(t, "due", due, []model.Notification{n1})

	d := n1
	d.State, d.Attempts, d.Delivered = model.NotificationDelivered, 1, base.Add(time.Second)
	if ok, err := s.UpdateNotification(ctx, d, model.NotificationPending); err != nil || !ok {
		t.Fatalf("mark delivered: %v %v", ok, err)
	}
	if ok, err := s.UpdateNotification(ctx, d, model.NotificationPending); err != nil || ok {
		t.Fatalf("second CAS must fail: %v %v", ok, err)
	}
	if _, err := s.UpdateNotification(ctx, mk("x", base), model.NotificationPending); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	pending, _ := s.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending})
	equal(t, "pending after delivery", pending, []model.Notification{n2})
	byCheck, _ := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID, Limit: 1})
	equal(t, "by check, limit", byCheck, []model.Notification{d})
}

func testUptime(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	inc := model.SplitDays(c.ID, model.StatusUp, day.Add(12*time.Hour), day.Add(30*time.Hour))
	inc = append(inc, model.SplitDays(c.ID, model.StatusDown, day.Add(30*time.Hour), day.Add(31*time.Hour))...)
	for _, u := range [][]model.UptimeDay{inc[:1], inc[1:]} {
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Uptime: u}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Uptime(ctx, c.ID, day.AddDate(0, 0, -90), day.AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.UptimeDay{
		{CheckID: c.ID, Day: day, Up: 12 * time.Hour, Total: 12 * time.Hour},
		{CheckID: c.ID, Day: day.AddDate(0, 0, 1), Up: 6 * time.Hour, Total: 7 * time.Hour},
	}
	equal(t, "uptime", got, want)
	got, _ = s.Uptime(ctx, c.ID, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2))
	equal(t, "uptime range", got, want[1:])
}

// testUptimeAll: every check's rollups in the window, and only those, in
// one call; an error once the store is closed.
func testUptimeAll(t *testing.T, cfg Config) {
	st, _ := open(t, cfg)
	ctx := context.Background()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	want := map[model.CheckID]int{}
	for i := range 3 {
		id := model.NewCheckID()
		c := model.Check{ID: id, Name: "c", Kind: model.KindPush}.WithDefaults()
		if err := st.CreateCheck(ctx, c, model.NewState(id, day)); err != nil {
			t.Fatal(err)
		}
		var days []model.UptimeDay
		for d := -1; d <= i+1; d++ { // day -1 and day 3 are outside [day, day+3)
			days = append(days, model.UptimeDay{CheckID: id, Day: day.AddDate(0, 0, d), Up: time.Hour, Total: 2 * time.Hour})
		}
		if err := st.Apply(ctx, store.Update{CheckID: id, State: model.NewState(id, day), Uptime: days}); err != nil {
			t.Fatal(err)
		}
		want[id] = min(i+2, 3)
	}
	var got []model.UptimeDay
	if err := st.UptimeAll(ctx, day, day.AddDate(0, 0, 3), func(d model.UptimeDay) { got = append(got, d) }); err != nil {
		t.Fatal(err)
	}
	n := map[model.CheckID]int{}
	for _, d := range got {
		if d.Day.Before(day) || !d.Day.Before(day.AddDate(0, 0, 3)) || d.Up != time.Hour || d.Total != 2*time.Hour {
			t.Errorf("row %+v", d)
		}
		n[d.CheckID]++
	}
	for id, w := range want {
		if n[id] != w {
			t.Errorf("check %s: %d days, want %d", id, n[id], w)
		}
	}
	st.Close()
	if err := st.UptimeAll(ctx, day, day, func(model.UptimeDay) {}); err == nil {
		t.Error("UptimeAll on a closed store: no error")
	}
}

func testConcurrentApply(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	const checks, perCheck = 20, 25
	ids := make([]model.CheckID, checks)
	for i := range ids {
		c := SampleCheck(i)
		ids[i] = c.ID
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, checks)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= perCheck; n++ {
				st := model.NewState(id, base)
				st.NPings = int64(n)
				p := model.Ping{CheckID: id, N: int64(n), Kind: model.PingSuccess, ExitStatus: -1, Time: base}
				f := flip(id, model.StatusUp, model.StatusDown, base.Add(time.Duration(n)*time.Second))
				if err := s.Apply(ctx, store.Update{CheckID: id, State: st, Ping: &p, Flips: []model.Flip{f}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range ids {
		_, st, err := s.GetCheck(ctx, id)
		if err != nil || st.NPings != perCheck {
			t.Fatalf("check %s: NPings %d (%v), want %d", id, st.NPings, err, perCheck)
		}
		flips, _ := s.Flips(ctx, id, store.FlipQuery{Limit: 1000})
		if len(flips) != perCheck {
			t.Fatalf("%d flips, want %d", len(flips), perCheck)
		}
	}
}

func testClosed(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.GetCheck(cctx, c.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base)}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	if _, err := s.ListChecks(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("list after close: %v", err)
	}
}

func testReopen(t *testing.T, cfg Config) {
	if !cfg.Persistent {
		t.Skip("store is not persistent")
	}
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c := SampleCheck(1)
	st := sampleState(c.ID)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	p := model.Ping{CheckID: c.ID, N: 7, Kind: model.PingSuccess, ExitStatus: -1, Time: base, Body: []byte("hi")}
	f := flip(c.ID, model.StatusNew, model.StatusUp, base)
	n := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: "webhook:x",
		State: model.NotificationPending, NextAttempt: base, Created: base}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f}, Notifications: []model.Notification{n}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := reopen()
	gc, gs, err := s2.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check after reopen", gc, c)
	equal(t, "state (with deadline) after reopen", gs, st)
	pings, _ := s2.Pings(ctx, c.ID, store.PingQuery{})
	equal(t, "pings after reopen", pings, []model.Ping{p})
	flips, _ := s2.Flips(ctx, c.ID, store.FlipQuery{})
	equal(t, "flips after reopen", flips, []model.Flip{f})
	outbox, _ := s2.Notifications(ctx, store.NotificationQuery{})
	equal(t, "outbox after reopen", outbox, []model.Notification{n})
}

// testSecretsNotStored: a check's Secrets are never stored: CreateCheck
// and UpdateCheck keep its Redacted form, which GetCheck and ListChecks
// return (after a reopen too).
func testSecretsNotStored(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c := SampleCheck(1)
	c.Desc = "backup with s3cr3t-one"
	c.Probe = []byte(`{"header":{"Authorization":"Bearer s3cr3t-one"},"url":"http://127.0.0.1/?token=s3cr3t-two"}`)
	c.Secrets = []model.Secret{{Name: "ONE", Value: "s3cr3t-one"}, {Name: "TWO", Value: "s3cr3t-two"}}
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	want := c.Redacted()
	if !strings.Contains(string(want.Probe), "${TWO}") {
		t.Fatalf("Redacted: %s", want.Probe)
	}
	got, _, err := s.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "created check", got, want)
	c.Desc = "now s3cr3t-two"
	if err := s.UpdateCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	want = c.Redacted()
	all, err := s.ListChecks(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("%d checks, %v", len(all), err)
	}
	equal(t, "updated check", all[0].Check, want)
	if all[0].Check.Secrets != nil || strings.Contains(mustJSON(all[0].Check), "s3cr3t") {
		t.Fatalf("a secret was stored: %+v", all[0].Check)
	}
	if !cfg.Persistent {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err = reopen().GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check after reopen", got, want)
}

// testInstallationSecret: the secret is InstallationSecretLen bytes, the
// same on every call (concurrent first calls included) and after a
// reopen, and another store's differs.
func testInstallationSecret(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			b, err := s.InstallationSecret(ctx)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	first := got[0]
	if len(first) != store.InstallationSecretLen || bytes.Equal(first, make([]byte, store.InstallationSecretLen)) {
		t.Fatalf("secret %x: want %d random bytes", first, store.InstallationSecretLen)
	}
	for _, b := range got {
		if !bytes.Equal(b, first) {
			t.Fatalf("concurrent first calls disagree: %x and %x", b, first)
		}
	}
	if again, err := s.InstallationSecret(ctx); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second call: %x, %v", again, err)
	}
	other, _ := open(t, cfg)
	if b, err := other.InstallationSecret(ctx); err != nil || bytes.Equal(b, first) {
		t.Fatalf("another store's secret: %x, %v (must differ)", b, err)
	}
	if !cfg.Persistent {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := reopen().InstallationSecret(ctx); err != nil || !bytes.Equal(b, first) {
		t.Fatalf("after reopen: %x, %v; want %x", b, err, first)
	}
	if _, err := s.InstallationSecret(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("closed store: %v, want ErrClosed", err)
	}
}

// testEnqueue: rows enqueued without a flip are kept like any other outbox
// row, a row repeated is skipped, and with a persistent store they survive
// a reopen.
func testEnqueue(t *testing.T, cfg Config) {
	s, reopen := open(t, cfg)
	ctx := context.Background()
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, sampleState(c.ID)); err != nil {
		t.Fatal(err)
	}
	row := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: uuid.New(), CheckID: c.ID, Channel: "webhook:ops",
		Payload: json.RawMessage(`{"event":"gave_up"}`), State: model.NotificationPending, NextAttempt: base, Created: base}
	if err := s.EnqueueNotifications(ctx, []model.Notification{row}); err != nil {
		t.Fatal(err)
	}
	dup := row
	dup.ID = uuid.Must(uuid.NewV7())
	if err := s.EnqueueNotifications(ctx, []model.Notification{dup}); err != nil {
		t.Fatal(err)
	}
	check := func(s store.Store) {
		t.Helper()
		got, err := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != row.ID || string(got[0].Payload) != `{"event":"gave_up"}` {
			t.Fatalf("outbox %+v, want the one enqueued row", got)
		}
	}
	check(s)
	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		check(reopen())
	}
}

// testRetire: a retired check leaves the live set (ListChecks, GetCheck,
// Apply) but keeps its whole history, across a reopen; RestoreCheck brings
// it back with that history, its state and a new definition; PurgeRetired
// deletes only the checks retired before its cutoff, history included.
func testRetire(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c, other := SampleCheck(1), SampleCheck(2)
	for _, x := range []model.Check{c, other} {
		if err := s.CreateCheck(ctx, x, model.NewState(x.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	st := sampleState(c.ID)
	p := model.Ping{CheckID: c.ID, N: 1, Kind: model.PingSuccess, ExitStatus: -1, Time: base, Body: []byte("ok")}
	f := flip(c.ID, model.StatusNew, model.StatusUp, base)
	n := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: "webhook:x",
		State: model.NotificationPending, NextAttempt: base, Created: base}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	up := []model.UptimeDay{{CheckID: c.ID, Day: day, Up: time.Hour, Total: time.Hour}}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f},
		Notifications: []model.Notification{n}, Uptime: up}); err != nil {
		t.Fatal(err)
	}
	retiredAt := base.Add(time.Hour)
	if err := s.RetireCheck(ctx, c.ID, retiredAt); err != nil {
		t.Fatal(err)
	}
	history := func(s store.Store, what string) {
		t.Helper()
		pings, err := s.Pings(ctx, c.ID, store.PingQuery{})
		if err != nil {
			t.Fatalf("%s: pings: %v", what, err)
		}
		equal(t, what+": pings", pings, []model.Ping{p})
		flips, _ := s.Flips(ctx, c.ID, store.FlipQuery{})
		equal(t, what+": flips", flips, []model.Flip{f})
		outbox, _ := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		equal(t, what+": outbox", outbox, []model.Notification{n})
		got, _ := s.Uptime(ctx, c.ID, day, day.AddDate(0, 0, 1))
		equal(t, what+": uptime", got, up)
	}
	isRetired := func(s store.Store, what string) {
		t.Helper()
		if _, _, err := s.GetCheck(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: get a retired check: %v, want ErrNotFound", what, err)
		}
		all, err := s.ListChecks(ctx)
		if err != nil || len(all) != 1 || all[0].Check.ID != other.ID {
			t.Fatalf("%s: ListChecks = %d checks (%v), want only the live one", what, len(all), err)
		}
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: apply to a retired check: %v, want ErrNotFound", what, err)
		}
		if err := s.UpdateCheck(ctx, c); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: update a retired check: %v, want ErrNotFound", what, err)
		}
		if err := s.RetireCheck(ctx, c.ID, retiredAt); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: retire twice: %v, want ErrNotFound", what, err)
		}
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); !errors.Is(err, store.ErrExists) {
			t.Fatalf("%s: create over a retired check: %v, want ErrExists", what, err)
		}
		rs, err := s.RetiredChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, what+": retired checks", rs, []store.RetiredCheck{{Check: c, Retired: retiredAt}})
		history(s, what)
	}
	isRetired(s, "retired")
	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		isRetired(s, "retired, after a reopen")
	}
	if err := s.RetireCheck(ctx, model.NewCheckID(), retiredAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retire unknown: %v, want ErrNotFound", err)
	}
	if _, _, err := s.RestoreCheck(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("restore a live check: %v, want ErrNotFound", err)
	}

	// Restore with a changed definition: Created kept, state and history back.
	changed := c
	changed.Desc, changed.Created, changed.Updated = "restored", base.Add(time.Minute), base.Add(2*time.Hour)
	gc, gs, err := s.RestoreCheck(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	want := changed
	want.Created = c.Created
	equal(t, "restored check", gc, want)
	equal(t, "restored state", gs, st)
	if gc, gs, err := s.GetCheck(ctx, c.ID); err != nil {
		t.Fatal(err)
	} else {
		equal(t, "restored check, read back", gc, want)
		equal(t, "restored state, read back", gs, st)
	}
	history(s, "restored")
	if rs, _ := s.RetiredChecks(ctx); len(rs) != 0 {
		t.Fatalf("%d retired checks after the restore", len(rs))
	}
	p2 := model.Ping{CheckID: c.ID, N: 2, Kind: model.PingSuccess, ExitStatus: -1, Time: base.Add(3 * time.Hour), Body: []byte{}}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p2}); err != nil {
		t.Fatalf("apply to a restored check: %v", err)
	}

	// Purge: only what was retired before the cutoff.
	if err := s.RetireCheck(ctx, c.ID, retiredAt); err != nil {
		t.Fatal(err)
	}
	if err := s.RetireCheck(ctx, other.ID, retiredAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	gone, err := s.PurgeRetired(ctx, retiredAt)
	if err != nil || len(gone) != 0 {
		t.Fatalf("purge before any retirement: %v %v", gone, err)
	}
	gone, err = s.PurgeRetired(ctx, retiredAt.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "purged", gone, []store.RetiredCheck{{Check: want, Retired: retiredAt}})
	if _, err := s.Pings(ctx, c.ID, store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pings of a purged check: %v, want ErrNotFound", err)
	}
	if fl, _ := s.Flips(ctx, model.CheckID{}, store.FlipQuery{}); len(fl) != 0 {
		t.Fatalf("flips of a purged check remain: %v", fl)
	}
	if rows, _ := s.Notifications(ctx, store.NotificationQuery{}); len(rows) != 0 {
		t.Fatalf("outbox rows of a purged check remain: %v", rows)
	}
	if _, _, err := s.RestoreCheck(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("restore a purged check: %v, want ErrNotFound", err)
	}
	if rs, _ := s.RetiredChecks(ctx); len(rs) != 1 || rs[0].Check.ID != other.ID {
		t.Fatalf("retired after the purge: %v, want the other check", rs)
	}
	// A check created again with a purged id starts afresh.
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatalf("create with a purged id: %v", err)
	}
	if pings, _ := s.Pings(ctx, c.ID, store.PingQuery{}); len(pings) != 0 {
		t.Fatalf("a purged check's pings came back: %v", pings)
	}
}

// WriteProber is the optional capability of a store to prove, cheaply, that
// a write can be made durable now (readiness asks it, so that a full disk
// takes the watchdog out of rotation).
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// testProbeWrite: the probe succeeds on an open store, again and again,
// leaves the checks as they were (across a reopen too), and fails once
// the store is closed or the context done. Stores without the capability
// skip it.
func testProbeWrite(t *testing.T, cfg Config) {
	s, reopen, p, c := openCapable[WriteProber](t, cfg, "ProbeWrite")
	ctx := context.Background()
	for range 3 {
		if err := p.ProbeWrite(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.ProbeWrite(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProbeWrite(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("probe after close: %v", err)
	}
	if !cfg.Persistent {
		return
	}
	s2 := reopen()
	all, err := s2.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Check.ID != c.ID {
		t.Fatalf("checks after probes and a reopen: %+v", all)
	}
	if err := s2.(WriteProber).ProbeWrite(ctx); err != nil {
		t.Fatalf("probe after reopen: %v", err)
	}
}

// testPolicyState: the alert policy's memory is written with a flip
// (Update.Policy), replaced by the next one, changed outside a flip only
// while it is still about the same flip (compare-and-set), kept across a
// reopen, and deleted with its check.
func testPolicyState(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	a, b := SampleCheck(1), SampleCheck(2)
	for _, c := range []model.Check{a, b} {
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.PolicyStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("policy states of a new store: %v %v", got, err)
	}
	fa := flip(a.ID, model.StatusUp, model.StatusDown, base)
	pa := store.PolicyState{CheckID: a.ID, FlipID: fa.ID, Held: true}
	if err := s.Apply(ctx, store.Update{CheckID: a.ID, State: model.NewState(a.ID, base), Flips: []model.Flip{fa}, Policy: &pa}); err != nil {
		t.Fatal(err)
	}
	fb := flip(b.ID, model.StatusUp, model.StatusDown, base)
	pb := store.PolicyState{CheckID: b.ID, FlipID: fb.ID, Dropped: true}
	if err := s.Apply(ctx, store.Update{CheckID: b.ID, State: model.NewState(b.ID, base), Flips: []model.Flip{fb}, Policy: &pb}); err != nil {
		t.Fatal(err)
	}
	// An update without Policy leaves it alone.
	if err := s.Apply(ctx, store.Update{CheckID: a.ID, State: model.NewState(a.ID, base)}); err != nil {
		t.Fatal(err)
	}
	sorted := func(ps ...store.PolicyState) []store.PolicyState {
		if bytes.Compare(ps[0].CheckID[:], ps[len(ps)-1].CheckID[:]) > 0 {
			ps[0], ps[len(ps)-1] = ps[len(ps)-1], ps[0]
		}
		return ps
	}
	got, err := s.PolicyStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "policy states", got, sorted(pa, pb))

	// Released outside a flip: only while it is about the same flip.
	stale := store.PolicyState{CheckID: a.ID, FlipID: uuid.New()}
	if ok, err := s.UpdatePolicyState(ctx, stale); err != nil || ok {
		t.Fatalf("compare-and-set on another flip: %v %v", ok, err)
	}
	released := store.PolicyState{CheckID: a.ID, FlipID: fa.ID}
	if ok, err := s.UpdatePolicyState(ctx, released); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	if _, err := s.UpdatePolicyState(ctx, store.PolicyState{CheckID: model.NewCheckID(), FlipID: fa.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("policy state of an unknown check: %v", err)
	}
	// The next flip replaces it.
	fb2 := flip(b.ID, model.StatusDown, model.StatusUp, base.Add(time.Minute))
	pb2 := store.PolicyState{CheckID: b.ID, FlipID: fb2.ID}
	if err := s.Apply(ctx, store.Update{CheckID: b.ID, State: model.NewState(b.ID, base), Flips: []model.Flip{fb2}, Policy: &pb2}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.UpdatePolicyState(ctx, pb); err != nil || ok {
		t.Fatalf("a late decision about a replaced flip: %v %v", ok, err)
	}
	got, _ = s.PolicyStates(ctx)
	equal(t, "policy states after release and a new flip", got, sorted(released, pb2))

	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		got, err := s.PolicyStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "policy states after reopen", got, sorted(released, pb2))
	}
	if err := s.DeleteCheck(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.PolicyStates(ctx)
	equal(t, "policy states after deleting a check", got, []store.PolicyState{pb2})
}
