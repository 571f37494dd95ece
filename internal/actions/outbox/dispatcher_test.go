package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// receiver is a real HTTP webhook receiver on a fixed loopback port that
// can refuse connections (no listener), answer 500, or accept (200). It
// counts each Idempotency-Key it accepted.
type receiver struct {
	addr string

	mu       sync.Mutex
	srv      *http.Server
	done     chan struct{}
	fail     bool
	accepted map[string]int
	refused  atomic.Int64 // 500s answered
}

func newReceiver(t *testing.T) *receiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: l.Addr().String(), accepted: map[string]int{}}
	l.Close() // refusing until up()
	t.Cleanup(r.down)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

// up starts serving; fail makes it answer 500.
func (r *receiver) up(t *testing.T, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
	if r.srv != nil {
		return
	}
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.done = make(chan struct{})
	go func(s *http.Server, done chan struct{}) { defer close(done); s.Serve(l) }(r.srv, r.done)
}

func (r *receiver) down() {
	r.mu.Lock()
	s, done := r.srv, r.done
	r.srv = nil
	r.mu.Unlock()
	if s != nil {
		s.Close()
		<-done
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		r.refused.Add(1)
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	r.accepted[req.Header.Get(notify.HeaderIdempotencyKey)]++
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) counts() (keys, total int, dup []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.accepted {
		keys++
		total += n
		if n > 1 {
			dup = append(dup, k)
		}
	}
	return
}

var quiet = slog.New(slog.DiscardHandler)

// watchdogUnderTest is an engine with the planner and the dispatcher wired
// as the daemon wires them.
type watchdogUnderTest struct {
	st   store.Store
	eng  *watchdog.Engine
	disp *Dispatcher
}

func startWatchdog(t *testing.T, st store.Store, ch notify.Channels, opts DispatcherOptions) *watchdogUnderTest {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	disp := NewDispatcher(st, ch, opts)
	eng := hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{NewPlanner(PlannerOptions{Logger: quiet})}, disp)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := disp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &watchdogUnderTest{st: st, eng: eng, disp: disp}
}

func (w *watchdogUnderTest) stop(t *testing.T) {
	w.disp.Stop()
	if err := w.eng.Close(); err != nil {
		t.Error(err)
	}
	if err := w.st.Close(); err != nil {
		t.Error(err)
	}
}

// The webhook receiver refuses connections, then answers 500, then the
// watchdog restarts (undelivered rows in its SQLite outbox), then the
// receiver accepts: every notification arrives exactly once.
func TestOutboxDeliversOnceThroughOutageAndRestart(t *testing.T) {
	const checks = 40
	path := filepath.Join(t.TempDir(), "vitals.db")
	rcv := newReceiver(t)
	ops := model.Routes{Down: []string{"ops"}, Up: []string{"ops"}}
	wh, err := notify.NewWebhook(notify.WebhookConfig{URL: rcv.url()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := notify.Channels{"ops": wh}
	opts := DispatcherOptions{Backoff: Backoff{Initial: 5 * time.Millisecond, Max: 40 * time.Millisecond}}
	open := func() store.Store {
		st, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	ctx := context.Background()

	w := startWatchdog(t, open(), ch, opts)
	for i := range checks {
		c, err := w.eng.Create(ctx, routed(i, ops))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []model.PingKind{model.PingSuccess, model.PingFail, model.PingSuccess} { // new→up (no alert), down, up
			if _, err := w.eng.Ping(ctx, c.ID, model.Ping{Kind: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const want = checks * 2
	waitUntil(t, "every row tried while refusing", func() bool {
		rows, _ := w.st.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending, Limit: 1000})
		tried := 0
		for _, r := range rows {
			if r.Attempts > 0 {
				tried++
			}
		}
		return tried == want
	})
	rcv.up(t, true) // 500s
	waitUntil(t, "500s answered", func() bool { return rcv.refused.Load() >= want })
	w.stop(t) // the watchdog goes down with everything undelivered
	pending, err := func() ([]model.Notification, error) {
		st := open()
		defer st.Close()
		return st.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending, Limit: 1000})
	}()
	if err != nil || len(pending) != want {
		t.Fatalf("pending rows after stop: %d (%v), want %d", len(pending), err, want)
	}
	for _, p := range pending {
		if p.Attempts < 1 || p.LastError == "" {
			t.Fatalf("row %s: attempts %d, last error %q", p.ID, p.Attempts, p.LastError)
		}
	}

	w = startWatchdog(t, open(), ch, opts) // the checks' routes come back from the store
	defer w.stop(t)
	rcv.up(t, false) // accepts
	waitUntil(t, "every notification delivered", func() bool { k, _, _ := rcv.counts(); return k == want })
	waitUntil(t, "every row marked", func() bool {
		rows, _ := w.st.Notifications(ctx, store.NotificationQuery{State: model.NotificationDelivered, Limit: 1000})
		return len(rows) == want
	})
	keys, total, dup := rcv.counts()
	if keys != want || total != want || len(dup) > 0 {
		t.Fatalf("received %d keys, %d requests, duplicates %v; want %d once each", keys, total, dup, want)
	}
}

// Retries follow the backoff: with no jitter, a row failing three times is
// attempted at +0, +1s, +3s, +7s (delays 1s, 2s, 4s), then delivered once.
func TestDispatcherBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		var mu sync.Mutex
		var at []time.Time
		fail := notify.NotifierFunc(func(ctx context.Context, n notify.Notification) error {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			if len(at) <= 3 {
				return errors.New("receiver down")
			}
			return nil
		})
		delivered := make(chan model.Notification, 1)
		w := startWatchdog(t, st, notify.Channels{"ops": fail}, DispatcherOptions{
			Rand: func() float64 { return 0 },
			OnResult: func(r model.Notification, err error) {
				if err == nil {
					delivered <- r
				}
			},
		})
		defer w.stop(t)
		ctx := context.Background()
		c, _ := w.eng.Create(ctx, routed(0, model.Routes{Down: []string{"ops"}}))
		t0 := time.Now()
		w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		r := <-delivered
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(at) != 4 || r.Attempts != 4 || r.State != model.NotificationDelivered {
			t.Fatalf("attempts %d, row %+v", len(at), r)
		}
		for i, want := range []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second} {
			if got := at[i].Sub(t0); got != want {
				t.Errorf("attempt %d at +%v, want +%v", i+1, got, want)
			}
		}
	})
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{}
	for a, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 100: 5 * time.Minute} {
		if got := b.Delay(a, func() float64 { return 0 }); got != want {
			t.Errorf("Delay(%d) = %v, want %v", a, got, want)
		}
	}
	// Jitter takes at most 20% off by default.
	if got := b.Delay(1, func() float64 { return 0.999999 }); got < 800*time.Millisecond || got > time.Second {
		t.Errorf("jittered Delay(1) = %v", got)
	}
}

