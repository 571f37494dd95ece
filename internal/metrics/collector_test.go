package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
)

// fixed is a Source with given checks.
type fixed struct {
	checks  []model.CheckState
	pending int
}

func (f fixed) Refs() ([]model.CheckRef, uint64) {
	refs := make([]model.CheckRef, len(f.checks))
	for i := range f.checks {
		refs[i] = ref{&f.checks[i]}
	}
	return refs, 0
}
func (f fixed) PendingDeadlines() int { return f.pending }

// ref is a model.CheckRef to a fixed snapshot.
type ref struct{ cs *model.CheckState }

func (r ref) Load() *model.CheckState { return r.cs }
func (r ref) Brief() model.Brief      { return model.PackBrief(&r.cs.State) }

var (
	t0    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	idA   = model.CheckID(uuid.MustParse("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"))
	idB   = model.CheckID(uuid.MustParse("0e2d1f6a-1c1b-4f3e-9d36-2f0f8b7c9a11"))
	idC   = model.CheckID(uuid.MustParse("9a1d6f0e-7a7b-4c1c-8d3e-5f2a1b0c9d88"))
	ukeyA = metrics.UniqueKey(idA)
	ukeyB = metrics.UniqueKey(idB)
	ukeyC = metrics.UniqueKey(idC)
)

func threeChecks() fixed {
	return fixed{pending: 1, checks: []model.CheckState{
		{
			Check: model.Check{ID: idA, Name: "backup", Kind: model.KindPush},
			State: model.State{CheckID: idA, Status: model.StatusUp, Underlying: model.StatusUp,
				LastPing: t0.Add(-time.Minute), LastSuccess: t0.Add(-time.Minute), LastDuration: 1500 * time.Millisecond,
				Due: t0.Add(time.Hour), Deadline: t0.Add(2 * time.Hour), NPings: 42, NFlips: 1},
		},
		{
			Check: model.Check{ID: idB, Name: "web", Kind: model.KindPull},
			State: model.State{CheckID: idB, Status: model.StatusDown, Underlying: model.StatusDown,
				LastPing: t0.Add(-10 * time.Second), LastSuccess: t0.Add(-time.Hour), LastDuration: 250 * time.Millisecond,
				NPings: 0, NFlips: 3},
		},
		{
			Check: model.Check{ID: idC, Name: "new job", Kind: model.KindPush},
			State: model.State{CheckID: idC, Status: model.StatusPaused, Underlying: model.StatusNew},
		},
	}}
}

