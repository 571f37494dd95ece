// Package ratelog keeps an error that repeats from flooding the log: a
// full disk makes every ping fail, and one line per ping is thousands of
// lines a second that bury everything else.
//
// A [Limiter] logs the first occurrence of a message at once and opens a
// window of Options.Interval. Occurrences of the same message within the
// window are counted, not logged; when the window ends with a count, one
// line is logged with the attributes of the last occurrence and
// "repeated"=N (how many occurrences that line stands for), and a new
// window opens. A window that ends with no occurrence closes: the next one
// is logged at once again. So a message that goes on failing is logged at
// most once per interval, with its count, and nothing is lost from the
// count.
//
// Messages are told apart by their text alone (a store failing for every
// check is one message), so a message should not carry what varies in it:
// put that in the attributes.
package ratelog

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// DefaultInterval is Options.Interval's default.
const DefaultInterval = 10 * time.Second

// Options configure a Limiter. The zero value is usable.
type Options struct {
	// Interval is the window after a line during which the same message
	// is counted instead of logged. Default DefaultInterval.
	Interval time.Duration
}

// Limiter rate-limits lines by message. It is safe for concurrent use. Its
// windows run on timers (time.AfterFunc), so tests drive it with
// testing/synctest; it starts no goroutine of its own, and a window timer
// stops by itself once its message stops repeating.
type Limiter struct {
	log      *slog.Logger
	interval time.Duration

	// inflight counts armed window timers and running callbacks, for Close.
	inflight sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	windows map[string]*window
}

// window is the open window of one message.
type window struct {
	timer *time.Timer
	level slog.Level // the highest level counted
	n     int        // occurrences counted in the window
	args  []any      // the attributes of the last of them
}

// New returns a Limiter that logs to log. See Options for defaults.
func New(log *slog.Logger, opts Options) *Limiter {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	return &Limiter{log: log, interval: opts.Interval, windows: make(map[string]*window)}
}

// Log logs msg at level with args (as slog.Logger.Log does) if no line of
// msg was logged in the current window, and counts it otherwise.
func (l *Limiter) Log(ctx context.Context, level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.log.Log(ctx, level, msg, args...)
		return
	}
	if w, ok := l.windows[msg]; ok {
		w.n++
		w.level = max(w.level, level)
		w.args = args
		l.mu.Unlock()
		return
	}
	l.openLocked(msg, level)
	l.mu.Unlock()
	l.log.Log(ctx, level, msg, args...)
}

// Error is Log at slog.LevelError.
func (l *Limiter) Error(ctx context.Context, msg string, args ...any) {
	l.Log(ctx, slog.LevelError, msg, args...)
}

// openLocked opens a window for msg; l.mu must be held.
func (l *Limiter) openLocked(msg string, level slog.Level) {
	w := &window{level: level}
	l.inflight.Add(1)
	w.timer = time.AfterFunc(l.interval, func() { l.end(msg, w) })
	l.windows[msg] = w
}

// end ends w, the window of msg: it logs its count, if any, and opens the
// next window.
func (l *Limiter) end(msg string, w *window) {
	defer l.inflight.Done()
	l.mu.Lock()
	if l.closed || l.windows[msg] != w {
		l.mu.Unlock()
		return
	}
	delete(l.windows, msg)
	if w.n == 0 {
		l.mu.Unlock()
		return
	}
	l.openLocked(msg, w.level)
	l.mu.Unlock()
	l.log.Log(context.Background(), w.level, msg, slices.Concat(w.args, []any{"repeated", w.n})...)
}

// Close logs the counts of the open windows at once and stops their
// timers; it returns when no timer callback runs. Lines logged after Close
// are not limited. Close is idempotent.
func (l *Limiter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	var pending []*window
	var msgs []string
	for msg, w := range l.windows {
		if w.timer.Stop() {
			l.inflight.Done() // its callback will not run
		}
		if w.n > 0 {
			pending, msgs = append(pending, w), append(msgs, msg)
		}
	}
	l.windows = nil
	l.mu.Unlock()
	for i, w := range pending {
		l.log.Log(context.Background(), w.level, msgs[i], slices.Concat(w.args, []any{"repeated", w.n})...)
	}
	l.inflight.Wait()
}
