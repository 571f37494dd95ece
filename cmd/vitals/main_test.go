package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/daemon"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

func noEnv(string) (string, bool) { return "", false }

func runCLI(env lookupEnv, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e, env)
	return code, o.String(), e.String()
}

func TestExitCodes(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"UP"}`)) }))
	defer healthy.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, when not "*"
		stderr string // substring
	}{
		{"no args", nil, 2, "", "usage: vitals <command>"},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, "*", ""},
		{"version", []string{"version"}, 0, "*", ""},
		{"validate nothing", []string{"validate"}, 2, "", "usage: vitals validate"},
		{"validate valid", []string{"validate", "testdata/valid.yaml"}, 0,
			"testdata/valid.yaml: valid: 2 checks (1 push, 1 pull)\ntestdata/valid.yaml: warning: no api_keys: the JSON API and POST /-/reload would answer 401 to every request; " +
				"a running watchdog with API keys refuses to reload this file (write `api_keys: []` to mean it)\n", ""},
		{"validate invalid", []string{"validate", "testdata/invalid.yaml"}, 1, "",
			"testdata/invalid.yaml:6: checks[0].probe: unknown field (known: name, id"},
		{"validate missing file", []string{"validate", "testdata/nope.yaml"}, 1, "", "testdata/nope.yaml: open testdata/nope.yaml: no such file or directory"},
		{"check healthy", []string{"check", "-json", `$.status == "UP"`, healthy.URL}, 0, "*", ""},
		{"check quiet", []string{"check", "-q", healthy.URL}, 0, "", ""},
		{"check condition fails", []string{"check", "-json", `$.status == "DOWN"`, healthy.URL}, 1, "", `$.status == "DOWN": found "UP"`},
		{"check 503", []string{"check", down.URL}, 1, "", "DOWN " + down.URL + ": status 503"},
		{"check bad url", []string{"check", "ftp://x"}, 2, "", "bad target"},
		{"check bad condition", []string{"check", "-json", "x", healthy.URL}, 2, "", `json[0]: bad condition "x"`},
		{"check no url", []string{"check"}, 2, "", "usage: vitals check"},
		{"run no command", []string{"run"}, 2, "", "usage: vitals run"},
		{"run bad url", []string{"run", "--ping-url", "nope", "--", "true"}, 2, "", `--ping-url "nope" is not an http(s) URL`},
		{"run no monitoring", []string{"run", "--", "sh", "-c", "exit 7"}, 7, "", "running without monitoring"},
		{"watchdog bad flag", []string{"watchdog", "-nope"}, 2, "", "flag provided but not defined"},
		{"watchdog invalid config", []string{"watchdog", "-config", "testdata/invalid.yaml"}, 1, "", "testdata/invalid.yaml:2: server.listen[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(noEnv, tt.args...)
			if code != tt.code || (tt.stdout != "*" && stdout != tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestValidateEveryError: every error of the file, one per line, in order.
func TestValidateEveryError(t *testing.T) {
	_, _, stderr := runCLI(noEnv, "validate", "testdata/invalid.yaml")
	want := `testdata/invalid.yaml:2: server.listen[0]: "nohostport" is not host:port (e.g. 127.0.0.1:8000 or :8000)
