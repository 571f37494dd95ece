//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/testenv"
)

// TestWatchdogRestartsUnhealthyContainer is SPEC §6's story end to end, on
// the real engine: a real `vitals watchdog` (built static, run on the host)
// probes the account service container's /livez; the container's worker is
// stalled for real; the check goes down; the watchdog's docker action
// restarts the container through the Engine API socket; the check comes
// back up. The times from the injection to each step are logged.
func TestWatchdogRestartsUnhealthyContainer(t *testing.T) {
	requireDocker(t)
	buildImage(t)
	vitals := buildVitals(t)

	// A fixed host port: a restarted container keeps its published port,
	// and the watchdog's probe URL stays right.
	name := fmt.Sprintf("vitals-e2e-restart-%d", time.Now().UnixNano())
	port := freePort(t)
	docker(t, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "-e", "CHAOS=1", image)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(t, base+"/livez", time.Minute)
	before := containerState(t, name)

	const checkName = "accountservice-livez"
	w := startWatchdog(t, vitals, restartConfig(name, checkName, base, time.Second, time.Second, 2))
	key := w.uniqueKey(t, checkName)
	w.waitStatus(t, key, "up", time.Minute)
	t.Logf("watchdog sees %s up; container started at %s", checkName, before.StartedAt.Format(time.RFC3339Nano))

	injected := time.Now()
	post(t, base+"/chaos/worker/stall")
	w.waitStatus(t, key, "down", 2*time.Minute)
	after := waitRestarted(t, name, before, 2*time.Minute)
	w.waitStatus(t, key, "up", 2*time.Minute)

	// The watchdog's own record: up → down with the restart delivered, then
	// down → up, and nothing else since the injection.
	flips := w.flips(t, key)
	var down, up *flipJSON
	for i := range flips {
		f := &flips[i]
		if f.Timestamp.Before(injected) {
			continue
		}
		switch {
		case f.From == "up" && f.To == "down" && down == nil:
			down = f
		case f.From == "down" && f.To == "up" && up == nil:
			up = f
		default:
			t.Errorf("unexpected flip after the injection: %+v", *f)
		}
	}
	if down == nil || up == nil {
		t.Fatalf("flips after the injection lack up→down or down→up: %+v", flips)
	}
	outcome := w.waitActionDelivered(t, key, down.Timestamp, time.Minute)
	t.Logf("down flip: %q; its action: %+v", down.Reason, outcome)
	if after.RestartCount != before.RestartCount {
		// docker restart (the Engine API's /restart) is not counted in
		// RestartCount, which counts the engine's own restart policy: a
		// change here means something other than the watchdog restarted it.
		t.Errorf("RestartCount %d → %d: the engine's restart policy restarted the container, not the watchdog", before.RestartCount, after.RestartCount)
	}
	if logs := docker(t, "logs", name); strings.Count(logs, "accountservice serving") != 2 {
		t.Errorf("want the service started twice (once by docker run, once by the watchdog's restart); logs:\n%s", tail(logs, 30))
	}

	round := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	t.Logf("injection → down %v → restarted (new StartedAt) %v → up %v; injection → up %v",
		round(down.Timestamp.Sub(injected)), round(after.StartedAt.Sub(down.Timestamp)),
		round(up.Timestamp.Sub(after.StartedAt)), round(up.Timestamp.Sub(injected)))
}

// watchdogKey is the e2e watchdog's API key (read-only).
const watchdogKey = "e2e-read-only-key-0123456789abcdef"

// buildVitals builds the vitals binary static for the host, once per test
// binary (with the host's warm build cache, unlike the image builds).
func buildVitals(t *testing.T) string {
	t.Helper()
	if vitalsBin != "" {
		return vitalsBin
	}
	dir, err := os.MkdirTemp("", "vitals-e2e-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "vitals")
	start := time.Now()
	// No -trimpath: the packages compiled by go vet and go test are reused.
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/vitals")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vitals: %v\n%s", err, out)
	}
	t.Logf("built vitals (static) in %v", time.Since(start).Round(time.Second))
	vitalsBin = bin
	return bin
}

var vitalsBin string

// watchdog is a running `vitals watchdog` process.
type watchdog struct {
	base string // http://127.0.0.1:port
	log  string // its output
}

// startWatchdog runs vitals watchdog with the config body (server.listen is
// added) and env added to this process's environment, and stops it,
// SIGTERM then wait, when the test ends. Its log is shown when the test
// fails.
func startWatchdog(t *testing.T, bin, body string, env ...string) *watchdog {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	file := filepath.Join(dir, "watchdog.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf("server: {listen: [%q]}\n", addr)+body), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &watchdog{base: "http://" + addr, log: filepath.Join(dir, "watchdog.log")}
	out, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "watchdog", "-config", file)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("vitals watchdog: %v", err)
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-exited
			t.Error("vitals watchdog did not stop within a minute of SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(w.log)
			t.Logf("watchdog log:\n%s", tail(string(b), 60))
		}
	})
	waitHTTP(t, w.base+"/readyz", time.Minute)
	return w
}

