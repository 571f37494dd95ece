package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-go/vitals/internal/netlimit"
	"github.com/vitals-go/vitals/internal/ping"
)

// What the daemon holds for a client is bounded three ways (docs/watchdog.md,
// "Hardening"): at accept time by the connection limits (server.
// max_connections, max_connections_per_client: internal/netlimit), while
// the headers are read by ReadHeaderTimeout, and while the body is read and
// the answer written by the deadlines of bounded (server.body_timeout,
// write_timeout). Every bound is read from the running config when it
// applies, so a reload changes them at once.

// connLimits are the running config's connection bounds.
func (d *Daemon) connLimits() netlimit.Limits {
	s := d.cfg.Load().Server
	return netlimit.Limits{Total: s.MaxConnections, PerClient: s.MaxConnectionsPerClient}
}

// The answers written to a connection refused at accept time, before it is
// closed (the request is not read: the answer cannot depend on it).
var rejectReplies = map[netlimit.Reason][]byte{
	netlimit.OverPerClient: rawAnswer(http.StatusTooManyRequests, "too many open connections from your address (server.max_connections_per_client)"),
	netlimit.OverTotal:     rawAnswer(http.StatusServiceUnavailable, "too many open connections (server.max_connections)"),
}

func rawAnswer(code int, reason string) []byte {
	body := reason + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n%s: %s\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), ping.ReasonHeader, reason, len(body), body)
}

// newLimiter returns the daemon's connection limiter (one for all its
// listeners), and warns when the bound on connections is above what the
// process may open: past it, accepting fails and every client waits.
func (d *Daemon) newLimiter() *netlimit.Limiter {
	if n, ok := netlimit.FileLimit(); ok {
		if limit := d.cfg.Load().Server.MaxConnections; uint64(limit)+fdReserve > n {
			d.log.Warn("server.max_connections is above the open files limit: raise the limit (ulimit -n, LimitNOFILE=) or lower max_connections",
				"max_connections", limit, "open_files_limit", n)
		}
	}
	return netlimit.New(netlimit.Options{Limits: d.connLimits, Reply: func(r netlimit.Reason) []byte { return rejectReplies[r] }})
}

// fdReserve is the files the daemon needs besides its connections (the
// store, probes' connections, supervised processes' pipes).
const fdReserve = 256

// serverMetrics are the counters of the connection limits and deadlines,
// served on /metrics.
func (d *Daemon) serverMetrics() []prometheus.Collector {
	rejected := func(reason netlimit.Reason, n func(netlimit.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vitals_http_connections_rejected_total",
			Help:        "Connections closed at accept time because server.max_connections (reason total) or max_connections_per_client (reason per_client) were open.",
			ConstLabels: prometheus.Labels{"reason": reason.String()}},
			func() float64 { return float64(n(d.lim.Stats())) })
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vitals_http_connections_open", Help: "Client connections open."},
			func() float64 { return float64(d.lim.Stats().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vitals_http_connections_accepted_total", Help: "Client connections accepted."},
			func() float64 { return float64(d.lim.Stats().Accepted) }),
		rejected(netlimit.OverTotal, func(s netlimit.Stats) uint64 { return s.RejectedTotal }),
		rejected(netlimit.OverPerClient, func(s netlimit.Stats) uint64 { return s.RejectedPerClient }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vitals_http_body_timeouts_total", Help: "Requests whose body was not received within server.body_timeout (answered 408, connection closed)."},
			func() float64 { return float64(d.bodyTimeouts.Load()) }),
	}
}

// bounded bounds the time a request may take to send its body and to read
// the answer, for every handler of the daemon:
//
//   - a request with a body must send all of it within server.body_timeout
//     of the handler's start (a read deadline on the connection; trickling
//     bytes does not extend it). A read that hits the deadline fails, and
//     the answer is 408 Request Timeout with Connection: close, whatever the
//     handler wrote after the failure (unless it had already answered).
//     A request without a body gets no read deadline: the server is
//     reading ahead on its connection to notice a client that goes away,
//     and a deadline there would cancel the request (the status page's
//     live stream lasts for hours);
//   - each write of the answer (and the server's final flush) must make
//     progress within server.write_timeout: the write deadline is moved
//     forward as writes are made, so a live stream that writes a heartbeat
//     stays open, and a client that stops reading is dropped.
func (d *Daemon) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := d.cfg.Load().Server
		gw := &guardedWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.WriteTimeout.D(), bodyTimeout: s.BodyTimeout.D()}
		gw.extend()
		if r.Body != nil && r.Body != http.NoBody && gw.bodyTimeout > 0 && gw.rc.SetReadDeadline(time.Now().Add(gw.bodyTimeout)) == nil {
			r = r.WithContext(r.Context()) // a shallow copy: the caller's request is not changed
			r.Body = &guardedBody{ReadCloser: r.Body, w: gw}
		}
		next.ServeHTTP(gw, r)
		if gw.timedOut.Load() {
			d.bodyTimeouts.Add(1)
			if !gw.wroteHeader {
				gw.rejectSlowBody()
			}
		}
		gw.extend() // the server writes what is buffered after the handler returns
	})
}

// errSlowBody is what the handler's writes return once its answer was
// replaced by the 408.
var errSlowBody = errors.New("request body not received in time: answered 408")

// guardedWriter moves the write deadline forward as the handler writes,
// and replaces the answer with a 408 when the body timed out.
type guardedWriter struct {
	http.ResponseWriter
	rc                   *http.ResponseController
	timeout, bodyTimeout time.Duration
	deadline             time.Time // the write deadline set last
	wroteHeader          bool
	rejected             bool
	timedOut             atomic.Bool // set by the body, possibly on another goroutine
}

// extend sets the write deadline to timeout from now, unless the one set
// last is still at least three quarters of that away (most writes then
// cost no deadline change). No timeout is no deadline.
func (w *guardedWriter) extend() {
	now := time.Now()
	if w.timeout <= 0 || w.deadline.Sub(now) >= w.timeout*3/4 {
		return
	}
	w.deadline = now.Add(w.timeout)
	w.rc.SetWriteDeadline(w.deadline)
}

func (w *guardedWriter) WriteHeader(code int) {
	if w.rejected {
		return
	}
	if code >= 200 && !w.wroteHeader {
		if w.timedOut.Load() {
			w.rejectSlowBody()
			return
		}
		w.wroteHeader = true
	}
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.rejected {
		return 0, errSlowBody
	}
	w.extend()
	return w.ResponseWriter.Write(p)
}

// FlushError is what http.ResponseController.Flush calls.
func (w *guardedWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.rejected {
		return errSlowBody
	}
	w.extend()
	return w.rc.Flush()
}

// Flush implements http.Flusher for handlers that assert it.
func (w *guardedWriter) Flush() { w.FlushError() }

// Unwrap gives http.ResponseController the server's writer (deadlines,
// hijacking).
func (w *guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// rejectSlowBody answers 408 in place of the handler's answer, and closes
// the connection (the rest of the body will not be read).
func (w *guardedWriter) rejectSlowBody() {
	w.rejected, w.wroteHeader = true, true
	reason := "the request body was not received within " + w.bodyTimeout.String()
	body := "request timeout\n"
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	h.Set(ping.ReasonHeader, reason)
	w.extend()
	w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
	io.WriteString(w.ResponseWriter, body)
}

// guardedBody notes a read that failed on the body deadline.
type guardedBody struct {
	io.ReadCloser
	w *guardedWriter
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && isTimeout(err) {
		b.w.timedOut.Store(true)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