// Permanent failures and rows for unknown channels are marked failed at
// once; a notifier that panics is a failed attempt, retried.
func TestDispatcherFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		var panics atomic.Int64
		results := make(chan model.Notification, 10)
		ch := notify.Channels{
			"perm": notify.NotifierFunc(func(context.Context, notify.Notification) error { return notify.Permanent(errors.New("410 gone")) }),
			"panicky": notify.NotifierFunc(func(context.Context, notify.Notification) error {
				if panics.Add(1) == 1 {
					panic("boom")
				}
				return nil
			}),
		}
		w := startWatchdog(t, st, ch, DispatcherOptions{OnResult: func(r model.Notification, _ error) { results <- r }})
		defer w.stop(t)
		ctx := context.Background()
		c, _ := w.eng.Create(ctx, routed(0, model.Routes{Down: []string{"perm", "panicky", "gone"}}))
		w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		got := map[string]model.Notification{}
		for len(got) < 3 || got["panicky"].State != model.NotificationDelivered {
			r := <-results
			got[r.Channel] = r
		}
		if r := got["perm"]; r.State != model.NotificationFailed || r.Attempts != 1 || r.LastError != "410 gone" {
			t.Errorf("perm: %+v", r)
		}
		if r := got["gone"]; r.State != model.NotificationFailed || r.Attempts != 1 ||
			r.LastError != `unknown notifier "gone": the config has no notifier of that name (renamed or removed?); not retried` {
			t.Errorf("gone: %+v", r)
		}
		if r := got["panicky"]; r.Attempts != 2 {
			t.Errorf("panicky: %+v", r)
		}
	})
}

// Stop interrupts an attempt in flight without counting it: the row stays
// pending as it was, and Stop waits for the attempt to return.
func TestDispatcherStopLeavesRowPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		entered := make(chan struct{})
		var returned atomic.Bool
		block := notify.NotifierFunc(func(ctx context.Context, _ notify.Notification) error {
			close(entered)
			<-ctx.Done()
			returned.Store(true)
			return ctx.Err()
		})
		w := startWatchdog(t, st, notify.Channels{"slow": block}, DispatcherOptions{AttemptTimeout: time.Hour})
		ctx := context.Background()
		c, _ := w.eng.Create(ctx, routed(0, model.Routes{Down: []string{"slow"}}))
		w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		<-entered
		w.disp.Stop()
		if !returned.Load() {
			t.Fatal("Stop returned before the attempt")
		}
		rows, _ := st.Notifications(ctx, store.NotificationQuery{})
		if len(rows) != 1 || rows[0].State != model.NotificationPending || rows[0].Attempts != 0 {
			t.Fatalf("rows: %+v", rows)
		}
		w.eng.Close()
		st.Close()
	})
}

func TestRoutesFor(t *testing.T) {
	r := model.Routes{Down: []string{"d"}, Up: []string{"u"}, Flapping: []string{"f"}}
	for _, tc := range []struct {
		from, to model.Status
		want     string
	}{
		{model.StatusUp, model.StatusDown, "d"}, {model.StatusNew, model.StatusDown, "d"},
		{model.StatusDown, model.StatusUp, "u"}, {model.StatusFlapping, model.StatusUp, "u"},
		{model.StatusNew, model.StatusUp, ""}, {model.StatusPaused, model.StatusUp, ""},
		{model.StatusUp, model.StatusFlapping, "f"}, {model.StatusUp, model.StatusPaused, ""},
	} {
		got := r.For(tc.from, tc.to)
		if (tc.want == "" && len(got) != 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
			t.Errorf("%s→%s: %v, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

// A channel whose receiver hangs holds at most PerChannel slots: another
// channel's rows are still delivered.
func TestDispatcherHungChannelDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		hung := notify.NotifierFunc(func(ctx context.Context, _ notify.Notification) error { <-ctx.Done(); return ctx.Err() })
		fast := &recorder{}
		w := startWatchdog(t, st, notify.Channels{"hung": hung, "fast": fast}, DispatcherOptions{Concurrency: 4, AttemptTimeout: time.Hour})
		defer w.stop(t)
		ctx := context.Background()
		for i := range 10 {
			c, _ := w.eng.Create(ctx, routed(i, model.Routes{Down: []string{"hung", "fast"}}))
			w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		}
		time.Sleep(time.Minute) // far less than the attempt timeout
		synctest.Wait()
		if got := len(fast.Sent()); got != 10 {
			t.Fatalf("fast channel got %d of 10 while the other hangs", got)
		}
	})
}