// get decodes the API's answer to path into v.
func (w *watchdog) get(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", watchdogKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1%s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET /api/v1%s: %v", path, err)
	}
}

type checkJSON struct {
	Name      string `json:"name"`
	UniqueKey string `json:"unique_key"`
	Status    string `json:"status"`
	LastError string `json:"last_error"`
}

// uniqueKey returns the API key of the check named name: its unique key,
// which a read-only key sees (never the UUID, the ping secret).
func (w *watchdog) uniqueKey(t *testing.T, name string) string {
	t.Helper()
	var list struct{ Checks []checkJSON }
	w.get(t, "/checks", &list)
	for _, c := range list.Checks {
		if c.Name == name {
			return c.UniqueKey
		}
	}
	t.Fatalf("the watchdog has no check %q: %+v", name, list.Checks)
	return ""
}

// waitStatus polls the check until its status is want.
func (w *watchdog) waitStatus(t *testing.T, key, want string, within time.Duration) {
	t.Helper()
	start := time.Now()
	var c checkJSON
	for time.Since(start) < within {
		w.get(t, "/checks/"+key, &c)
		if c.Status == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("check %s still %q (%s) after %v, want %q", c.Name, c.Status, c.LastError, within, want)
}

type flipJSON struct {
	Timestamp time.Time    `json:"time"` // the Vitals extra: "timestamp" is whole seconds
	From      string       `json:"from"`
	To        string       `json:"to"`
	Reason    string       `json:"reason"`
	Actions   []actionJSON `json:"actions"`
}

type actionJSON struct {
	Channel   string `json:"channel"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// flips returns the check's flips, newest first.
func (w *watchdog) flips(t *testing.T, key string) []flipJSON {
	t.Helper()
	var page struct{ Flips []flipJSON }
	w.get(t, "/checks/"+key+"/flips", &page)
	return page.Flips
}

// waitActionDelivered waits until the flip at ts has exactly one action,
// delivered, and returns it: the restart's outcome as the watchdog recorded
// it in its outbox.
func (w *watchdog) waitActionDelivered(t *testing.T, key string, ts time.Time, within time.Duration) actionJSON {
	t.Helper()
	start := time.Now()
	var last []actionJSON
	for time.Since(start) < within {
		for _, f := range w.flips(t, key) {
			if f.Timestamp.Equal(ts) {
				last = f.Actions
			}
		}
		if len(last) == 1 && last[0].State == "delivered" {
			return last[0]
		}
		if len(last) > 1 || (len(last) == 1 && last[0].State == "failed") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the down flip's actions: %+v, want one delivered restart", last)
	return actionJSON{}
}

// dockerState is what docker inspect says about a container's starts.
type dockerState struct {
	StartedAt    time.Time
	RestartCount int
}

func containerState(t *testing.T, name string) dockerState {
	t.Helper()
	var s struct {
		State        struct{ StartedAt time.Time }
		RestartCount int
	}
	if err := json.Unmarshal([]byte(docker(t, "inspect", "-f", "{{json .}}", name)), &s); err != nil {
		t.Fatal(err)
	}
	return dockerState{StartedAt: s.State.StartedAt, RestartCount: s.RestartCount}
}

// waitRestarted waits until the container has started again since before
// and runs, and returns its new state.
func waitRestarted(t *testing.T, name string, before dockerState, within time.Duration) dockerState {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if s := containerState(t, name); s.StartedAt.After(before.StartedAt) &&
			strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.Running}}", name)) == "true" {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s not restarted within %v (started at %s)", name, within, before.StartedAt)
	return dockerState{}
}

// restartConfig is a watchdog config with one HTTP check on base's /livez
// (named checkName, probed every interval with timeout, down after
// failures) whose down action restarts the Docker container.
func restartConfig(container, checkName, base string, interval, timeout time.Duration, failures int) string {
	return fmt.Sprintf(`
store: {sqlite: {path: vitals.db}}
api_keys: [{name: e2e, key: %s}]
notifiers:
  restart-accountservice:
    docker:
      container: %s
      stop_timeout: 10s
checks:
  - name: %s
    http: {url: "%s/livez"}
    interval: %v
    timeout: %v
    thresholds: {failures: %d}
    actions: {down: [restart-accountservice]}
`, watchdogKey, container, checkName, base, interval, timeout, failures)
}
