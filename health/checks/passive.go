package checks

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Passive is passive health checking (outlier detection) of the instance
// itself: it counts the outcomes of the requests it really serves, and when
// too many fail within a sliding time window it fails readiness for an
// ejection time, so that the load balancer stops sending traffic to it.
// When the ejection time is over the instance gets a chance again
// (half-open): the window starts empty, and it is ejected again only if the
// new traffic fails as well.
//
// Outcomes come from [Passive.Middleware] for HTTP (a 5xx status or a panic
// is a failure by default) or from [Passive.Record] for other protocols,
// such as a gRPC interceptor. Register the Passive as a Readiness check with
// a short Interval (such as 1 second): the window is evaluated when the
// check runs.
//
// The request path is lock-free and reads no clock: each outcome is one
// atomic add on a counter shard that stays with the current CPU (sync.Pool
// affinity), so it scales with cores. The check snapshots the cumulative
// counters; the window is the difference between now and the newest
// snapshot at least Window old, so it slides at the resolution of the
// check's interval.
//
// It can be switched off and on at run time with [Passive.SetEnabled] (a
// feature flag): while disabled the middleware passes requests straight
// through, Record does nothing and the check passes.
//
// Create it with [NewPassive]. All methods are safe for concurrent use.
type Passive struct {
	window       time.Duration
	ratio        float64
	minRequests  uint64
	ejectionTime time.Duration
	failed       func(status int) bool
	now          func() time.Time

	enabled atomic.Bool
	shards  []passiveShard
	next    atomic.Uint32 // round robin over shards for new pool entries
	tokens  sync.Pool     // *passiveShard, for Record
	writers sync.Pool     // *passiveWriter, for the middleware

	mu           sync.Mutex
	snaps        []passiveSnap // oldest first
	ejectedUntil time.Time     // zero when not ejected
	lastRatio    float64
}

var _ health.Checker = (*Passive)(nil)

// PassiveOptions configures [NewPassive]. The zero value is ready to use.
type PassiveOptions struct {
	// Window is the time over which outcomes are counted. Default: 10
	// seconds.
	Window time.Duration
	// FailureRatio is the share of failed requests (0 to 1) at or above
	// which the instance is ejected. Default: 0.5.
	FailureRatio float64
	// MinRequests is the least number of requests in the window before the
	// ratio is judged, so that a handful of errors on an idle instance does
	// not eject it. Default: 20.
	MinRequests int
	// EjectionTime is how long readiness fails after an ejection. Default:
	// 30 seconds.
	EjectionTime time.Duration
	// Failed classifies an HTTP response status as a failure. It is called
	// on the request path and must be fast. Default: status >= 500.
	Failed func(status int) bool
	// Now is the clock of the check. Default: time.Now.
	Now func() time.Time
}

// Defaults of [PassiveOptions].
const (
	DefaultPassiveWindow       = 10 * time.Second
	DefaultPassiveFailureRatio = 0.5
	DefaultPassiveMinRequests  = 20
	DefaultPassiveEjectionTime = 30 * time.Second
)

// maxPassiveSnaps bounds the snapshots kept: a new one is only taken when
// the newest is at least window/maxPassiveSnaps old.
const maxPassiveSnaps = 64

type passiveShard struct {
	total, failed atomic.Uint64
	_             [128 - 16]byte // keep shards on separate cache lines (and prefetch pairs)
}

type passiveSnap struct {
	at            time.Time
	total, failed uint64
}

// NewPassive returns an enabled passive health checker.
//
//	p := checks.NewPassive(checks.PassiveOptions{}); handler = p.Middleware(handler)
func NewPassive(opts PassiveOptions) *Passive {
	p := &Passive{
		window:       opts.Window,
		ratio:        opts.FailureRatio,
		minRequests:  uint64(max(opts.MinRequests, 0)),
		ejectionTime: opts.EjectionTime,
		failed:       opts.Failed,
		now:          opts.Now,
	}
	if p.window <= 0 {
		p.window = DefaultPassiveWindow
	}
	if p.ratio <= 0 || p.ratio > 1 {
		p.ratio = DefaultPassiveFailureRatio
	}
	if opts.MinRequests <= 0 {
		p.minRequests = DefaultPassiveMinRequests
	}
	if p.ejectionTime <= 0 {
		p.ejectionTime = DefaultPassiveEjectionTime
	}
	if p.now == nil {
		p.now = time.Now
	}
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	p.shards = make([]passiveShard, n)
	p.tokens.New = func() any { return p.nextShard() }
	p.writers.New = func() any { return &passiveWriter{shard: p.nextShard()} }
	p.enabled.Store(true)
	p.resetLocked(p.now())
	return p
}

func (p *Passive) nextShard() *passiveShard {
	return &p.shards[p.next.Add(1)%uint32(len(p.shards))]
}

// SetEnabled switches passive health checking on or off. Switching it off
// ends an ejection at once; switching it on starts with an empty window.
func (p *Passive) SetEnabled(on bool) {
	if p.enabled.Swap(on) == on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetLocked(p.now())
}

// Enabled reports whether passive health checking is on.
func (p *Passive) Enabled() bool { return p.enabled.Load() }

// Record counts the outcome of one request, failed or not. It is what a
// middleware or interceptor for another protocol calls; it does nothing
// while disabled.
func (p *Passive) Record(failed bool) {
	if !p.enabled.Load() {
		return
	}
	s := p.tokens.Get().(*passiveShard)
	s.add(failed)
	p.tokens.Put(s)
}

