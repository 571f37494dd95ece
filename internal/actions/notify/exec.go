package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/actions/supervise"
)

// Defaults of ExecConfig.
const (
	DefaultExecTimeout     = 30 * time.Second
	DefaultExecOutputLimit = 4096
)

// ExecConfig configures a command run on a transition (config kind "exec").
// The command gets the notification in its environment: VITALS_EVENT,
// VITALS_CHECK, VITALS_CHECK_ID, VITALS_STATE, VITALS_PREVIOUS,
// VITALS_REASON, VITALS_TIME (RFC 3339), VITALS_KEY (idempotency key) and
// VITALS_ATTEMPT.
type ExecConfig struct {
	// Command is the program and its arguments (no shell). Required.
	Command []string `yaml:"command" json:"command"`
	// Dir is the working directory. Default: the watchdog's.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Env is added to the watchdog's environment.
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// Timeout bounds a run; its process group is killed then. Default 30s.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// OutputLimit caps the output kept for the error of a failed run (its
	// end is kept). Default 4096 bytes.
	OutputLimit int `yaml:"output_limit" json:"output_limit,omitempty"`
}

// Validate reports every problem of c, naming the fields.
func (c *ExecConfig) Validate() error {
	var errs []error
	if len(c.Command) == 0 || c.Command[0] == "" {
		errs = append(errs, errors.New("command: required"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: negative"))
	}
	if c.OutputLimit < 0 {
		errs = append(errs, errors.New("output_limit: negative"))
	}
	return errors.Join(errs...)
}

// Build returns the Exec c describes.
func (c *ExecConfig) Build(Deps) (Notifier, error) { return NewExec(*c) }

// Exec runs a command for each notification; exit status 0 is success, any
// other a (retried) failure whose error ends with the output. Safe for
// concurrent use (each Send is its own process).
type Exec struct{ cfg ExecConfig }

var (
	_ Notifier         = (*Exec)(nil)
	_ AttemptTimeouter = (*Exec)(nil)
)

// NewExec returns an Exec for c with defaults applied.
func NewExec(c ExecConfig) (*Exec, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultExecTimeout
	}
	if c.OutputLimit == 0 {
		c.OutputLimit = DefaultExecOutputLimit
	}
	return &Exec{cfg: c}, nil
}

// AttemptTimeout implements AttemptTimeouter: the run's Timeout plus a
// margin for the kill.
func (e *Exec) AttemptTimeout() time.Duration { return e.cfg.Timeout + 5*time.Second }

// Send runs the command once for n.
func (e *Exec) Send(ctx context.Context, n Notification) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.cfg.Command[0], e.cfg.Command[1:]...)
	cmd.Dir = e.cfg.Dir
	cmd.Env = append(os.Environ(), sortedEnv(e.cfg.Env)...)
	cmd.Env = append(cmd.Env,
		"VITALS_EVENT="+n.Event, "VITALS_CHECK="+n.Check, "VITALS_CHECK_ID="+n.CheckID.Secret(),
		"VITALS_STATE="+string(n.State), "VITALS_PREVIOUS="+string(n.Previous), "VITALS_REASON="+n.Reason,
		"VITALS_TIME="+n.Time.UTC().Format(time.RFC3339Nano), "VITALS_KEY="+n.Key,
		fmt.Sprintf("VITALS_ATTEMPT=%d", n.Attempt))
	out := &capped{n: e.cfg.OutputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("%w after %s", context.DeadlineExceeded, e.cfg.Timeout)
	}
	if o := strings.TrimSpace(out.String()); o != "" {
		return fmt.Errorf("exec %s: %w: %s", e.cfg.Command[0], err, o)
	}
	return fmt.Errorf("exec %s: %w", e.cfg.Command[0], err)
}

func sortedEnv(m map[string]string) []string {
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// capped keeps the last n bytes written (safe for concurrent writes).
type capped struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, b...)
	if over := len(c.buf) - c.n; over > 0 {
		c.buf = append(c.buf[:0], c.buf[over:]...)
	}
	return len(b), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// ProcessConfig restarts a process the watchdog supervises (config kind
// "process"; the processes themselves are configured apart, see package
// supervise). Loop protection and the "gave up" alert are the supervisor's.
type ProcessConfig struct {
	// Name is the supervised process's name. Required.
	Name string `yaml:"name" json:"name"`
}

// Validate reports every problem of c, naming the fields.
func (c *ProcessConfig) Validate() error {
	if c.Name == "" {
		return errors.New("name: required")
	}
	return nil
}

// ErrNoSuchProcess is wrapped when a "process" channel names no supervised process.
var ErrNoSuchProcess = errors.New("no such supervised process")

// Build resolves the process through d.Processes.
func (c *ProcessConfig) Build(d Deps) (Notifier, error) {
	if d.Processes == nil {
		return nil, fmt.Errorf("name: %w %q (no processes supervised)", ErrNoSuchProcess, c.Name)
	}
	r, ok := d.Processes(c.Name)
	if !ok {
		return nil, fmt.Errorf("name: %w %q", ErrNoSuchProcess, c.Name)
	}
	name := c.Name
	return NotifierFunc(func(ctx context.Context, _ Notification) error {
		if err := r.Restart(ctx); err != nil {
			if errors.Is(err, ErrGaveUp) || errors.Is(err, supervise.ErrGaveUp) || errors.Is(err, supervise.ErrStopped) {
				return Permanent(fmt.Errorf("restart process %s: %w", name, err))
			}
			return fmt.Errorf("restart process %s: %w", name, err)
		}
		return nil
	}), nil
}
