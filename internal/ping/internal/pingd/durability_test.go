package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// The test binary doubles as pingd: with PINGD_CHILD=1 it runs main's run.
func TestMain(m *testing.M) {
	if os.Getenv("PINGD_CHILD") == "1" {
		os.Exit(run())
	}
	os.Exit(m.Run())
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PINGD_CHILD=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child did not start: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		t.Fatalf("unexpected first line %q", line)
	}
	go io.Copy(io.Discard, out)
	return &child{cmd: cmd, addr: addr}
}

// TestKill9UnderLoad: every ping answered 200 before a kill -9 is in the
// store after it, the state agrees with the stored history, and the
// restarted process serves with the deadlines armed.
func TestKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const checks = 50
	db := filepath.Join(t.TempDir(), "vitals.db")
	args := []string{"-db", db, "-checks", fmt.Sprint(checks), "-retention", "1000000", "-period", "1h", "-grace", "1m"}
	c1 := startChild(t, args...)

	var mu sync.Mutex
	acked := map[model.CheckID][]string{} // bodies answered 200, per check
	var total int
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 5000 && ctx.Err() == nil; k++ {
				id := CheckID((w*7 + k) % checks)
				body := fmt.Sprintf("w%d-k%d", w, k)
				req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+c1.addr+"/ping/"+id.Secret(), strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					return // killed
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(b) == "OK" {
					mu.Lock()
					acked[id] = append(acked[id], body)
					total++
					mu.Unlock()
				}
			}
		}()
	}
	// Kill -9 mid-load: once 1000 pings were acknowledged or after 3s,
	// while the 32 clients are still sending.
	killAt := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= 1000 || time.Now().After(killAt) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatal("the load ended before the kill")
	}
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_ = c1.cmd.Wait()
	mu.Lock()
	t.Logf("%d pings acknowledged before kill -9", total)
	mu.Unlock()

	// Restart: it serves, and numbering continues.
	c2 := startChild(t, args...)
	for i := range checks {
		resp, err := client.Post("http://"+c2.addr+"/ping/"+CheckID(i).Secret(), "text/plain", strings.NewReader("after restart"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after restart: %d", resp.StatusCode)
		}
	}
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c2.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	st, err := sqlite.Open(db, sqlite.Options{PingRetention: 1000000})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bg := context.Background()
	for i := range checks {
		id := CheckID(i)
		_, state, err := st.GetCheck(bg, id)
		if err != nil {
			t.Fatal(err)
		}
		pings, err := st.Pings(bg, id, store.PingQuery{Limit: 1000000})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for j, p := range pings {
			have[string(p.Body)] = true
			if want := state.NPings - int64(j); p.N != want { // newest first, no gaps
				t.Fatalf("check %d: ping %d has N %d, want %d", i, j, p.N, want)
			}
		}
		for _, b := range acked[id] {
			if !have[b] {
				t.Fatalf("check %d: acknowledged ping %q lost", i, b)
			}
		}
		if int64(len(pings)) != state.NPings || string(pings[0].Body) != "after restart" {
			t.Fatalf("check %d: %d pings stored, state says %d; newest %q", i, len(pings), state.NPings, pings[0].Body)
		}
		if state.Status != model.StatusUp || !state.LastPing.Equal(pings[0].Time) ||
			!state.Deadline.Equal(pings[0].Time.Add(time.Hour+time.Minute)) {
			t.Fatalf("check %d: state %+v, last ping %v", i, state, pings[0].Time)
		}
		flips, _ := st.Flips(bg, id, store.FlipQuery{})
		if len(flips) != 1 || flips[0].To != model.StatusUp {
			t.Fatalf("check %d: flips %+v", i, flips)
		}
	}
}
