package checkrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Thresholds of the Monitor check that [Outage] runs.
const (
	OutageInterval         = 50 * time.Millisecond
	OutageTimeout          = time.Second
	OutageFailureThreshold = 3
	OutageSuccessThreshold = 2
)

// Outage runs c as a periodic check of a real Monitor (every
// OutageInterval, OutageTimeout, failure threshold 3, success threshold 2),
// and takes its dependency through an outage: it waits for the check to be
// UP, calls down, waits for the check to turn DOWN, calls up, and waits for
// it to be UP again (each wait bounded by a minute).
//
// It asserts, by counting runs rather than timing them, that the check
// turned DOWN on exactly the third consecutive failed run while staying UP
// through the first two (so within interval × failure threshold + timeout of
// the outage's start) and came back UP on exactly the second consecutive
// successful run.
func Outage(tb testing.TB, c health.Checker, down, up func()) {
	tb.Helper()
	type entry struct {
		result *health.Result
		change *health.CheckEvent
	}
	var (
		mu      sync.Mutex
		log     []entry
		changed = make(chan health.Status, 16)
	)
	m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	// Results are delivered before the check event of the same run, and
	// callbacks one at a time, so the log is in run order.
	m.Subscribe(health.Subscriber{
		OnResult: func(r health.Result) {
			mu.Lock()
			log = append(log, entry{result: &r})
			mu.Unlock()
		},
		OnCheck: func(e health.CheckEvent) {
			mu.Lock()
			log = append(log, entry{change: &e})
			mu.Unlock()
			select {
			case changed <- e.To:
			default:
			}
		},
	})
	err := m.Register(health.Check{
		Name: "outage", Checker: c, NoStagger: true,
		Interval: OutageInterval, Timeout: OutageTimeout,
		FailureThreshold: OutageFailureThreshold, SuccessThreshold: OutageSuccessThreshold,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			tb.Errorf("checkrun: stop: %v", err)
		}
	}()

	waitFor := func(want health.Status, what string) {
		tb.Helper()
		timer := time.NewTimer(time.Minute)
		defer timer.Stop()
		for {
			select {
			case got := <-changed:
				if got == want {
					return
				}
			case <-timer.C:
				r, _ := m.Result("outage")
				tb.Fatalf("checkrun: %s: no change to %v within a minute; last result: status %v, error %q", what, want, r.Status, r.Error)
			}
		}
	}
	waitFor(health.StatusUp, "before the outage")
	down()
	waitFor(health.StatusDown, "during the outage")
	up()
	waitFor(health.StatusUp, "after the outage")

	mu.Lock()
	defer mu.Unlock()
	if err := checkOutageLog(log, func(e entry) (*health.Result, *health.CheckEvent) { return e.result, e.change }); err != nil {
		tb.Error(err)
	}
}

// checkOutageLog verifies the run-order log of an outage: UP, then DOWN on
// exactly the FailureThreshold-th consecutive failure, then UP on exactly the
// SuccessThreshold-th consecutive success.
func checkOutageLog[E any](log []E, split func(E) (*health.Result, *health.CheckEvent)) error {
	var last *health.Result
	phase := 0 // 0: waiting for the first UP, 1: UP (until DOWN), 2: DOWN (until UP), 3: done
	successes := 0
	for _, e := range log {
		r, ch := split(e)
		if r != nil {
			last = r
			switch phase {
			case 1:
				if r.Error != "" && r.ConsecutiveFailures < OutageFailureThreshold && r.Status != health.StatusUp {
					return fmt.Errorf("after %d consecutive failures the check is %v, want UP until %d", r.ConsecutiveFailures, r.Status, OutageFailureThreshold)
				}
			case 2:
				if r.Error == "" {
					successes++
				} else {
					successes = 0
				}
			}
			continue
		}
		switch {
		case phase == 0 && ch.To == health.StatusUp:
			phase = 1
		case phase == 1 && ch.To == health.StatusDown:
			if last == nil || last.ConsecutiveFailures != OutageFailureThreshold {
				n := -1
				if last != nil {
					n = last.ConsecutiveFailures
				}
				return fmt.Errorf("the check turned DOWN after %d consecutive failures, want %d", n, OutageFailureThreshold)
			}
			phase, successes = 2, 0
		case phase == 2 && ch.To == health.StatusUp:
			if successes != OutageSuccessThreshold {
				return fmt.Errorf("the check turned UP after %d consecutive successes, want %d", successes, OutageSuccessThreshold)
			}
			phase = 3
		}
	}
	if phase != 3 {
		return fmt.Errorf("the outage was not seen in full (phase %d)", phase)
	}
	return nil
}
