//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/internal/testenv"
)

// TestBeatsOnlyWhileLive: a daemon whose liveness is DOWN neither pings its
// dead man's switch nor sends systemd WATCHDOG=1, so that both notice a stuck
// watchdog; it does both again once live. The beats are paced by hand: each
// tick is handed to the loop, and the loop takes the next one only after it
// has finished the previous beat (the GET answered, the datagram queued).
func TestBeatsOnlyWhileLive(t *testing.T) {
	var pings atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { pings.Add(1) }))
	defer receiver.Close()
	sd := testenv.ListenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sd.Path)
	t.Setenv("WATCHDOG_USEC", "2000000") // WATCHDOG=1 every 1s

	ctx := context.Background()
	d := newDaemon(t, ctx, fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  dead_mans_switch: %q
  dead_mans_switch_interval: 1h
store: {sqlite: {path: v.db}}
`, receiver.URL), nil)
	ticks := map[time.Duration]chan time.Time{time.Hour: make(chan time.Time), time.Second: make(chan time.Time)}
	d.ticker = func(every time.Duration) (<-chan time.Time, func()) { return ticks[every], func() {} }

	// A liveness check the test drives: pending (so DOWN) until the first
	// Report runs it.
	var stalled atomic.Bool
	if err := d.mon.Register(health.Check{Name: "test-loop", Kinds: health.Liveness, OnDemand: true, Interval: time.Nanosecond,
		Checker: health.CheckerFunc(func(context.Context) error {
			if stalled.Load() {
				return errors.New("stalled")
			}
			return nil
		})}); err != nil {
		t.Fatal(err)
	}
	setLive := func(live bool) {
		t.Helper()
		stalled.Store(!live)
		d.mon.Report(ctx, health.Liveness) // runs the on-demand check
		// The scheduler's own liveness check is UP after its first run.
		waitFor(t, fmt.Sprintf("live=%v", live), func() bool {
			return (d.mon.Peek(health.Liveness).Status == health.StatusUp) == live
		})
	}
	beat := func(what string, every time.Duration) {
		t.Helper()
		select {
		case ticks[every] <- time.Now():
		case <-time.After(15 * time.Second):
			t.Fatalf("the %s loop did not take its tick", what)
		}
	}
	// phase hands each loop three ticks and returns the beats sent for the
	// second and third (the first may still have been taken in the phase
	// before): the third is taken only once the second's beat is done.
	phase := func() (dms, watchdog int64) {
		t.Helper()
		beat("dead man's switch", time.Hour)
		beat("systemd watchdog", time.Second)
		sd.Count(t, "WATCHDOG=1")
		before := pings.Load()
		for range 2 {
			beat("dead man's switch", time.Hour)
			beat("systemd watchdog", time.Second)
		}
		return pings.Load() - before, int64(sd.Count(t, "WATCHDOG=1"))
	}

	stop := runDaemon(t, ctx, d)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()

	if dms, wd := phase(); dms != 0 || wd != 0 {
		t.Errorf("at start, liveness DOWN: %d dead man's switch pings, %d WATCHDOG=1; want none", dms, wd)
	}
	setLive(true)
	if dms, wd := phase(); dms < 1 || wd < 1 {
		t.Errorf("live: %d dead man's switch pings, %d WATCHDOG=1; want some of each", dms, wd)
	}
	setLive(false)
	if dms, wd := phase(); dms != 0 || wd != 0 {
		t.Errorf("liveness DOWN: %d dead man's switch pings, %d WATCHDOG=1; want none", dms, wd)
	}
}