testdata/invalid.yaml:5: checks[0].cron: invalid cron expression "* * *": expected exactly 5 fields, found 3: [* * *]
testdata/invalid.yaml:6: checks[0].probe: unknown field (known: name, id, slug, tags, desc, ping_key, period, cron, tz, grace, min_run_time, manual_resume, post_only, http, grpc, tcp, command, interval, timeout, thresholds, actions, parents)
`
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

// startDaemon runs a real daemon in-process on 127.0.0.1:0 with its
// SQLite store in a temp dir.
func startDaemon(t *testing.T, checks string) (*daemon.Daemon, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(file, []byte("server: {listen: [\"127.0.0.1:0\"]}\nstore: {sqlite: {path: v.db}}\npings: {ping_key: pk}\nchecks:\n"+checks), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, daemon.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, "http://" + d.Addrs()[0].String()
}

// TestRunJob: vitals run against a real daemon sends a start and an
// exit-status ping with the same run id and the output as the body, and
// exits with the command's code.
func TestRunJob(t *testing.T) {
	d, base := startDaemon(t, "  - {name: job, slug: job, period: 1d}\n")
	id := d.CheckID("job")
	pings := func() []model.Ping {
		ps, err := d.Store().Pings(context.Background(), id, store.PingQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}

	code, stdout, stderr := runCLI(noEnv, "run", "--ping-url", base+"/ping/"+id.Secret(), "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || stdout != "out\n" || stderr != "err\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	ps := pings() // newest first
	if len(ps) != 2 || ps[1].Kind != model.PingStart || ps[0].Kind != model.PingExitStatus || ps[0].ExitStatus != 3 {
		t.Fatalf("pings %+v", ps)
	}
	if ps[0].RID == uuid.Nil || ps[0].RID != ps[1].RID || ps[0].Duration <= 0 {
		t.Errorf("run id / duration: %+v", ps[0])
	}
	if b := string(ps[0].Body); b != "out\nerr\n" && b != "err\nout\n" {
		t.Errorf("body %q", b)
	}
	if cs, _ := d.Engine().Get(id); cs.State.Status != model.StatusDown {
		t.Errorf("status %s after exit 3", cs.State.Status)
	}

	// Success through the slug URL from the environment, output capped to its tail.
	env := func(k string) (string, bool) {
		if k == pingURLEnv {
			return base + "/ping/pk/job", true
		}
		return "", false
	}
	code, _, _ = runCLI(env, "run", "--max-output", "10", "--", "sh", "-c", "echo 0123456789; echo abcdefgh")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	ps = pings()
	if ps[0].ExitStatus != 0 || string(ps[0].Body) != "\nabcdefgh\n" {
		t.Errorf("success ping %+v body %q", ps[0], ps[0].Body)
	}
	if cs, _ := d.Engine().Get(id); cs.State.Status != model.StatusUp {
		t.Errorf("status %s after exit 0", cs.State.Status)
	}

	// A command that cannot start: 127, reported.
	code, _, stderr = runCLI(noEnv, "run", "--ping-url", base+"/ping/"+id.Secret(), "--", "/nonexistent/job")
	if code != 127 || !strings.Contains(stderr, "no such file") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if ps = pings(); ps[0].ExitStatus != 127 || !strings.Contains(string(ps[0].Body), "no such file") {
		t.Errorf("ping %+v", ps[0])
	}

	// A ping that fails does not change the exit code: unknown check.
	code, _, stderr = runCLI(noEnv, "run", "--retries", "1", "--ping-url", base+"/ping/"+uuid.NewString(), "--", "true")
	if code != 0 || !strings.Contains(stderr, "start ping to") || !strings.Contains(stderr, "404") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}

	// Killed by a signal: 128+N.
	code, _, _ = runCLI(noEnv, "run", "--", "sh", "-c", "kill -TERM $$")
	if code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// TestWatchdogProcess builds vitals and runs "vitals watchdog" as a
// process: it serves, reloads on SIGHUP, and exits 0 on SIGTERM.
func TestWatchdogProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vitals")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "w.yaml")
	write := func(checks string) {
		os.WriteFile(file, []byte("server: {listen: [\"127.0.0.1:0\"]}\nstore: {sqlite: {path: v.db}}\napi_keys: [{name: k, key: ro-key-0123456789abcdef}]\nchecks:\n"+checks), 0o600)
	}
	write("  - {name: one, period: 1h}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "watchdog", "-config", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(re string) string {
		t.Helper()
		r := regexp.MustCompile(re)
		for l := range lines {
			if testing.Verbose() {
				t.Log(l)
			}
			if r.MatchString(l) {
				return l
			}
		}
		t.Fatalf("no log line matching %s", re)
		return ""
	}
	addr := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(waitLine(`msg="vitals watchdog started"`))[1]
	// The log tells where to find the ping URL, and never shows it (the
	// id is derived from the store's installation secret, and is secret).
	hint := waitLine(`heartbeat check: `)
	if !strings.Contains(hint, "http://"+addr+"/api/v3/checks/") || regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`).MatchString(hint) {
		t.Errorf("heartbeat line: %s", hint)
	}
	count := func() int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/checks", nil)
		req.Header.Set("X-Api-Key", "ro-key-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Count(string(b), `"name":`)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d checks", n)
	}
	write("  - {name: one, period: 1h}\n  - {name: two, period: 1h}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(`msg="config reloaded".*created=1`)
	if n := count(); n != 2 {
		t.Errorf("%d checks after SIGHUP", n)
	}
	write("  - {name: one, period: nope}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(`config error.*checks\[0\]\.period: invalid duration`)
	if n := count(); n != 2 {
		t.Errorf("%d checks after an invalid reload", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitLine(`msg=stopped`)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
