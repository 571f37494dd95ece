package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/restart"
	"github.com/vitals-go/vitals/internal/model"
)

// A guarded restart restarts at once, then waits out the exponential delay
// (RetryAtError), gives up after MaxRestarts in the window with one "gave
// up" alert, and starts over once the check has been up for StableAfter.
func TestGuardLoopProtection(t *testing.T) {
	now := testTime
	var restarts int
	var mu sync.Mutex
	var raised []Notification
	g := NewGuard("docker restart api", RestarterFunc(func(context.Context) error { restarts++; return nil }),
		restart.Policy{Initial: time.Second, MaxRestarts: 3, Window: time.Hour, StableAfter: 10 * time.Minute},
		func(n Notification) { mu.Lock(); raised = append(raised, n); mu.Unlock() })
	g.now = func() time.Time { return now }
	ctx := context.Background()
	n := testNotification("restart-api")

	for i, delay := range []time.Duration{0, time.Second, 2 * time.Second} {
		if delay > 0 {
			var ra *RetryAtError
			if err := g.Send(ctx, n); !errors.As(err, &ra) || !ra.At.Equal(now.Add(delay)) {
				t.Fatalf("restart %d: %v, want retry at +%v", i, err, delay)
			}
			now = now.Add(delay)
		}
		if err := g.Send(ctx, n); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
	}
	for range 2 {
		if err := g.Send(ctx, n); !errors.Is(err, ErrGaveUp) || !errors.Is(err, ErrPermanent) {
			t.Fatalf("4th: %v, want permanent ErrGaveUp", err)
		}
	}
	if restarts != 3 || len(raised) != 1 || raised[0].Event != EventGaveUp || !strings.Contains(raised[0].Reason, "3 restarts within 1h0m0s") {
		t.Fatalf("restarts %d, raised %+v", restarts, raised)
	}
	// Up for 10 minutes, then down again: the window starts over.
	g.Observe(model.Flip{CheckID: testCheck, To: model.StatusUp, Time: now})
	g.Observe(model.Flip{CheckID: testCheck, To: model.StatusDown, Time: now.Add(10 * time.Minute)})
	now = now.Add(10 * time.Minute)
	if err := g.Send(ctx, n); err != nil || restarts != 4 {
		t.Fatalf("after stable: %v, restarts %d", err, restarts)
	}
	// A delayed restart whose check recovered meanwhile is skipped.
	g.Observe(model.Flip{CheckID: testCheck, To: model.StatusUp, Time: now})
	if err := g.Send(ctx, n); err != nil || restarts != 4 {
		t.Fatalf("recovered: %v, restarts %d", err, restarts)
	}
}
