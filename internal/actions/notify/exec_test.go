package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExecPassesTheNotification(t *testing.T) {
	dir := t.TempDir()
	e, err := NewExec(ExecConfig{
		Command: []string{"sh", "-c", `printf '%s|%s|%s|%s|%s|%s|%s|%s|%s' "$VITALS_EVENT" "$VITALS_CHECK" "$VITALS_CHECK_ID" "$VITALS_STATE" "$VITALS_PREVIOUS" "$VITALS_REASON" "$VITALS_KEY" "$VITALS_ATTEMPT" "$EXTRA" > out; pwd > where`},
		Dir:     dir,
		Env:     map[string]string{"EXTRA": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification("cleanup")
	if err := e.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	want := strings.Join([]string{"down", n.Check, testCheck.Secret(), "down", "up", n.Reason, n.Key, "1", "x"}, "|")
	if string(out) != want {
		t.Errorf("env seen:\n%s\nwant\n%s", out, want)
	}
	if where, _ := os.ReadFile(filepath.Join(dir, "where")); strings.TrimSpace(string(where)) != dir {
		t.Errorf("dir = %q", where)
	}
}

func TestExecFailureKeepsTheEndOfTheOutput(t *testing.T) {
	e, _ := NewExec(ExecConfig{Command: []string{"sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a; echo; echo the end >&2; exit 4"}, OutputLimit: 100})
	err := e.Send(context.Background(), testNotification("x"))
	if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "exit status 4") || !strings.HasSuffix(err.Error(), "the end") {
		t.Fatalf("err = %v", err)
	}
	if len(err.Error()) > 200 {
		t.Fatalf("output not capped: %d bytes", len(err.Error()))
	}
}

// The timeout kills the whole process group, grandchildren included.
func TestExecTimeoutKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	e, _ := NewExec(ExecConfig{Command: []string{"sh", "-c", "sleep 3600 & echo $! > child; wait"}, Dir: dir, Timeout: 200 * time.Millisecond})
	err := e.Send(context.Background(), testNotification("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "child"))
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		t.Fatal("no child pid written")
	}
	waitUntil(t, "grandchild killed", func() bool {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		return err != nil || strings.Contains(string(st), ") Z ")
	})
}

func TestExecConfigValidate(t *testing.T) {
	err := (&ExecConfig{Timeout: -1, OutputLimit: -1}).Validate()
	for _, want := range []string{"command: required", "timeout: negative", "output_limit: negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}
