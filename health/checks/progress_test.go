package checks_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/health/checks"
)

func TestStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := checks.NewStall("ingest", 30*time.Second)
		if err := s.Check(ctx); err != nil {
			t.Fatalf("new: %v", err)
		}
		time.Sleep(29 * time.Second)
		s.Beat()
		time.Sleep(29 * time.Second)
		if err := s.Check(ctx); err != nil {
			t.Fatalf("29s after a beat: %v", err)
		}
		time.Sleep(13 * time.Second)
		err := s.Check(ctx)
		wantErr(t, err, checks.ErrStalled, `worker "ingest": stalled: last beat 42s ago, allowed 30s`)
		s.Beat()
		if err := s.Check(ctx); err != nil {
			t.Fatalf("after beating again: %v", err)
		}
		if got := s.LastBeat(); !got.Equal(time.Now()) {
			t.Errorf("LastBeat = %v, want now %v", got, time.Now())
		}
	})
}

func TestStallNeverStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := checks.NewStall("w", 0)
		if s.Period() != checks.DefaultStallPeriod {
			t.Errorf("period %v, want the default", s.Period())
		}
		time.Sleep(checks.DefaultStallPeriod + time.Second)
		wantErr(t, s.Check(context.Background()), checks.ErrStalled, "last beat 1m1s ago")
	})
}

// TestStallWorker runs a real worker loop that gets stuck (on a channel
// nobody sends to for a while, as in a deadlock), and the stall check
// notices. (A sync.Mutex would do the same outside synctest, whose clock
// does not advance while a goroutine waits on a mutex.)
func TestStallWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := checks.NewStall("loop", 5*time.Second)
		gate := make(chan struct{}, 1)
		gate <- struct{}{}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				s.Beat()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				token := <-gate // blocks while the test holds the token: a deadlock
				gate <- token
			}
		}()
		time.Sleep(20 * time.Second)
		if err := s.Check(ctx); err != nil {
			t.Fatalf("running worker: %v", err)
		}
		token := <-gate
		time.Sleep(10 * time.Second)
		err := s.Check(ctx)
		gate <- token
		wantErr(t, err, checks.ErrStalled, `worker "loop": stalled: last beat 1`, "allowed 5s") // 10s or 11s: the tick at 20s races the test
		time.Sleep(2 * time.Second)
		if err := s.Check(ctx); err != nil {
			t.Fatalf("recovered worker: %v", err)
		}
		close(stop)
		<-done
	})
}

func TestStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		g := checks.NewStalls(10 * time.Second)
		if err := g.Check(ctx); err != nil {
			t.Fatalf("empty: %v", err)
		}
		a, b, c := g.Add("b-worker"), g.Add("a-worker"), g.Add("c-worker")
		time.Sleep(11 * time.Second)
		c.Beat()
		err := g.Check(ctx)
		wantErr(t, err, checks.ErrStalled, `worker "a-worker": stalled: last beat 11s ago`, `worker "b-worker": stalled`)
		if strings.Contains(err.Error(), "c-worker") {
			t.Errorf("err %q names a worker that beat", err)
		}
		if i, j := strings.Index(err.Error(), "a-worker"), strings.Index(err.Error(), "b-worker"); i > j {
			t.Errorf("err %q not ordered by name", err)
		}
		g.Remove(a)
		g.Remove(a)
		b.Beat()
		if err := g.Check(ctx); err != nil {
			t.Fatalf("after removing and beating: %v", err)
		}
		if g.Len() != 2 {
			t.Errorf("Len = %d, want 2", g.Len())
		}
	})
}

func TestActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a := checks.NewActivity("orders", 2*time.Minute, checks.ActivityOptions{})
		time.Sleep(119 * time.Second)
		if err := a.Check(ctx); err != nil {
			t.Fatalf("119s: %v", err)
		}
		time.Sleep(2 * time.Second)
		wantErr(t, a.Check(ctx), checks.ErrInactive, `activity "orders": inactive: last done 2m1s ago, allowed 2m0s`)
		a.Touch()
		if err := a.Check(ctx); err != nil {
			t.Fatalf("after Touch: %v", err)
		}
	})
}

func TestActivityPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var queued atomic.Int64
		a := checks.NewActivity("jobs", time.Minute, checks.ActivityOptions{Pending: func() bool { return queued.Load() > 0 }})
		// An hour without work is not a failure, checked every 10 seconds.
		for range 360 {
			time.Sleep(10 * time.Second)
			if err := a.Check(ctx); err != nil {
				t.Fatalf("idle: %v", err)
			}
		}
		// Work arrives: the bound counts from the last idle check.
		queued.Store(3)
		time.Sleep(50 * time.Second)
		if err := a.Check(ctx); err != nil {
			t.Fatalf("50s after work arrived: %v", err)
		}
		time.Sleep(20 * time.Second)
		err := a.Check(ctx)
		wantErr(t, err, checks.ErrInactive, `activity "jobs"`, "last done 1h1m10s ago")
		a.Touch()
		if err := a.Check(ctx); err != nil {
			t.Fatalf("after Touch: %v", err)
		}
	})
}

func TestInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := checks.NewInFlight(2, checks.InFlightOptions{Grace: 3 * time.Second})
		l.Enter()
		l.Enter()
		time.Sleep(time.Minute)
		if err := l.Check(ctx); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
		l.Enter() // over
		time.Sleep(3 * time.Second)
		if err := l.Check(ctx); err != nil {
			t.Fatalf("over for the grace time only: %v", err)
		}
		time.Sleep(time.Second)
		wantErr(t, l.Check(ctx), checks.ErrOverloaded, "in-flight requests: overloaded: 3 in flight, over the limit of 2 for 4s (grace 3s)")
		l.Leave()
		time.Sleep(299 * time.Millisecond)
		wantErr(t, l.Check(ctx), checks.ErrOverloaded, "in-flight requests: overloaded: 2 in flight, over the limit of 2 for 4.3s (grace 3s)")
		time.Sleep(time.Millisecond) // at the limit for a tenth of the grace: the overload is over
		if err := l.Check(ctx); err != nil {
			t.Fatalf("back at the limit for 300ms: %v", err)
		}
		l.Enter() // over again: the grace starts anew
		time.Sleep(2 * time.Second)
		if err := l.Check(ctx); err != nil {
			t.Fatalf("over again for 2s: %v", err)
		}
		for range 3 {
			l.Leave()
		}
		if l.Len() != 0 {
			t.Errorf("Len = %d, want 0", l.Len())
		}
	})
}

// TestInFlightDips: under sustained overload the count falls to the limit
// between one client's answer and its next request. Dips shorter than a
// tenth of the grace time must not start the grace over, whether a check
// runs during one or not; a longer dip must.
func TestInFlightDips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := checks.NewInFlight(1, checks.InFlightOptions{Grace: time.Second})
		l.Enter()
		// 2 in flight, each 10ms dip a request ending before the next starts.
		churn := func(d time.Duration) error {
			var err error
			for end := time.Now().Add(d); time.Now().Before(end); {
				l.Enter()
				time.Sleep(10 * time.Millisecond)
				l.Leave()
				time.Sleep(time.Millisecond)
				err = l.Check(ctx) // in the dip
			}
			return err
		}
		if err := churn(900 * time.Millisecond); err != nil {
			t.Fatalf("over for 0.9s, in 1ms dips: %v", err)
		}
		wantErr(t, churn(200*time.Millisecond), checks.ErrOverloaded,
			"in-flight requests: overloaded: 1 in flight, over the limit of 1 for 1.1s (grace 1s)")
		// A dip of a tenth of the grace ends the overload, even unobserved.
		l.Enter()
		time.Sleep(10 * time.Millisecond)
		l.Leave()
		time.Sleep(100 * time.Millisecond)
		l.Enter()
		if err := l.Check(ctx); err != nil {
			t.Fatalf("after a 100ms dip: %v", err)
		}
		time.Sleep(time.Second + time.Millisecond)
		wantErr(t, l.Check(ctx), checks.ErrOverloaded, "in-flight requests: overloaded: 2 in flight, over the limit of 1 for 1s (grace 1s)")
		l.Leave()
		l.Leave()
	})
}
