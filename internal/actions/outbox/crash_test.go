package outbox

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Environment of the watchdog child process (see TestMain).
const (
	envChild = "VITALS_ACTIONS_CHILD" // "flip" or "serve"
	envDB    = "VITALS_ACTIONS_DB"
	envHook  = "VITALS_ACTIONS_HOOK"
	envN     = "VITALS_ACTIONS_N"
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(envChild); mode {
	case "":
	case "claim":
		os.Exit(claimChild())
	default:
		os.Exit(watchdogChild(mode))
	}
	os.Exit(m.Run())
}

// watchdogChild is a minimal watchdog process: SQLite store, engine,
// planner and dispatcher wired as in the daemon. In "flip" mode it creates
// N checks and takes each down (N outbox rows), then says "ready"; in
// "serve" mode it only delivers, and says "delivered N" once N rows are.
// It runs until it is killed.
func watchdogChild(mode string) int {
	n, _ := strconv.Atoi(os.Getenv(envN))
	st, err := sqlite.Open(os.Getenv(envDB), sqlite.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	wh, err := notify.NewWebhook(notify.WebhookConfig{URL: os.Getenv(envHook)}, nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	var delivered atomic.Int64
	disp := NewDispatcher(st, notify.Channels{"ops": wh}, DispatcherOptions{
		Logger:  quiet,
		Backoff: Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond},
		OnResult: func(r model.Notification, err error) {
			if err == nil && delivered.Add(1) == int64(n) {
				fmt.Println("delivered", n)
			}
		},
	})
	eng := hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{NewPlanner(PlannerOptions{Logger: quiet})}, disp)
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	disp.Start(ctx)
	if mode == "flip" {
		for i := range n {
			c, err := eng.Create(ctx, routed(i, model.Routes{Down: []string{"ops"}}))
			if err == nil {
				_, err = eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
			}
			if err != nil {
				fmt.Println("error", err)
				return 1
			}
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	disp.Stop()
	eng.Close()
	st.Close()
	return 0
}

// child runs the watchdog child and returns it with a channel of its
// stdout lines.
func startChild(t *testing.T, mode, db, hook string, n int) (*exec.Cmd, <-chan string) {
	t.Helper()
	return startChildEnv(t, []string{envChild + "=" + mode, envDB + "=" + db, envHook + "=" + hook, envN + "=" + strconv.Itoa(n)})
}

// startChildEnv runs the test binary as a child process with env added
// (envChild says what it is) and returns it with a channel of its stdout
// lines.
func startChildEnv(t *testing.T, env []string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, lines
}

func expectLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited before %q", want)
			}
			if strings.HasPrefix(l, "error") {
				t.Fatalf("child: %s", l)
			}
			if l == want {
				return
			}
		case <-timeout.C:
			t.Fatalf("child did not say %q within 60s", want)
		}
	}
}

// The watchdog is killed with SIGKILL while its webhook receiver answers
// 500; it is started again and the receiver accepts: every notification
// arrives exactly once.
func TestOutboxSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts watchdog processes")
	}
	const n = 30
	db := filepath.Join(t.TempDir(), "vitals.db")
	rcv := newReceiver(t)
	rcv.up(t, true) // 500s

	cmd, lines := startChild(t, "flip", db, rcv.url(), n)
	expectLine(t, lines, "ready")
	waitUntil(t, "500s answered", func() bool { return rcv.refused.Load() >= 2*n })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if k, _, _ := rcv.counts(); k != 0 {
		t.Fatalf("%d accepted while the receiver refused", k)
	}

	rcv.up(t, false) // accepts
	cmd, lines = startChild(t, "serve", db, rcv.url(), n)
	expectLine(t, lines, "ready")
	expectLine(t, lines, fmt.Sprint("delivered ", n))
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	keys, total, dup := rcv.counts()
	if keys != n || total != n || len(dup) > 0 {
		t.Fatalf("received %d keys in %d requests, duplicates %v; want %d once each", keys, total, dup, n)
	}
}
