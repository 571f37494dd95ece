//go:build e2e

// Package e2e runs the example service in the real Docker engine of this
// machine and checks that its HEALTHCHECK tells Docker the truth: healthy
// when it is, unhealthy when a dependency breaks for real, healthy again when
// it is restored, and a drain on stop. Run with `make e2e`.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/testenv"
)

const (
	// image is the account service's image, built once per test binary and
	// shared by every test; goBuilder is its build stage's toolchain image.
	// Every image the suite makes is named vitals-e2e-*.
	image, goBuilder = "vitals-e2e-accountservice:latest", "vitals-e2e-go-builder:local"
	// The Dockerfile's HEALTHCHECK: --interval=2s --timeout=2s --retries=3.
	hcInterval, hcTimeout, hcRetries = 2 * time.Second, 2 * time.Second, 3
	// The service's own detection: checks every second; a worker that has
	// not beaten for 3s is stalled.
	checkInterval, stallAfter = time.Second, 3 * time.Second
)

// unhealthyBudget is how long Docker may take to report unhealthy after a
// dependency breaks: the service notices (stall period + one check interval),
// then Docker needs interval × retries + timeout. Generous slack absorbs a
// loaded 2-core CI machine; the measured time is logged.
var unhealthyBudget = stallAfter + checkInterval + hcInterval*hcRetries + hcTimeout + 10*time.Second

func TestContainerTellsDockerTheTruth(t *testing.T) {
	requireDocker(t)
	buildImage(t)

	name := fmt.Sprintf("vitals-e2e-%d", time.Now().UnixNano())
	docker(t, "run", "-d", "--name", name, "-p", "127.0.0.1::8080", "-e", "CHAOS=1", image)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	base := "http://" + strings.TrimSpace(docker(t, "port", name, "8080/tcp"))

	waitHealth(t, name, "healthy", time.Minute)
	t.Logf("container %s healthy, serving %s", name, base)

	for _, tc := range []struct{ breakIt, restore string }{
		{"/chaos/worker/stall", "/chaos/worker/resume"},
		{"/chaos/store/offline", "/chaos/store/online"},
	} {
		start := time.Now()
		post(t, base+tc.breakIt)
		took := waitHealth(t, name, "unhealthy", unhealthyBudget)
		t.Logf("%s: Docker reported unhealthy after %v (budget %v)", tc.breakIt, took.Round(100*time.Millisecond), unhealthyBudget)
		if time.Since(start) > unhealthyBudget {
			t.Fatalf("%s: unhealthy only after %v", tc.breakIt, time.Since(start))
		}
		post(t, base+tc.restore)
		took = waitHealth(t, name, "healthy", time.Minute)
		t.Logf("%s: healthy again after %v", tc.restore, took.Round(100*time.Millisecond))
	}

	// docker stop sends SIGTERM: the service drains, then stops.
	docker(t, "stop", "-t", "30", name)
	logs := docker(t, "logs", name)
	for _, want := range []string{`"reason":"draining"`, "serving while draining", "health: server stopped", "accountservice stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, tail(logs, 20))
		}
	}
	if code := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.ExitCode}}", name)); code != "0" {
		t.Errorf("exit code %s after a graceful stop", code)
	}
}

