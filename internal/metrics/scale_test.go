package metrics_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// counting is a store.Store that counts every call made to it.
type counting struct {
	st    store.Store
	calls atomic.Int64
}

func (c *counting) n() { c.calls.Add(1) }

func (c *counting) CreateCheck(ctx context.Context, k model.Check, s model.State) error {
	c.n()
	return c.st.CreateCheck(ctx, k, s)
}
func (c *counting) UpdateCheck(ctx context.Context, k model.Check) error {
	c.n()
	return c.st.UpdateCheck(ctx, k)
}
func (c *counting) DeleteCheck(ctx context.Context, id model.CheckID) error {
	c.n()
	return c.st.DeleteCheck(ctx, id)
}
func (c *counting) GetCheck(ctx context.Context, id model.CheckID) (model.Check, model.State, error) {
	c.n()
	return c.st.GetCheck(ctx, id)
}
func (c *counting) ListChecks(ctx context.Context) ([]model.CheckState, error) {
	c.n()
	return c.st.ListChecks(ctx)
}
func (c *counting) RetireCheck(ctx context.Context, id model.CheckID, at time.Time) error {
	c.n()
	return c.st.RetireCheck(ctx, id, at)
}
func (c *counting) RestoreCheck(ctx context.Context, k model.Check) (model.Check, model.State, error) {
	c.n()
	return c.st.RestoreCheck(ctx, k)
}
func (c *counting) RetiredChecks(ctx context.Context) ([]store.RetiredCheck, error) {
	c.n()
	return c.st.RetiredChecks(ctx)
}
func (c *counting) PurgeRetired(ctx context.Context, cutoff time.Time) ([]store.RetiredCheck, error) {
	c.n()
	return c.st.PurgeRetired(ctx, cutoff)
}
func (c *counting) Apply(ctx context.Context, u store.Update) error {
	c.n()
	return c.st.Apply(ctx, u)
}
func (c *counting) Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error) {
	c.n()
	return c.st.Pings(ctx, id, q)
}
func (c *counting) Flips(ctx context.Context, id model.CheckID, q store.FlipQuery) ([]model.Flip, error) {
	c.n()
	return c.st.Flips(ctx, id, q)
}
func (c *counting) Uptime(ctx context.Context, id model.CheckID, from, to time.Time) ([]model.UptimeDay, error) {
	c.n()
	return c.st.Uptime(ctx, id, from, to)
}
func (c *counting) UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error {
	c.n()
	return c.st.UptimeAll(ctx, from, to, fn)
}
func (c *counting) Notifications(ctx context.Context, q store.NotificationQuery) ([]model.Notification, error) {
	c.n()
	return c.st.Notifications(ctx, q)
}
func (c *counting) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	c.n()
	return c.st.UpdateNotification(ctx, n, expect)
}
func (c *counting) EnqueueNotifications(ctx context.Context, rows []model.Notification) error {
	c.n()
	return c.st.EnqueueNotifications(ctx, rows)
}
func (c *counting) PolicyStates(ctx context.Context) ([]store.PolicyState, error) {
	c.n()
	return c.st.PolicyStates(ctx)
}
func (c *counting) UpdatePolicyState(ctx context.Context, s store.PolicyState) (bool, error) {
	c.n()
	return c.st.UpdatePolicyState(ctx, s)
}
func (c *counting) InstallationSecret(ctx context.Context) ([]byte, error) {
	c.n()
	return c.st.InstallationSecret(ctx)
}
func (c *counting) Close() error { return c.st.Close() }

