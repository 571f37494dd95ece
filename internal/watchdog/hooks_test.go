package watchdog_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Hooks are called in registration order, and cannot be registered once
// the engine was started.
func TestHooksRegisteredBeforeStart(t *testing.T) {
	ctx := context.Background()
	e := watchdog.New(memstore.New(memstore.Options{}), watchdog.Options{})
	var mu sync.Mutex
	var order []string
	listener := func(name string) model.Listener {
		return model.ListenerFunc(func(model.Transition) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
		})
	}
	planner := func(name string) model.Planner {
		return model.PlannerFunc(func(model.Transition) []model.Notification {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			return nil
		})
	}
	hook(t, e, listener("l1"), planner("p1"), listener("l2"), planner("p2"))
	if err := e.AddListener(nil); err == nil {
		t.Fatal("AddListener(nil): no error")
	}
	if err := e.AddPlanner(nil); err == nil {
		t.Fatal("AddPlanner(nil): no error")
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.AddListener(listener("late")); err == nil {
		t.Fatal("AddListener after Start: no error")
	}
	if err := e.AddPlanner(planner("late")); err == nil {
		t.Fatal("AddPlanner after Start: no error")
	}
	c, err := e.Create(ctx, pushCheck("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"p1", "p2", "l1", "l2"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}
