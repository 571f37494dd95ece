// Package supervise runs commands for the watchdog and keeps them running:
// a process that exits, or whose check goes down (Restart), is started
// again after a delay that grows exponentially, at most MaxRestarts times
// in a window (package restart); then the supervisor gives up, reports it
// once through Options.OnGaveUp, and leaves the process stopped until Reset
// or until the supervisor is restarted.
//
// Each Process owns one goroutine, started by Start and stopped by Stop,
// which blocks until the goroutine and the command have exited.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/actions/restart"
)

// Defaults of Config.
const (
	DefaultOutputLimit = 4096
	DefaultStopTimeout = 10 * time.Second
)

// Config describes one supervised command.
type Config struct {
	// Name identifies the process (in actions: `process: {name: …}`).
	// Required.
	Name string `yaml:"name" json:"name"`
	// Command is the program and its arguments (no shell). Required.
	Command []string `yaml:"command" json:"command"`
	// Dir is the working directory. Default: the watchdog's.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Env is added to the watchdog's environment (and overrides it).
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// OutputLimit is how many bytes of the end of stdout and of stderr are
	// kept (Status). Default 4096 each.
	OutputLimit int `yaml:"output_limit" json:"output_limit,omitempty"`
	// StopTimeout is how long a stop or restart waits after SIGTERM before
	// SIGKILL. Default 10s.
	StopTimeout time.Duration `yaml:"stop_timeout" json:"stop_timeout,omitempty"`
	// Restart bounds restarts (see restart.Policy for its defaults).
	Restart restart.Policy `yaml:"restart" json:"restart"`
	// Alert names the notification channels the daemon tells, once, when
	// the supervisor gives up (through Options.OnGaveUp). Default none.
	Alert []string `yaml:"alert" json:"alert,omitempty"`
}

// Validate reports every problem of c, naming the fields.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		errs = append(errs, errors.New("command: required"))
	}
	if c.OutputLimit < 0 {
		errs = append(errs, errors.New("output_limit: negative"))
	}
	if err := c.Restart.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("restart.%w", err))
	}
	return errors.Join(errs...)
}

// Options are the hooks of a Process. The zero value is usable.
type Options struct {
	// Logger: default slog.Default().
	Logger *slog.Logger
	// OnGaveUp is called once each time the supervisor gives up (from its
	// goroutine: return quickly), with the status at that moment. The
	// daemon raises the "gave up" alert from it. Default: nothing.
	OnGaveUp func(Status)
	// OnStart is called after each start of the command (tests, metrics).
	OnStart func(Status)
}

// Status is a snapshot of a Process.
type Status struct {
	Name string
	// Running is true while the command runs; PID is its process id.
	Running bool
	PID     int
	// Starts counts starts; Restarts counts restarts in the current
	// window (the limiter's count).
	Starts   int
	Restarts int
	// GaveUp is true while the supervisor has given up.
	GaveUp bool
	// LastExit describes the last exit ("exit status 1", "signal: killed").
	LastExit string
	// Stdout and Stderr are the ends of the output, capped (OutputLimit).
	Stdout, Stderr string
}

// ErrGaveUp is returned by Restart while the supervisor has given up.
var ErrGaveUp = errors.New("gave up restarting")

// ErrStopped is returned by Restart when the process is not started or already stopped.
var ErrStopped = errors.New("process not supervised (not started or stopped)")

// Process supervises one command. Its methods are safe for concurrent use.
type Process struct {
	cfg   Config
	given Config // as passed to Sync, to tell a change
	opts  Options
	log   *slog.Logger

	restartReq chan struct{} // capacity 1: a pending restart request
	resetReq   chan struct{} // capacity 1: forget a give-up
	stop       chan struct{}
	stopOnce   sync.Once
	started    bool
	wg         sync.WaitGroup

	mu     sync.Mutex
	status Status
	out    *tail
	errOut *tail
}

// New returns a Process for cfg, not started.
func New(cfg Config, opts Options) (*Process, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("process %q: %w", cfg.Name, err)
	}
	if cfg.OutputLimit == 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Process{
		cfg: cfg, opts: opts, log: log.With("process", cfg.Name),
		restartReq: make(chan struct{}, 1), resetReq: make(chan struct{}, 1), stop: make(chan struct{}),
		status: Status{Name: cfg.Name}, out: newTail(cfg.OutputLimit), errOut: newTail(cfg.OutputLimit),
	}, nil
}

// Config returns the configuration (defaults applied).
func (p *Process) Config() Config { return p.cfg }

// Name returns the configured name.
func (p *Process) Name() string { return p.cfg.Name }

// Start starts the command and the goroutine that supervises it. It
// returns at once; a command that cannot start counts as one that exited.
// Calling Start twice is an error.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("process %q: already started", p.cfg.Name)
	}
	p.started = true
	p.wg.Add(1)
	go p.run()
	return nil
}

// Stop terminates the command (SIGTERM to its process group, SIGKILL after
// StopTimeout) and blocks until it and the supervising goroutine exited.
// Later calls return at once.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
	return nil
}

