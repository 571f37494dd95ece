package supervise

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/restart"
)

// A crash-looping command gets exactly MaxRestarts restarts, spaced by the
// exponential delay, then the supervisor gives up and says so once.
func TestCrashLoopGivesUpOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu     sync.Mutex
			starts []time.Time
			gaveUp []Status
		)
		t0 := time.Now()
		p, err := New(Config{
			Name:    "crasher",
			Command: []string{"sh", "-c", "echo out; echo boom >&2; exit 3"},
			Restart: restart.Policy{Initial: time.Second, Max: time.Minute, MaxRestarts: 3, Window: 10 * time.Minute},
		}, Options{
			OnStart:  func(Status) { mu.Lock(); starts = append(starts, time.Now()); mu.Unlock() },
			OnGaveUp: func(s Status) { mu.Lock(); gaveUp = append(gaveUp, s); mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		time.Sleep(time.Hour) // fake time: far past every delay
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		if len(starts) != 4 {
			t.Fatalf("starts = %d, want 1 + 3 restarts", len(starts))
		}
		for i, want := range []time.Duration{0, 0, 1 * time.Second, 3 * time.Second} {
			if got := starts[i].Sub(t0); got != want {
				t.Errorf("start %d at +%v, want +%v (delays 0, 1s, 2s)", i, got, want)
			}
		}
		if len(gaveUp) != 1 {
			t.Fatalf("gave-up reports = %d, want 1", len(gaveUp))
		}
		g := gaveUp[0]
		if !g.GaveUp || g.Running || g.LastExit != "exit status 3" || !strings.HasSuffix(g.Stderr, "boom\n") || !strings.HasPrefix(g.Stdout, "out\n") {
			t.Errorf("gave-up status = %+v", g)
		}
		if err := p.Restart(context.Background()); !errors.Is(err, ErrGaveUp) {
			t.Errorf("Restart after give-up = %v, want ErrGaveUp", err)
		}
	})
}

// A process that stays up past StableAfter gets its window reset, so later
// restart requests (its check is down) are allowed again and again. A
// long-running child keeps a synctest bubble's clock from advancing, so this
// test runs on real time with short durations and asserts no duration.
func TestRestartRequestAndStableReset(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var gaveUp int
	p, err := New(Config{
		Name:    "sleeper",
		Command: []string{"sh", "-c", "echo $GREETING > started; pwd > where; exec sleep 3600"},
		Dir:     dir,
		Env:     map[string]string{"GREETING": "hello"},
		Restart: restart.Policy{Initial: time.Millisecond, MaxRestarts: 1, Window: time.Hour, StableAfter: 50 * time.Millisecond},
	}, Options{OnGaveUp: func(Status) { mu.Lock(); gaveUp++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	waitFile(t, filepath.Join(dir, "started"), "hello\n")
	waitFile(t, filepath.Join(dir, "where"), dir+"\n")
	for i := range 3 { // each restart is followed by a stable period: never gives up
		if err := p.Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitForReal(t, func() bool { s := p.Status(); return s.Starts == i+2 && s.Running })
		waitForReal(t, func() bool { return p.Status().Restarts == 0 })
	}
	mu.Lock()
	defer mu.Unlock()
	if gaveUp != 0 {
		t.Fatalf("gave up %d times", gaveUp)
	}
}

func TestStopKillsProcess(t *testing.T) {
	p, err := New(Config{Name: "x", Command: []string{"sleep", "3600"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	waitForReal(t, func() bool { return p.Status().Running })
	pid := p.Status().PID
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if s := p.Status(); s.Running || !strings.Contains(s.LastExit, "terminated") {
		t.Fatalf("after Stop: %+v", s)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		t.Fatalf("pid %d still exists", pid)
	}
	if err := p.Restart(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Restart after Stop = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{OutputLimit: -1, Restart: restart.Policy{Multiplier: 0.5}}.Validate()
	for _, want := range []string{"name: required", "command: required", "output_limit: negative", "restart.multiplier"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestTailCaps(t *testing.T) {
	tl := newTail(4)
	tl.Write([]byte("abc"))
	tl.Write([]byte("defg"))
	if got := tl.String(); got != "defg" {
		t.Fatalf("tail = %q", got)
	}
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	waitForReal(t, func() bool { b, _ := os.ReadFile(path); return string(b) == want })
}

func waitForReal(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
