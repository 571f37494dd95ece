package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/testenv"
)

// sleeperMain is the container's program: a static binary that runs until
// it is stopped, in a FROM scratch image (no registry is reachable).
const sleeperMain = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fmt.Println("started")
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
	fmt.Println("stopping")
}
`

// buildSleeperImage builds the image once per test run and returns its tag.
func buildSleeperImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module sleeper\n\ngo 1.22\n")
	write("main.go", sleeperMain)
	write("Dockerfile", "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n")
	run(t, dir, []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "sleeper", ".")
	tag := "vitals-actions-sleeper:test"
	run(t, dir, nil, "docker", "build", "-q", "-t", tag, ".")
	return tag
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func startedAt(t *testing.T, name string) (string, string) {
	out := run(t, "", nil, "docker", "inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", name)
	at, running, _ := strings.Cut(out, " ")
	return at, running
}

// The docker action restarts a real container through the Engine API on
// the unix socket.
func TestDockerRestartRealContainer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	testenv.Require(t, "docker", NewDocker("").Ping(ctx))
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Require(t, "docker", fmt.Errorf("docker CLI (used to build the test image): %w", err))
	}
	tag := buildSleeperImage(t)
	name := "vitals-actions-" + uuid.NewString()[:8]
	run(t, "", nil, "docker", "run", "-d", "--name", name, tag)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	before, running := startedAt(t, name)
	if running != "true" {
		t.Fatalf("container not running: %s", running)
	}

	spec, err := NewRegistry().Decode("docker", func(v any) error {
		c := v.(*DockerConfig)
		c.Container, c.StopTimeout = name, 2*time.Second
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := spec.Build(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(ctx, testNotification("restart-api")); err != nil {
		t.Fatal(err)
	}
	after, running := startedAt(t, name)
	if running != "true" || after == before {
		t.Fatalf("after restart: started %s (before %s), running %s", after, before, running)
	}
	if logs := run(t, "", nil, "docker", "logs", name); strings.Count(logs, "started") != 2 || !strings.Contains(logs, "stopping") {
		t.Fatalf("logs: %q", logs)
	}

	err = NewDocker("").RestartContainer(ctx, name+"-absent", time.Second)
	if !errors.Is(err, ErrNoSuchContainer) || !errors.Is(err, ErrPermanent) {
		t.Fatalf("absent container: %v", err)
	}
}

func TestDockerNoEngine(t *testing.T) {
	d := NewDocker(filepath.Join(t.TempDir(), "nope.sock"))
	err := d.RestartContainer(context.Background(), "x", time.Second)
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}