// Restart asks for the command to be restarted (its check is down): it is
// stopped and started again through the restart limiter. Restart returns
// once the request is queued (ErrGaveUp when the supervisor has given up,
// ErrStopped when it does not run). Requests made while a restart is
// pending are merged into it.
func (p *Process) Restart(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := p.Status()
	select {
	case <-p.stop:
		return ErrStopped
	default:
	}
	switch {
	case !p.isStarted():
		return ErrStopped
	case st.GaveUp:
		return fmt.Errorf("process %q: %w", p.cfg.Name, ErrGaveUp)
	}
	select {
	case p.restartReq <- struct{}{}:
	default:
	}
	return nil
}

// Reset forgets the restart window and a give-up, and starts the command
// again if the supervisor had given up (an operator's "try again").
func (p *Process) Reset() {
	select {
	case p.resetReq <- struct{}{}:
	default:
	}
}

// Status returns a snapshot.
func (p *Process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.status
	s.Stdout, s.Stderr = p.out.String(), p.errOut.String()
	return s
}

func (p *Process) isStarted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

func (p *Process) update(f func(*Status)) Status {
	p.mu.Lock()
	f(&p.status)
	s := p.status
	p.mu.Unlock()
	s.Stdout, s.Stderr = p.out.String(), p.errOut.String()
	return s
}

// run is the supervising goroutine: start, wait for an exit, a restart
// request, stability or stop; decide; wait the delay; start again.
func (p *Process) run() {
	defer p.wg.Done()
	lim := restart.New(p.cfg.Restart)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		cmd, exited := p.start()
		lim.Up(time.Now())
		requested := false
	running:
		for {
			if at := lim.StableAt(); !at.IsZero() {
				timer.Reset(time.Until(at))
			}
			select {
			case <-p.stop:
				p.kill(cmd, exited)
				return
			case err := <-exited:
				p.exited(err)
				break running
			case <-p.restartReq:
				requested = true
				p.kill(cmd, exited)
				break running
			case <-p.resetReq:
				lim.Reset()
			case <-timer.C:
				if lim.Up(time.Now()) {
					p.log.Info("process stable: restart window reset")
					p.update(func(s *Status) { s.Restarts = 0 })
				}
			}
			timer.Stop()
		}
		timer.Stop()
		lim.Down()
		d := lim.Next(time.Now())
		if d.GaveUp {
			st := p.update(func(s *Status) { s.GaveUp = true })
			if d.First {
				p.log.Warn("gave up restarting", "restarts", d.Restarts, "window", lim.Policy().Window, "last_exit", st.LastExit)
				if p.opts.OnGaveUp != nil {
					p.opts.OnGaveUp(st)
				}
			}
			select {
			case <-p.stop:
				return
			case <-p.resetReq:
				lim.Reset()
				p.update(func(s *Status) { s.GaveUp, s.Restarts = false, 0 })
				continue
			}
		}
		p.log.Info("restarting", "in", time.Until(d.At).Round(time.Millisecond), "requested", requested, "restarts", d.Restarts)
		timer.Reset(time.Until(d.At))
		select {
		case <-p.stop:
			return
		case <-timer.C:
		case <-p.resetReq:
			lim.Reset()
			timer.Stop()
		}
		lim.Record(time.Now())
		select { // a request made meanwhile is served by this restart
		case <-p.restartReq:
		default:
		}
		p.update(func(s *Status) { s.Restarts = d.Restarts + 1 })
	}
}

// start starts the command; exited receives Wait's result (capacity 1).
// A command that cannot start is reported on exited at once.
func (p *Process) start() (*exec.Cmd, chan error) {
	exited := make(chan error, 1)
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(p.cfg.Env))
	for k := range p.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+p.cfg.Env[k])
	}
	cmd.Stdout, cmd.Stderr = p.out, p.errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.log.Error("start failed", "err", err)
		exited <- err
		return nil, exited
	}
	st := p.update(func(s *Status) { s.Running, s.PID = true, cmd.Process.Pid; s.Starts++ })
	p.log.Info("started", "pid", st.PID)
	if p.opts.OnStart != nil {
		p.opts.OnStart(st)
	}
	go func() { exited <- cmd.Wait() }()
	return cmd, exited
}

func (p *Process) exited(err error) {
	msg := "exit status 0"
	if err != nil {
		msg = err.Error()
	}
	p.update(func(s *Status) { s.Running, s.PID, s.LastExit = false, 0, msg })
	p.log.Info("exited", "status", msg)
}

// kill stops cmd: SIGTERM to its group, SIGKILL after StopTimeout, and
// waits for Wait to return.
func (p *Process) kill(cmd *exec.Cmd, exited chan error) {
	if cmd == nil {
		p.exited(<-exited)
		return
	}
	pgid := -cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	t := time.NewTimer(p.cfg.StopTimeout)
	defer t.Stop()
	select {
	case err := <-exited:
		p.exited(err)
		return
	case <-t.C:
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	p.exited(<-exited)
}

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.n; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
