// Package actionstest is the test support shared by the tests of
// internal/actions and its packages (outbox, policy): an engine with hooks,
// a recording channel, fixtures and a wait. Only tests import it. (The
// notify package's own tests cannot, as this package imports notify.)
package actionstest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Hooked registers planners and listeners with e, not yet started, and
// returns it. It panics if e has started.
func Hooked(e *watchdog.Engine, planners []model.Planner, listeners ...model.Listener) *watchdog.Engine {
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

// Recorder is a channel that records what it was sent. Safe for
// concurrent use.
type Recorder struct {
	mu  sync.Mutex
	got []notify.Notification
}

// Send records n and succeeds.
func (r *Recorder) Send(_ context.Context, n notify.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return nil
}

// Sent returns a copy of what was sent, in order.
func (r *Recorder) Sent() []notify.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Notification(nil), r.got...)
}

// PushCheck returns the i-th push check of a test: a stable id and name,
// an hour's period and grace.
func PushCheck(i int) model.Check {
	return model.Check{
		ID: model.CheckID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("check", i)))), Name: fmt.Sprintf("job-%d", i),
		Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour},
	}
}

// Routed returns PushCheck(i) with routes r: the channels its flips go
// to.
func Routed(i int, r model.Routes) model.Check {
	c := PushCheck(i)
	c.Routes = r
	return c
}

// The check, flip and time of Notification.
var (
	CheckID = model.CheckID(uuid.MustParse("0b7e2f7c-58a3-4f9a-9e59-2c1c0c7b9d10"))
	FlipID  = uuid.MustParse("01936c57-7b3c-7cc0-8a4e-8d0f8d7a5b11")
	Time    = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
)

// Notification is a down notification for channel, with a name that needs
// escaping in HTML and JSON.
func Notification(channel string) notify.Notification {
	return notify.Notification{
		Key: notify.Key(CheckID, FlipID, channel), Event: notify.EventDown, CheckID: CheckID, Check: "api <prod> & co",
		Tags: []string{"prod"}, FlipID: FlipID, State: model.StatusDown, Previous: model.StatusUp,
		Reason: "3 consecutive failures: connection refused", Time: Time, Channel: channel, Attempt: 1,
	}
}

// WaitUntil polls cond every 5ms until it holds, and fails the test if it
// does not within 30s. It logs how long it waited.
func WaitUntil(t *testing.T, what string, cond func() bool) {
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
