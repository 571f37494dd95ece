package actions

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
)

// runnerSpec builds runnerNotifiers; Gen tells two configs apart.
type runnerSpec struct {
	Gen int
	log *runLog
}

func (*runnerSpec) Validate() error { return nil }
func (s *runnerSpec) Build(d notify.Deps) (notify.Notifier, error) {
	return &runnerNotifier{gen: s.Gen, log: s.log, firing: d.Firing}, nil
}

type runLog struct {
	mu     sync.Mutex
	events []string
}

func (l *runLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *runLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

type runnerNotifier struct {
	gen    int
	log    *runLog
	firing func() []model.CheckState
}

func (*runnerNotifier) Send(context.Context, notify.Notification) error { return nil }

func (r *runnerNotifier) Run(ctx context.Context) {
	r.log.add("start " + string(rune('0'+r.gen)))
	<-ctx.Done()
	r.log.add("stop " + string(rune('0'+r.gen)))
}

// A channel that is a notify.Runner runs while the System runs: started by
// Start (or by a reload that adds or changes it), kept across a reload
// that leaves it unchanged, stopped (and waited for) when a reload removes
// or replaces it and by Stop. Its Deps.Firing lists the checks down or
// flapping that route that status to it and whose alert the policy did
// not drop or hold.
func TestSystemRunsRunners(t *testing.T) {
	down, other, up, flapping, absorbed := pushCheck(1), pushCheck(2), pushCheck(3), pushCheck(4), pushCheck(5)
	down.Routes = model.Routes{Down: []string{"am"}}
	other.Routes = model.Routes{Down: []string{"else"}, Flapping: []string{"am"}}
	up.Routes = model.RouteAll([]string{"am"})
	flapping.Routes = model.Routes{Down: []string{"else"}, Flapping: []string{"am"}}
	absorbed.Routes = model.RouteAll([]string{"am"})
	checks := []model.CheckState{
		{Check: down, State: model.State{Status: model.StatusDown}},
		{Check: other, State: model.State{Status: model.StatusDown}},
		{Check: up, State: model.State{Status: model.StatusUp}},
		{Check: flapping, State: model.State{Status: model.StatusFlapping}},
		{Check: absorbed, State: model.State{Status: model.StatusDown}},
	}
	log := &runLog{}
	reg := notify.NewRegistry()
	reg.Register("runner", func() notify.Spec { return &runnerSpec{log: log} })
	sys := NewSystem(memstore.New(memstore.Options{}), SystemOptions{Logger: quiet, Registry: reg, Checks: func() []model.CheckState { return checks }})
	sys.Suppression().Remember(store.PolicyState{CheckID: absorbed.ID, Dropped: true})
	cfg := func(gen int) Config {
		return Config{Notifiers: map[string]notify.Spec{"am": &runnerSpec{Gen: gen, log: log}}}
	}
	step := func(what string, do func(), want ...string) {
		t.Helper()
		do()
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
	}
	apply := func(c Config) func() {
		return func() {
			if err := sys.Apply(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	step("apply before start", apply(cfg(1)))
	step("start", func() {
		if err := sys.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "runner started", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.events) > 0 })
	}, "start 1")
	step("unchanged reload", apply(cfg(1)))
	step("changed reload", func() {
		apply(cfg(2))()
		waitUntil(t, "runner restarted", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.events) > 1 })
	}, "stop 1", "start 2")

	sys.mu.Lock()
	firing := sys.built["am"].n.(*runnerNotifier).firing()
	sys.mu.Unlock()
	var names []model.CheckID
	for _, cs := range firing {
		names = append(names, cs.Check.ID)
	}
	if !slices.Equal(names, []model.CheckID{down.ID, flapping.ID}) {
		t.Errorf("firing %v, want the down and the flapping check routed here", names)
	}

	step("removed", apply(Config{}), "stop 2")
	step("added back", func() {
		apply(cfg(3))()
		waitUntil(t, "runner started", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.events) > 0 })
	}, "start 3")
	step("stop", sys.Stop, "stop 3")
	step("apply after stop", apply(cfg(4)))
}
