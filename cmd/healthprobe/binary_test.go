package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/testenv"
)

// maxBinarySize is the budget for the stripped binary, gRPC included
// (SPEC §3; a plain net/http client alone is about 6 MiB).
const maxBinarySize = 7 << 20

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// buildBinary builds healthprobe as it ships: static, trimmed, stripped.
// It is built once per test binary, into a directory removed by TestMain.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "healthprobe-test-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(buildDir, "healthprobe"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building healthprobe: %v", buildErr)
	}
	return filepath.Join(buildDir, "healthprobe")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// runBinary runs the binary with args and a clean environment plus env.
func runBinary(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("running %s: %v", bin, err)
	}
	return code, out.String(), errOut.String()
}

func TestBinaryAgainstLoopbackServer(t *testing.T) {
	bin := buildBinary(t)
	srv := app(t)
	p := port(srv)
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string
		stderr string // first line
	}{
		{"healthy", nil, []string{"-port", p}, 0, "healthy: http://127.0.0.1:" + p + "/healthz: status 200\n", ""},
		{"env", []string{"HEALTHPROBE_PORT=" + p, "HEALTHPROBE_PATH=/readyz", "HEALTHPROBE_QUIET=1"}, nil, 0, "", ""},
		{"unhealthy", nil, []string{srv.URL + "/down"}, 1, "", "unhealthy: " + srv.URL + "/down: status 503"},
		{"refused", nil, []string{"tcp://127.0.0.1:1"}, 1, "", "unhealthy: tcp://127.0.0.1:1: connection refused"},
		{"bad arguments", nil, []string{"-nope"}, 1, "", "healthprobe: flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, bin, tt.env, tt.args...)
			first, _, _ := strings.Cut(stderr, "\n")
			if code != tt.code || stdout != tt.stdout || first != tt.stderr {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			if tt.code == 1 && tt.name != "bad arguments" && strings.Count(stderr, "\n") != 1 {
				t.Fatalf("stderr has %d lines, want exactly 1: %q", strings.Count(stderr, "\n"), stderr)
			}
		})
	}
}

// TestBinaryIsSmallStaticAndGRPCFree checks the promises of SPEC §3: a
// static binary within the size budget that does not link grpc-go (which
// the probe package's tests use as the real server).
func TestBinaryIsSmallStaticAndGRPCFree(t *testing.T) {
	bin := buildBinary(t)
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stripped binary: %d bytes (%.2f MiB)", info.Size(), float64(info.Size())/(1<<20))
	if info.Size() > maxBinarySize {
		t.Errorf("binary is %d bytes, budget %d", info.Size(), maxBinarySize)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static", prog.Type)
		}
	}

	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "dep" {
			t.Errorf("binary links a module: %s (want the standard library only)", line)
		}
	}
	if !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("binary not built with CGO_ENABLED=0:\n%s", out)
	}

	deps, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v: %s", err, deps)
	}
	for _, pkg := range strings.Fields(string(deps)) {
		if strings.HasPrefix(pkg, "google.golang.org/grpc") || strings.HasPrefix(pkg, "google.golang.org/protobuf") {
			t.Errorf("healthprobe depends on %s", pkg)
		}
	}
}

// requireDocker skips the test when no Docker engine answers, or fails it
// under VITALS_INTEGRATION=1.
func requireDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		err = fmt.Errorf("docker version: %v: %s", err, strings.TrimSpace(string(out)))
	}
	testenv.Require(t, "Docker engine", err)
}

// docker runs the docker CLI and returns its exit code and output.
func docker(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	// The classic builder needs no buildx plugin and no registry.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errOut.String()
}

