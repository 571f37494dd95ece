package outbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// arrivals records when each check's first event reached a point.
type arrivals struct {
	mu   sync.Mutex
	at   map[model.CheckID]time.Time
	want int
	done chan struct{}
}

func newArrivals(n int) *arrivals {
	return &arrivals{at: map[model.CheckID]time.Time{}, want: n, done: make(chan struct{})}
}

func (a *arrivals) add(id model.CheckID, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.at[id]; ok {
		return
	}
	a.at[id] = t
	if len(a.at) == a.want {
		close(a.done)
	}
}

func percentiles(b *testing.B, prefix string, at map[model.CheckID]time.Time, deadlines map[model.CheckID]time.Time) {
	var late []time.Duration
	for id, d := range deadlines {
		late = append(late, at[id].Sub(d))
	}
	slices.Sort(late)
	b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds())/1000, prefix+"p99-ms")
	b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, prefix+"max-ms")
}

// BenchmarkDeadlineToWebhook: 1000 push checks on the SQLite store (durable
// writes), deadlines staggered over 10 s, each routed to a webhook on a
// real loopback HTTP receiver through the outbox. Reported, in real time,
// from each check's deadline: when its down flip was committed and
// published (flip-*, the engine alone: the baseline of the same run), and
// when the receiver got the alert (hook-*: + outbox row in the flip's
// transaction, dispatcher wake-up, outbox read, HTTP POST).
//
//	go test -run '^$' -bench DeadlineToWebhook -benchtime 1x ./internal/actions/
func BenchmarkDeadlineToWebhook(b *testing.B) {
	for range b.N {
		const n = 1000
		hooks := newArrivals(n)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			var m struct {
				CheckID model.CheckID `json:"check_id"`
			}
			body, _ := io.ReadAll(r.Body)
			if json.Unmarshal(body, &m) == nil {
				hooks.add(m.CheckID, now)
			}
		}))
		wh, _ := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL}, nil)
		deadlines, flips := deadlineRun(b, n, notify.Channels{"ops": wh}, nil, map[string]*arrivals{"ops": hooks})
		srv.Close()
		percentiles(b, "flip-", flips.at, deadlines)
		percentiles(b, "hook-", hooks.at, deadlines)
	}
}

// deadlineRun is the run of the deadline benchmarks: n push checks on the
// SQLite store, period 2 s + i×10 ms and grace 1 s (deadlines from ~3 s to
// ~13 s), each check's down routed to every channel of ch, through a
// planner and a dispatcher wired as the daemon wires them. created is told
// of each check before its first ping (may be nil). It returns when every
// arrivals of got is complete (at most 90 s), with each check's deadline
// and when its down flip was published.
func deadlineRun(b *testing.B, n int, ch notify.Channels, created func(model.Check), got map[string]*arrivals) (map[model.CheckID]time.Time, *arrivals) {
	flips := newArrivals(n)
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "d.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	disp := NewDispatcher(st, ch, DispatcherOptions{Logger: quiet})
	e := hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{NewPlanner(PlannerOptions{Logger: quiet})},
		model.ListenerFunc(func(t model.Transition) {
			if t.Flip.To == model.StatusDown {
				flips.add(t.Check.ID, time.Now())
			}
		}),
		disp,
	)
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	disp.Start(ctx)
	deadlines := staggeredChecks(b, e, n, ch.Names(), created)
	for name, a := range got {
		awaitArrivals(b, a, name+" alerts")
	}
	disp.Stop()
	e.Close()
	st.Close()
	return deadlines, flips
}

// BenchmarkOutage: 1000 alerts pending while the webhook receiver refuses
// connections, on the SQLite store, for 3 s of real time (default backoff:
// 1 s, 2 s … with 20% jitter). Reported per second: outbox reads (scans)
// and delivery attempts — what a receiver outage costs the watchdog.
//
//	go test -run '^$' -bench Outage -benchtime 1x ./internal/actions/
func BenchmarkOutage(b *testing.B) {
	for range b.N {
		const n = 1000
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // connection refused from now on
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "o.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		wh, _ := notify.NewWebhook(notify.WebhookConfig{URL: url}, nil)
		disp := NewDispatcher(st, notify.Channels{"ops": wh}, DispatcherOptions{Logger: quiet})
		e := hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{NewPlanner(PlannerOptions{Logger: quiet})})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			c := routed(i, model.Routes{Down: []string{"ops"}})
			e.Create(ctx, c)
			e.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		}
		b.ResetTimer()
		start := time.Now()
		disp.Start(ctx)
		time.Sleep(3 * time.Second)
		disp.Stop()
		elapsed := time.Since(start).Seconds()
		b.StopTimer()
		s := disp.Stats()
		b.ReportMetric(float64(s.Scans)/elapsed, "scans/s")
		b.ReportMetric(float64(s.Attempts)/elapsed, "attempts/s")
		e.Close()
		st.Close()
		if s.Delivered != 0 || s.Attempts < n {
			b.Fatalf("stats %+v", s)
		}
	}
}