func (s *passiveShard) add(failed bool) {
	s.total.Add(1)
	if failed {
		s.failed.Add(1)
	}
}

// Counts returns the cumulative numbers of requests and failures recorded
// since p was created.
func (p *Passive) Counts() (total, failed uint64) {
	for i := range p.shards {
		// Read failed first: a concurrent add then never shows more
		// failures than requests.
		failed += p.shards[i].failed.Load()
		total += p.shards[i].total.Load()
	}
	return total, failed
}

// Middleware counts the outcome of every request served by next: a status
// for which Failed is true, or a panic, is a failure. The ResponseWriter
// that next sees supports http.Flusher, http.Hijacker and
// http.ResponseController (through Unwrap) when the original one does.
func (p *Passive) Middleware(next http.Handler) http.Handler {
	return &passiveHandler{p: p, next: next}
}

type passiveHandler struct {
	p    *Passive
	next http.Handler
}

func (h *passiveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.p
	if !p.enabled.Load() {
		h.next.ServeHTTP(w, r)
		return
	}
	pw := p.writers.Get().(*passiveWriter)
	pw.ResponseWriter, pw.status = w, 0
	completed := false
	defer func() {
		if !completed { // next panicked: count it, let the panic go on up
			pw.shard.add(true)
		}
	}()
	h.next.ServeHTTP(pw, r)
	completed = true
	status := pw.status
	if status == 0 {
		status = http.StatusOK
	}
	var failed bool
	if p.failed != nil {
		failed = p.failed(status)
	} else {
		failed = status >= 500
	}
	pw.shard.add(failed)
	pw.ResponseWriter = nil
	p.writers.Put(pw)
}

// Check evaluates the window. It fails with [ErrEjected] when the failure
// ratio of the window is at or above FailureRatio with at least MinRequests
// requests, and keeps failing for EjectionTime; the error gives the ratio,
// the counts and the time left. It observes the failure ratio of the window
// in percent.
func (p *Passive) Check(ctx context.Context) error {
	if !p.enabled.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Read the clock and the counters under mu, so that snapshots are
	// taken in order even when checks run concurrently.
	now := p.now()
	total, failed := p.Counts()
	if !p.ejectedUntil.IsZero() {
		if left := p.ejectedUntil.Sub(now); left > 0 {
			health.Observe(ctx, p.lastRatio*100, "percent")
			return fmt.Errorf("passive: %w for %s more: %s of requests failed, threshold %s",
				ErrEjected, formatAge(left), formatPercent1(p.lastRatio*100), formatPercent(p.ratio*100))
		}
		// Half-open: give the instance a chance with an empty window.
		p.resetLocked(now)
		health.Observe(ctx, 0, "percent")
		return nil
	}
	base := p.snaps[0]
	for _, s := range p.snaps[1:] {
		if now.Sub(s.at) < p.window {
			break
		}
		base = s
	}
	dTotal, dFailed := total-base.total, failed-base.failed
	dFailed = min(dFailed, dTotal) // counters read while requests are recorded
	var ratio float64
	if dTotal > 0 {
		ratio = float64(dFailed) / float64(dTotal)
	}
	health.Observe(ctx, ratio*100, "percent")
	p.pushLocked(passiveSnap{at: now, total: total, failed: failed})
	if dTotal >= p.minRequests && dTotal > 0 && ratio >= p.ratio {
		p.ejectedUntil = now.Add(p.ejectionTime)
		p.lastRatio = ratio
		return fmt.Errorf("passive: %w for %s: %d of %d requests failed (%s) in the last %s, threshold %s",
			ErrEjected, p.ejectionTime, dFailed, dTotal, formatPercent1(ratio*100),
			formatAge(now.Sub(base.at)), formatPercent(p.ratio*100))
	}
	return nil
}

// resetLocked empties the window and ends an ejection.
func (p *Passive) resetLocked(now time.Time) {
	total, failed := p.Counts()
	p.snaps = append(p.snaps[:0], passiveSnap{at: now, total: total, failed: failed})
	p.ejectedUntil = time.Time{}
	p.lastRatio = 0
}

// pushLocked appends a snapshot and drops those that no window needs any
// more: all but the newest one at least window old.
func (p *Passive) pushLocked(s passiveSnap) {
	last := p.snaps[len(p.snaps)-1]
	if s.at.Sub(last.at) < p.window/maxPassiveSnaps && len(p.snaps) > 1 {
		return // too close to the previous one: keep the ring bounded
	}
	p.snaps = append(p.snaps, s)
	drop := 0
	for drop+1 < len(p.snaps) && s.at.Sub(p.snaps[drop+1].at) >= p.window {
		drop++
	}
	if drop > 0 {
		p.snaps = append(p.snaps[:0], p.snaps[drop:]...)
	}
}

// passiveWriter records the status written through it. It is padded to
// two cache lines: writers of requests served on different CPUs must not
// share a line (false sharing would serialise the cores).
type passiveWriter struct {
	http.ResponseWriter
	status int
	shard  *passiveShard
	_      [128 - 32]byte
}

func (w *passiveWriter) WriteHeader(code int) {
	if w.status < 200 { // unset, or informational (1xx): a final status follows
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *passiveWriter) Write(b []byte) (int, error) {
	if w.status < 200 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer if it can.
func (w *passiveWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hijacks the underlying connection if the writer allows it; a
// hijacked request counts as a success.
func (w *passiveWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap returns the original writer, for http.ResponseController.
func (w *passiveWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