// buildImage builds a FROM scratch image holding files (name to path) with
// the Dockerfile lines after FROM, and removes it when the test ends.
func buildImage(t *testing.T, files map[string]string, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	for name, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"+dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	image := "vitals-healthprobe-test:" + hex.EncodeToString(suffix)
	if code, out, errOut := docker(t, "build", "-q", "-t", image, dir); code != 0 {
		t.Fatalf("docker build: exit %d: %s %s", code, out, errOut)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", image) })
	return image
}

// TestBinaryInScratchImage runs the binary as the only file of a FROM scratch
// image, on the host network, against a loopback server.
func TestBinaryInScratchImage(t *testing.T) {
	bin := buildBinary(t)
	requireDocker(t)
	image := buildImage(t, map[string]string{"healthprobe": bin}, "COPY healthprobe /healthprobe\nENTRYPOINT [\"/healthprobe\"]\n")

	srv := app(t)
	p := port(srv)
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"healthy", nil, []string{"-port", p}, 0, "healthy: http://127.0.0.1:" + p + "/healthz: status 200\n", ""},
		{"env", []string{"HEALTHPROBE_PORT=" + p, "HEALTHPROBE_PATH=/down"}, nil, 1, "", "unhealthy: http://127.0.0.1:" + p + "/down: status 503\n"},
		{"refused", nil, []string{"tcp://127.0.0.1:1"}, 1, "", "unhealthy: tcp://127.0.0.1:1: connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"run", "--rm", "--network", "host"}
			for _, e := range tt.env {
				args = append(args, "-e", e)
			}
			args = append(append(args, image), tt.args...)
			code, stdout, stderr := docker(t, args...)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d %q %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// buildStatic builds a package of this module statically into dir.
func buildStatic(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v: %s", pkg, err, b)
	}
	return out
}

// TestDockerHealthcheck lets the real Docker engine run healthprobe as the
// HEALTHCHECK of a FROM scratch image and watches the container's health
// follow the service: healthy, unhealthy when /healthz answers 503, healthy
// again, with the probe's one-line reason in Docker's health log.
func TestDockerHealthcheck(t *testing.T) {
	bin := buildBinary(t)
	requireDocker(t)
	server := buildStatic(t, t.TempDir(), "healthserver", "./testdata/healthserver")

	// Host networking keeps the test free of iptables; the port is chosen
	// here and handed to the probe through HEALTHPROBE_PORT, as an image
	// built on a shared base image would.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()

	image := buildImage(t, map[string]string{"healthprobe": bin, "healthserver": server},
		"COPY healthprobe healthserver /\n"+
			"HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD [\"/healthprobe\"]\n"+
			"ENTRYPOINT [\"/healthserver\"]\n")
	code, out, errOut := docker(t, "run", "-d", "--network", "host", "-e", "HEALTHPROBE_PORT="+p, image, "-addr", "127.0.0.1:"+p)
	if code != 0 {
		t.Fatalf("docker run: exit %d: %s %s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	t.Cleanup(func() { docker(t, "rm", "-f", id) })

	type healthLog struct {
		ExitCode int
		Output   string
	}
	type health struct {
		Status string
		Log    []healthLog
	}
	inspect := func() health {
		t.Helper()
		code, out, errOut := docker(t, "inspect", "--format", "{{json .State.Health}}", id)
		if code != 0 {
			t.Fatalf("docker inspect: exit %d: %s", code, errOut)
		}
		var h health
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("docker inspect: %v: %s", err, out)
		}
		return h
	}
	// waitFor polls Docker until the container's health status is want.
	waitFor := func(want string) health {
		t.Helper()
		var h health
		testenv.WaitFor(t, "container "+want, time.Minute, func() error {
			if h = inspect(); h.Status != want {
				return fmt.Errorf("health %q, log %+v", h.Status, h.Log)
			}
			return nil
		})
		return h
	}
	toggle := func() {
		t.Helper()
		resp, err := http.Post("http://127.0.0.1:"+p+"/toggle", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	last := func(h health) healthLog {
		if len(h.Log) == 0 {
			t.Fatal("empty health log")
		}
		return h.Log[len(h.Log)-1]
	}

	h := waitFor("healthy")
	if l := last(h); l.ExitCode != 0 || l.Output != "healthy: http://127.0.0.1:"+p+"/healthz: status 200\n" {
		t.Errorf("healthy probe logged exit %d, output %q", l.ExitCode, l.Output)
	}
	toggle()
	h = waitFor("unhealthy")
	if l := last(h); l.ExitCode != 1 || l.Output != "unhealthy: http://127.0.0.1:"+p+"/healthz: status 503\n" {
		t.Errorf("unhealthy probe logged exit %d, output %q", l.ExitCode, l.Output)
	}
	toggle()
	waitFor("healthy")
}
