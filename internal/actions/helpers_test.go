package actions

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// hooked registers planners and listeners with e, not yet started, and
// returns it.
func hooked(e *watchdog.Engine, planners []model.Planner, listeners ...model.Listener) *watchdog.Engine {
	for _, p := range planners {
		if err := e.AddPlanner(p); err != nil {
			panic(err)
		}
	}
	for _, l := range listeners {
		if err := e.AddListener(l); err != nil {
			panic(err)
		}
	}
	return e
}

// recorder is a channel that records what it was sent.
type recorder struct {
	mu  sync.Mutex
	got []notify.Notification
}

func (r *recorder) Send(_ context.Context, n notify.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return nil
}

func (r *recorder) sent() []notify.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Notification(nil), r.got...)
}

var quiet = slog.New(slog.DiscardHandler)

func pushCheck(i int) model.Check {
	return model.Check{
		ID: model.CheckID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("check", i)))), Name: fmt.Sprintf("job-%d", i),
		Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour},
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	defer func(t0 time.Time) { t.Logf("%s: %v", what, time.Since(t0)) }(time.Now())
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
