package outbox

import (
	"context"
	"sync"
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

var (
	testCheck = model.CheckID(uuid.MustParse("0b7e2f7c-58a3-4f9a-9e59-2c1c0c7b9d10"))
	testFlip  = uuid.MustParse("01936c57-7b3c-7cc0-8a4e-8d0f8d7a5b11")
	testTime  = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
)

func testNotification(channel string) notify.Notification {
	return notify.Notification{
		Key: notify.Key(testCheck, testFlip, channel), Event: notify.EventDown, CheckID: testCheck, Check: "api <prod> & co",
		Tags: []string{"prod"}, FlipID: testFlip, State: model.StatusDown, Previous: model.StatusUp,
		Reason: "3 consecutive failures: connection refused", Time: testTime, Channel: channel, Attempt: 1,
	}
}
