package actions

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/actions/restart"
	"github.com/vitals-go/vitals/internal/actions/supervise"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The System as the daemon wires it: a check's down flip restarts a
// supervised process through a "process" channel and alerts a webhook; a
// crash-looping supervised process gives up and the webhook hears
// "gave up" once. Real processes, a real HTTP receiver, real time with
// short delays (no duration is asserted).
func TestSystemEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []notify.Notification
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}))
	defer srv.Close()
	sent := func() []notify.Notification {
		mu.Lock()
		defer mu.Unlock()
		return append([]notify.Notification(nil), got...)
	}

	st := memstore.New(memstore.Options{})
	defer st.Close()
	var eng *watchdog.Engine
	sys := NewSystem(st, SystemOptions{Logger: quiet, Status: func(id model.CheckID) (string, model.Status, bool) {
		cs, ok := eng.Get(id)
		return cs.Check.Name, cs.State.Status, ok
	}})
	eng = hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{sys.Planner()}, sys.Dispatcher())
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()

	c := routed(0, model.Routes{Down: []string{"ops", "restart-worker"}})
	fast := restart.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxRestarts: 2, Window: time.Hour}
	cfg := Config{
		Notifiers: map[string]notify.Spec{
			"ops":            &notify.WebhookConfig{URL: srv.URL},
			"restart-worker": &notify.ProcessConfig{Name: "worker"},
		},
		Processes: []supervise.Config{
			{Name: "worker", Command: []string{"sleep", "3600"}, Restart: fast, Alert: []string{"ops"}},
			{Name: "crasher", Command: []string{"sh", "-c", "exit 7"}, Restart: fast, Alert: []string{"ops"}},
		},
	}
	if err := sys.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	worker, _ := sys.Processes().Get("worker")
	waitUntil(t, "worker running", func() bool { return worker.Status().Running })
	eng.Create(ctx, c)
	eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
	waitUntil(t, "worker restarted", func() bool { s := worker.Status(); return s.Starts == 2 && s.Running })
	waitUntil(t, "alerts", func() bool { return len(sent()) == 2 })
	time.Sleep(50 * time.Millisecond) // nothing more may come
	var down, gaveUp int
	for _, n := range sent() {
		switch {
		case n.Event == notify.EventDown && n.CheckID == c.ID:
			down++
		case n.Event == notify.EventGaveUp && n.Check == "process crasher" && strings.Contains(n.Reason, "exit status 7"):
			gaveUp++
		default:
			t.Errorf("unexpected %+v", n)
		}
	}
	if down != 1 || gaveUp != 1 {
		t.Fatalf("down %d, gave up %d: %+v", down, gaveUp, sent())
	}

	// An invalid config changes nothing.
	bad := cfg
	bad.Notifiers = map[string]notify.Spec{"ops": &notify.WebhookConfig{URL: srv.URL}, "restart-worker": &notify.ProcessConfig{Name: "gone"}}
	err := sys.Apply(bad)
	for _, want := range []string{`notifiers.restart-worker: name: no such supervised process "gone"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid config: %v, want %q", err, want)
		}
	}
	if p, _ := sys.Processes().Get("worker"); p != worker {
		t.Error("an invalid config replaced a process")
	}
}

// A check whose deadline passed while the watchdog was down is announced
// when it starts again, provided the actions config is applied before the
// engine starts (the engine fires past deadlines at once).
func TestDownWhileWatchdogWasDownIsAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{}) // survives the "restart": the same store
		defer st.Close()
		c := routed(0, model.Routes{Down: []string{"ops"}})
		c.Schedule = model.Schedule{Period: time.Minute, Grace: time.Minute}
		rec := &recorder{}
		start := func() (*watchdog.Engine, *System) {
			var eng *watchdog.Engine
			sys := NewSystem(st, SystemOptions{Logger: quiet, Status: func(id model.CheckID) (string, model.Status, bool) {
				cs, ok := eng.Get(id)
				return cs.Check.Name, cs.State.Status, ok
			}})
			sys.Registry().Register("recorder", func() notify.Spec { return recorderSpec{rec} })
			spec, err := sys.Registry().Decode("recorder", func(any) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if err := sys.Apply(Config{Notifiers: map[string]notify.Spec{"ops": spec}}); err != nil {
				t.Fatal(err)
			}
			eng = hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{sys.Planner()}, sys.Dispatcher())
			if err := eng.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			sys.Start(context.Background())
			return eng, sys
		}
		eng, sys := start()
		eng.Create(context.Background(), c)
		eng.Ping(context.Background(), c.ID, model.Ping{Kind: model.PingSuccess})
		sys.Stop()
		eng.Close()

		time.Sleep(time.Hour) // the watchdog is down past the deadline
		eng, sys = start()
		defer func() { sys.Stop(); eng.Close() }()
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rec.Sent(); len(got) != 1 || got[0].State != model.StatusDown || got[0].CheckID != c.ID {
			t.Fatalf("after restart sent %+v, want the down alert", got)
		}
	})
}

// recorderSpec registers a recorder as a kind (the registry is open to
// kinds from outside the package).
type recorderSpec struct{ r *recorder }

func (recorderSpec) Validate() error                              { return nil }
func (s recorderSpec) Build(notify.Deps) (notify.Notifier, error) { return s.r, nil }

// Stop leaves no goroutine behind: the dispatcher's, the attempts', the
// supervisors' and the processes' waiters.
func TestSystemStopLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	st := memstore.New(memstore.Options{})
	defer st.Close()
	for range 3 {
		sys := NewSystem(st, SystemOptions{Logger: quiet})
		err := sys.Apply(Config{Processes: []supervise.Config{
			{Name: "sleeper", Command: []string{"sleep", "3600"}},
			{Name: "crasher", Command: []string{"false"}, Restart: restart.Policy{Initial: time.Millisecond, MaxRestarts: 1}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		sys.Dispatcher().Raise(notify.Notification{Event: notify.EventGaveUp, CheckID: ProcessID("x")}, []string{"nowhere"})
		p, _ := sys.Processes().Get("sleeper")
		waitUntil(t, "sleeper running", func() bool { return p.Status().Running })
		sys.Stop()
	}
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines after Stop, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}

// Errors name a check by its unique key, never by its UUID (the secret of
// its ping URL).
func TestErrorsHideCheckIDs(t *testing.T) {
	c := pushCheck(1)
	sup := policy.NewSuppression(nil, 0)
	for _, err := range []error{
		Validate(Config{Parents: map[model.CheckID][]model.CheckID{c.ID: {c.ID}}}),
		sup.SetParents(map[model.CheckID][]model.CheckID{c.ID: {c.ID}}),
	} {
		if err == nil || strings.Contains(err.Error(), c.ID.Secret()) || !strings.Contains(err.Error(), model.UniqueKey(c.ID)) {
			t.Errorf("error %v: want the unique key %s, not the UUID", err, model.UniqueKey(c.ID))
		}
	}
}

// The System builds with the registry it is given, the one the config
// loader decodes with.
func TestSystemRegistry(t *testing.T) {
	reg := notify.NewRegistry()
	sys := NewSystem(memstore.New(memstore.Options{}), SystemOptions{Registry: reg})
	if sys.Registry() != reg {
		t.Fatal("Registry() is not SystemOptions.Registry")
	}
	if NewSystem(memstore.New(memstore.Options{}), SystemOptions{}).Registry() == nil {
		t.Fatal("no default registry")
	}
}