// TestExposition pins the exact series of three checks.
func TestExposition(t *testing.T) {
	c := metrics.New(threeChecks(), metrics.Options{Now: func() time.Time { return t0 }})
	r := strings.NewReplacer("UA", ukeyA, "UB", ukeyB, "UC", ukeyC)
	want := r.Replace(`
# HELP vitals_check_up Whether the check is up (1) or not (0: new, down, flapping or paused; the status label says which).
# TYPE vitals_check_up gauge
vitals_check_up{check="backup",kind="push",status="up",unique_key="UA"} 1
vitals_check_up{check="new job",kind="push",status="paused",unique_key="UC"} 0
vitals_check_up{check="web",kind="pull",status="down",unique_key="UB"} 0
# HELP vitals_check_last_ping_timestamp_seconds Unix time of the check's last ping (push) or probe result (pull).
# TYPE vitals_check_last_ping_timestamp_seconds gauge
vitals_check_last_ping_timestamp_seconds{check="backup",unique_key="UA"} 1.79534874e+09
vitals_check_last_ping_timestamp_seconds{check="web",unique_key="UB"} 1.79534879e+09
# HELP vitals_check_last_success_timestamp_seconds Unix time of the check's last success.
# TYPE vitals_check_last_success_timestamp_seconds gauge
vitals_check_last_success_timestamp_seconds{check="backup",unique_key="UA"} 1.79534874e+09
vitals_check_last_success_timestamp_seconds{check="web",unique_key="UB"} 1.7953452e+09
# HELP vitals_check_last_duration_seconds Run time of the check's last finished run (push) or duration of its last probe (pull).
# TYPE vitals_check_last_duration_seconds gauge
vitals_check_last_duration_seconds{check="backup",unique_key="UA"} 1.5
vitals_check_last_duration_seconds{check="web",unique_key="UB"} 0.25
# HELP vitals_check_deadline_timestamp_seconds Unix time at which the check goes down unless it is pinged.
# TYPE vitals_check_deadline_timestamp_seconds gauge
vitals_check_deadline_timestamp_seconds{check="backup",unique_key="UA"} 1.795356e+09
# HELP vitals_check_pings_total Pings received by the check.
# TYPE vitals_check_pings_total counter
vitals_check_pings_total{check="backup",unique_key="UA"} 42
vitals_check_pings_total{check="new job",unique_key="UC"} 0
vitals_check_pings_total{check="web",unique_key="UB"} 0
# HELP vitals_check_flips_total Status changes of the check.
# TYPE vitals_check_flips_total counter
vitals_check_flips_total{check="backup",unique_key="UA"} 1
vitals_check_flips_total{check="new job",unique_key="UC"} 0
vitals_check_flips_total{check="web",unique_key="UB"} 3
# HELP vitals_deadlines_pending Deadline timers armed in the engine.
# TYPE vitals_deadlines_pending gauge
vitals_deadlines_pending 1
`)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"vitals_check_up", "vitals_check_last_ping_timestamp_seconds", "vitals_check_last_success_timestamp_seconds",
		"vitals_check_last_duration_seconds", "vitals_check_deadline_timestamp_seconds", "vitals_check_pings_total",
		"vitals_check_flips_total", "vitals_deadlines_pending"); err != nil {
		t.Error(err)
	}
	// The per-status counts: one line per kind and status, three of them 1.
	var sb strings.Builder
	sb.WriteString("# HELP vitals_checks Number of checks by kind and displayed status.\n# TYPE vitals_checks gauge\n")
	for _, k := range []string{"pull", "push"} {
		for _, s := range []string{"down", "flapping", "grace", "new", "paused", "started", "up"} {
			v := 0
			if k == "push" && (s == "up" || s == "paused") || k == "pull" && s == "down" {
				v = 1
			}
			sb.WriteString(`vitals_checks{kind="` + k + `",status="` + s + `"} ` + string(rune('0'+v)) + "\n")
		}
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(sb.String()), "vitals_checks"); err != nil {
		t.Error(err)
	}
}

// TestDisplayStatus: grace and started are shown in the status label, and
// a check in grace is still up.
func TestDisplayStatus(t *testing.T) {
	src := threeChecks()
	src.checks = src.checks[:1]
	now := t0.Add(90 * time.Minute) // past Due, before Deadline
	c := metrics.New(src, metrics.Options{Now: func() time.Time { return now }})
	want := strings.ReplaceAll(`
# HELP vitals_check_up Whether the check is up (1) or not (0: new, down, flapping or paused; the status label says which).
# TYPE vitals_check_up gauge
vitals_check_up{check="backup",kind="push",status="grace",unique_key="UA"} 1
`, "UA", ukeyA)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "vitals_check_up"); err != nil {
		t.Error(err)
	}
}

func TestLint(t *testing.T) {
	rec := metrics.NewRecorder(metrics.RecorderOptions{})
	c := metrics.New(threeChecks(), metrics.Options{Recorder: rec})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// Registered together, nothing collides and every series is consistent.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestOddNames: names with quotes, newlines or invalid UTF-8 never fail
// a scrape, and two checks with one name are two series.
func TestOddNames(t *testing.T) {
	src := fixed{checks: []model.CheckState{
		{Check: model.Check{ID: idA, Name: "a\"b\nc\xff", Kind: model.KindPush}, State: model.State{Status: model.StatusNew}},
		{Check: model.Check{ID: idB, Name: "same", Kind: model.KindPush}, State: model.State{Status: model.StatusNew}},
		{Check: model.Check{ID: idC, Name: "same", Kind: model.KindPush}, State: model.State{Status: model.StatusNew}},
	}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.New(src, metrics.Options{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "vitals_check_up" && len(mf.Metric) != 3 {
			t.Errorf("%d up series", len(mf.Metric))
		}
	}
}