// tagged starts a real engine on SQLite (behind a counting wrapper) with
// checks in three tags: prod (up, up, down), db (up, down), dev (new),
// and one untagged check (up).
func tagged(t *testing.T) (*watchdog.Engine, *sqlite.Store, *counting) {
	t.Helper()
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := &counting{st: sq}
	e := watchdog.New(cs, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); sq.Close() })
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		tags  []string
		pings []model.PingKind
	}{
		{"web", []string{"prod"}, []model.PingKind{model.PingSuccess, model.PingSuccess}},
		{"db-backup", []string{"prod", "db"}, []model.PingKind{model.PingSuccess}},
		{"db-vacuum", []string{"prod", "db"}, []model.PingKind{model.PingSuccess, model.PingFail}},
		{"lint", []string{"dev"}, nil},
		{"loose", nil, []model.PingKind{model.PingSuccess}},
	} {
		k, err := e.Create(ctx, model.Check{Name: c.name, Kind: model.KindPush, Tags: c.tags,
			Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range c.pings {
			if _, err := e.Ping(ctx, k.ID, model.Ping{Kind: p}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e, sq, cs
}

// TestScrapeTouchesNoStore: a scrape of a running engine on SQLite, with
// everything the daemon registers from this package, makes no store call,
// and works the same with the database closed.
func TestScrapeTouchesNoStore(t *testing.T) {
	e, sq, cs := tagged(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(e, metrics.Options{Recorder: metrics.NewRecorder(metrics.RecorderOptions{})}), metrics.SQLite(sq, ""))
	before := cs.calls.Load()
	first, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := cs.calls.Load() - before; n != 0 {
		t.Errorf("a scrape made %d store calls, want 0", n)
	}
	if err := sq.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := testutil.GatherAndCount(reg)
	if err != nil || again != first {
		t.Errorf("scrape with the database closed: %d series, %v; want %d, nil", again, err, first)
	}
}

// TestTagAggregates pins the per-tag series of tagged, and checks that
// OmitPerCheck leaves out every per-check series and nothing else.
func TestTagAggregates(t *testing.T) {
	e, _, _ := tagged(t)
	c := metrics.New(e, metrics.Options{OmitPerCheck: true})
	want := `
# HELP vitals_tag_checks Number of checks with the tag, by displayed status.
# TYPE vitals_tag_checks gauge
vitals_tag_checks{status="down",tag="db"} 1
vitals_tag_checks{status="flapping",tag="db"} 0
vitals_tag_checks{status="grace",tag="db"} 0
vitals_tag_checks{status="new",tag="db"} 0
vitals_tag_checks{status="paused",tag="db"} 0
vitals_tag_checks{status="started",tag="db"} 0
vitals_tag_checks{status="up",tag="db"} 1
vitals_tag_checks{status="down",tag="dev"} 0
vitals_tag_checks{status="flapping",tag="dev"} 0
vitals_tag_checks{status="grace",tag="dev"} 0
vitals_tag_checks{status="new",tag="dev"} 1
vitals_tag_checks{status="paused",tag="dev"} 0
vitals_tag_checks{status="started",tag="dev"} 0
vitals_tag_checks{status="up",tag="dev"} 0
vitals_tag_checks{status="down",tag="prod"} 1
vitals_tag_checks{status="flapping",tag="prod"} 0
vitals_tag_checks{status="grace",tag="prod"} 0
vitals_tag_checks{status="new",tag="prod"} 0
vitals_tag_checks{status="paused",tag="prod"} 0
vitals_tag_checks{status="started",tag="prod"} 0
vitals_tag_checks{status="up",tag="prod"} 2
# HELP vitals_tag_flips_total Status changes of the checks that have the tag now (a sum: it drops when a check leaves the tag).
# TYPE vitals_tag_flips_total counter
vitals_tag_flips_total{tag="db"} 3
vitals_tag_flips_total{tag="dev"} 0
vitals_tag_flips_total{tag="prod"} 4
# HELP vitals_tag_pings_total Pings received by the checks that have the tag now (a sum: it drops when a check leaves the tag).
# TYPE vitals_tag_pings_total counter
vitals_tag_pings_total{tag="db"} 3
vitals_tag_pings_total{tag="dev"} 0
vitals_tag_pings_total{tag="prod"} 5
# HELP vitals_tags_omitted Tags left without vitals_tag_* series, past the collector's tag bound.
# TYPE vitals_tags_omitted gauge
vitals_tags_omitted 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "vitals_tag_checks", "vitals_tag_pings_total", "vitals_tag_flips_total", "vitals_tags_omitted"); err != nil {
		t.Error(err)
	}
	// 14 kind × status totals, 1 pending, 3 tags × 9, 1 omitted: no per-check series.
	if n := testutil.CollectAndCount(c); n != 14+1+27+1 {
		t.Errorf("%d series with OmitPerCheck, want %d", n, 14+1+27+1)
	}
	if n := testutil.CollectAndCount(c, "vitals_check_up"); n != 0 {
		t.Errorf("vitals_check_up with OmitPerCheck: %d series", n)
	}
	// The default keeps them: one vitals_check_up per check.
	if n := testutil.CollectAndCount(metrics.New(e, metrics.Options{}), "vitals_check_up"); n != 5 {
		t.Errorf("vitals_check_up by default: %d series, want 5", n)
	}
}

// TestMaxTags: the first MaxTags tags in byte order get series, the
// others are counted; negative turns per-tag series off.
func TestMaxTags(t *testing.T) {
	e, _, _ := tagged(t)
	c := metrics.New(e, metrics.Options{OmitPerCheck: true, MaxTags: 2})
	if n := testutil.CollectAndCount(c, "vitals_tag_pings_total"); n != 2 {
		t.Errorf("MaxTags 2: %d tags", n)
	}
	want := "# HELP vitals_tags_omitted Tags left without vitals_tag_* series, past the collector's tag bound.\n# TYPE vitals_tags_omitted gauge\nvitals_tags_omitted 1\n"
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "vitals_tags_omitted"); err != nil {
		t.Error(err)
	}
	c = metrics.New(e, metrics.Options{OmitPerCheck: true, MaxTags: -1})
	if n := testutil.CollectAndCount(c, "vitals_tag_checks", "vitals_tags_omitted"); n != 0 {
		t.Errorf("MaxTags -1: %d per-tag series", n)
	}
}
