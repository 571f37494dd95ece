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
	"context"
	"encoding/json"
	"fmt"
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
		{"Leases", testLeases},
		{"Fencing", testFencing},
		{"Feed", testFeed},
		{"Silences", testSilences},
		{"OutboxClaims", testClaims},
		{"OutboxClaimRace", testClaimRace},
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
		Routes:       model.Routes{Down: []string{"ops", "pager"}, Up: []string{"ops"}, Flapping: []string{"chat"}},
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
	s.TZPings = []time.Time{base.Add(-time.Hour), base.Add(time.Minute)}
	s.TZWarning = "the last 4 pings came 2 hours before the schedule in UTC: is the schedule meant for Europe/Berlin? (tz: Europe/Berlin)"
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

func flip(id model.CheckID, from, to model.Status, at time.Time) model.Flip {
	return model.Flip{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: from, To: to, Time: at, Reason: "because " + string(to)}
}