// TestSwarmReplacesUnhealthyTask runs the image as a Swarm service and shows
// Swarm replacing the task that turned unhealthy: the original story of this
// product. Where swarm mode cannot start here, it skips saying why, or fails
// under VITALS_INTEGRATION=1.
func TestSwarmReplacesUnhealthyTask(t *testing.T) {
	requireDocker(t)
	requireSwarm(t)
	buildImage(t)
	svc := fmt.Sprintf("vitals-e2e-%d", time.Now().UnixNano())
	port := freePort(t)
	docker(t, "service", "create", "--detach", "--name", svc, "--replicas", "1",
		"--publish", fmt.Sprintf("published=%d,target=8080,mode=host", port),
		"--env", "CHAOS=1", "--restart-condition", "any", "--update-order", "stop-first", image)
	t.Cleanup(func() { exec.Command("docker", "service", "rm", svc).Run() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	first := waitTask(t, svc, "", time.Minute)
	container := strings.TrimSpace(docker(t, "inspect", "-f", "{{.Status.ContainerStatus.ContainerID}}", first))
	t.Logf("task %s running in container %.12s", first, container)
	waitHealth(t, container, "healthy", time.Minute)
	waitHTTP(t, base+"/readyz", time.Minute)

	post(t, base+"/chaos/worker/stall")
	start := time.Now()
	took := waitHealth(t, container, "unhealthy", unhealthyBudget)
	t.Logf("task %s unhealthy after %v", first, took.Round(100*time.Millisecond))
	second := waitTask(t, svc, first, 2*time.Minute)
	t.Logf("Swarm replaced the unhealthy task %s with %s, %v after the stall", first, second, time.Since(start).Round(time.Second))
	waitHTTP(t, base+"/readyz", time.Minute) // the new task serves
	hist := docker(t, "service", "ps", "--no-trunc", "--format", "{{.ID}} {{.DesiredState}} {{.CurrentState}}", svc)
	if !strings.Contains(hist, first+" Shutdown") {
		t.Errorf("service history does not show the first task shut down:\n%s", hist)
	}
}

// requireSwarm makes this engine a single-node swarm manager advertising
// 127.0.0.1 for the test, and leaves the swarm afterwards. An engine that is
// already a manager is used as it is and left so. A node stuck half-way
// ("pending", "error" or "locked": a join or init that a killed run left) is
// made to leave first. When swarm mode cannot start, the test skips, or
// fails under VITALS_INTEGRATION=1: it used to skip even then, so a broken
// swarm went unnoticed in CI.
func requireSwarm(t *testing.T) {
	t.Helper()
	info := strings.Fields(docker(t, "info", "-f", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"))
	if len(info) == 2 && info[0] == "active" && info[1] == "true" {
		t.Log("this engine is already a swarm manager: using it as it is")
		return
	}
	switch {
	case len(info) == 2 && info[0] == "active":
		testenv.Require(t, "docker swarm mode", errors.New("this engine is a swarm worker, not a manager: it cannot create services"))
	case len(info) > 0 && info[0] != "inactive":
		t.Logf("swarm state %q: leaving it before init", strings.Join(info, " "))
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Logf("docker swarm leave --force: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	// Loopback only, on the suite's ports (the defaults are 2377 on every
	// interface, and UDP 4789 for the overlay data path).
	args := []string{"swarm", "init", "--advertise-addr", "127.0.0.1",
		"--listen-addr", fmt.Sprintf("127.0.0.1:%d", swarmPort), "--data-path-port", fmt.Sprint(swarmDataPort)}
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		testenv.Require(t, "docker swarm mode", fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Errorf("docker swarm leave --force: %v: %s", err, bytes.TrimSpace(out))
		}
	})
}

func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "version", "-f", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		err = fmt.Errorf("no Docker engine answers: %v: %s", err, bytes.TrimSpace(out))
	}
	testenv.Require(t, "docker", err)
}

// buildImage builds the Go toolchain image (no registry here) and the
// service's image from its multi-stage Dockerfile, once per test binary.
func buildImage(t *testing.T) {
	t.Helper()
	if built {
		return
	}
	root := repoRoot(t)
	run(t, root, "scripts/go-builder-image.sh", goBuilder)
	start := time.Now()
	run(t, root, "docker", "build", "-q", "-f", "examples/accountservice/Dockerfile",
		"--build-arg", "GO_IMAGE="+goBuilder, "-t", image, ".")
	t.Logf("built %s in %v", image, time.Since(start).Round(time.Second))
	built = true
}

var built bool

// The swarm's control and data ports: the top of the suite's range, which
// freePort leaves to them.
const swarmPort, swarmDataPort = 41699, 41698

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "", "docker", args...)
}

// waitHealth polls docker inspect until the container's health is want and
// returns how long it took; it fails after within.
func waitHealth(t *testing.T, name, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < within {
		last = strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.Health.Status}}", name))
		if last == want {
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("container %s still %q after %v, want %q; health log:\n%s", name, last, within, want,
		docker(t, "inspect", "-f", "{{json .State.Health.Log}}", name))
	return 0
}

// waitTask waits until the service has a running task other than not, and
// returns its ID.
func waitTask(t *testing.T, svc, not string, within time.Duration) string {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		out := docker(t, "service", "ps", "--no-trunc", "--filter", "desired-state=running", "--format", "{{.ID}} {{.CurrentState}}", svc)
		for line := range strings.Lines(out) {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] != not && f[1] == "Running" {
				return f[0]
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("service %s: no new running task within %v:\n%s", svc, within, docker(t, "service", "ps", "--no-trunc", svc))
	return ""
}

func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %v", url, within)
}

func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

// freePort returns a port of the suite's fixed range (41600-41699) that
// nothing listens on: for a port published by the engine, which must stay
// the same across a container's restart.
func freePort(t *testing.T) int {
	t.Helper()
	for p := 41600; p < swarmDataPort; p++ {
		if testenv.Reachable(fmt.Sprintf("127.0.0.1:%d", p)) != nil {
			return p
		}
	}
	t.Fatalf("no free port in 41600-%d", swarmDataPort-1)
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vitalsBin != "" {
		os.RemoveAll(filepath.Dir(vitalsBin))
	}
	os.Exit(code)
}

// TestComposeWaitsForHealthy runs deploy/compose: the client starts only
// once the account service is healthy, and finds it ready.
func TestComposeWaitsForHealthy(t *testing.T) {
	requireDocker(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		testenv.Require(t, "docker-compose", err)
	}
	buildImage(t)
	root := repoRoot(t)
	project := fmt.Sprintf("vitalse2e%d", time.Now().UnixNano())
	file := filepath.Join(root, "deploy/compose/docker-compose.yaml")
	env := []string{"IMAGE=" + image, fmt.Sprintf("PORT=%d", freePort(t))}
	compose := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-p", project, "-f", file}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { compose("down", "-v", "--timeout", "30") })
	if out, err := compose("config", "-q"); err != nil {
		t.Fatalf("compose file invalid: %v\n%s", err, out)
	}
	out, err := compose("up", "--exit-code-from", "client", "--abort-on-container-exit")
	if err != nil {
		t.Fatalf("compose up: %v\n%s", err, tail(out, 30))
	}
	if !strings.Contains(out, "healthy") {
		t.Errorf("client did not report the service healthy:\n%s", tail(out, 30))
	}
	t.Logf("%s", tail(out, 5))
}
