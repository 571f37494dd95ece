// Command slowbody is the load tool of the slow-body benchmark
// (scripts/bench-slowbody.sh, BENCHMARKS.md): it measures a normal
// client's pings to a running daemon while it is quiet, then while many
// connections from another loopback address send ping bodies a byte at a
// time (slowloris), and reports the pings' latency, what the slow
// connections were answered, and the daemon's memory.
//
// Everything it does is bounded: at most -conns slow connections at once,
// each redialled at most once per -redial after the server drops it, for
// -attack; the normal client pings one at a time, each with a timeout.
// Loopback addresses only.
//
//	slowbody -addr 127.0.0.1:41231 -ping /ping/<uuid> -pid <daemon pid>
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

type options struct {
	addr, ping, slowFrom, normalFrom, metricsFrom string
	pid                                           int
	conns, procs                                  int
	slowOnly                                      bool
	quiet, attack, trickle, redial, every         time.Duration
}

func run() int {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:41231", "the daemon's address (loopback)")
	flag.StringVar(&o.ping, "ping", "", "path of a push check's ping URL, /ping/<uuid> (required)")
	flag.IntVar(&o.pid, "pid", 0, "the daemon's process id, for its memory (/proc/<pid>/status)")
	flag.IntVar(&o.conns, "conns", 20000, "slow connections held at once")
	flag.IntVar(&o.procs, "procs", 0, "processes sharing the slow connections (each has its own open files limit); default: as many as the limit needs")
	flag.BoolVar(&o.slowOnly, "slow-only", false, "run -conns slow connections for -attack and print their counts as JSON (the helper processes)")
	flag.StringVar(&o.slowFrom, "slow-from", "127.0.0.2", "source address of the slow connections")
	flag.StringVar(&o.normalFrom, "normal-from", "127.0.0.3", "source address of the normal client")
	flag.StringVar(&o.metricsFrom, "metrics-from", "127.0.0.4", "source address of the /metrics scrapes")
	flag.DurationVar(&o.quiet, "quiet", 10*time.Second, "baseline: the normal client alone")
	flag.DurationVar(&o.attack, "attack", 40*time.Second, "the normal client while the slow connections run")
	flag.DurationVar(&o.trickle, "trickle", 5*time.Second, "a slow connection sends one body byte this often")
	flag.DurationVar(&o.redial, "redial", 5*time.Second, "a dropped slow connection is made again after this long")
	flag.DurationVar(&o.every, "every", 20*time.Millisecond, "the normal client's pause between pings")
	flag.Parse()
	if o.ping == "" || !strings.HasPrefix(o.ping, "/") {
		fmt.Fprintln(os.Stderr, "slowbody: -ping /ping/<uuid> is required")
		return 2
	}
	for _, a := range []string{o.addr, o.slowFrom, o.normalFrom, o.metricsFrom} {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "slowbody: %s is not a loopback address\n", a)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.slowOnly {
		return slowOnly(ctx, o)
	}
	// The slow connections are shared among processes when one cannot
	// open them all (the hard limit on open files may be out of reach).
	limit, _ := raiseFileLimit(uint64(o.conns) + fileSlack)
	if o.procs <= 0 {
		per := max(int(limit)-fileSlack, 1)
		o.procs = (o.conns + per - 1) / per
	}

	fmt.Printf("quiet baseline: %v of pings from %s\n", o.quiet, o.normalFrom)
	rssBefore := rss(o.pid, "VmRSS")
	quiet := pingFor(ctx, o, o.quiet)

	fmt.Printf("attack: %d slow connections from %s (one body byte every %v) for %v, pings from %s\n",
		o.conns, o.slowFrom, o.trickle, o.attack, o.normalFrom)
	actx, cancel := context.WithTimeout(ctx, o.attack)
	defer cancel()
	var sl slowStats
	var wg sync.WaitGroup
	share := o.conns / o.procs
	helpers := make([]slowCounts, o.procs-1)
	helperErrs := make([]error, o.procs-1)
	for i := range helpers {
		wg.Go(func() { helpers[i], helperErrs[i] = runHelper(actx, o, share) })
	}
	sl.start(actx, &wg, o, o.conns-share*(o.procs-1))
	peakOpen := 0.0
	wg.Go(func() { peakOpen = sample(actx, o) })
	attack := pingFor(actx, o, o.attack)
	cancel()
	wg.Wait()
	total := sl.counts()
	for i, h := range helpers {
		if helperErrs[i] != nil {
			fmt.Fprintf(os.Stderr, "slowbody: helper process %d: %v\n", i+1, helperErrs[i])
			return 1
		}
		total.add(h)
	}
	rssAfter := rss(o.pid, "VmRSS")
	m := scrape(o)

	fmt.Println()
	fmt.Printf("normal client, quiet:        %s\n", quiet)
	fmt.Printf("normal client, under attack: %s\n", attack)
	if quiet.p(99) > 0 {
		fmt.Printf("p99 under attack / quiet:    %.2f\n", float64(attack.p(99))/float64(quiet.p(99)))
	}
	fmt.Printf("slow connections (%d processes): %s\n", o.procs, total)
	fmt.Printf("daemon /metrics: open at most %.0f (sampled each second), accepted %s, rejected per_client %s, total %s, body timeouts %s\n",
		peakOpen, m["vitals_http_connections_accepted_total"], m[`vitals_http_connections_rejected_total{reason="per_client"}`],
		m[`vitals_http_connections_rejected_total{reason="total"}`], m["vitals_http_body_timeouts_total"])
	fmt.Printf("daemon RSS: %s before, %s after, peak (VmHWM) %s\n", rssBefore, rssAfter, rss(o.pid, "VmHWM"))
	return 0
}

// latencies of the normal client's pings.
type latencies struct {
	d      []time.Duration
	failed int
	first  string // the first failure
}

func (l latencies) p(q int) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(l.d))
	return s[min(len(s)-1, len(s)*q/100)]
}

func (l latencies) String() string {
	s := fmt.Sprintf("%d pings answered 200, p50 %v, p99 %v, max %v; %d failed", len(l.d),
		l.p(50).Round(10*time.Microsecond), l.p(99).Round(10*time.Microsecond), l.p(100).Round(10*time.Microsecond), l.failed)
	if l.first != "" {
		s += " (first: " + l.first + ")"
	}
	return s
}

// pingFor pings one at a time, a fresh connection each (as curl in a cron
// job does), for d or until ctx ends.
func pingFor(ctx context.Context, o options, d time.Duration) latencies {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(o.normalFrom)}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	var l latencies
	end := time.Now().Add(d)
	t := time.NewTimer(0)
	defer t.Stop()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return l
		case <-t.C:
		}
		start := time.Now()
		resp, err := c.Post("http://"+o.addr+o.ping, "text/plain", strings.NewReader("slowbody normal client"))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = errors.New(resp.Status)
			}
		}
		if err != nil {
			l.failed++
			if l.first == "" {
				l.first = err.Error()
			}
		} else {
			l.d = append(l.d, time.Since(start))
		}
		t.Reset(o.every)
	}
	return l
}

// fileSlack is the files a process needs besides its slow connections.
const fileSlack = 64

// slowOnly is a helper process's run: its share of the slow connections,
// then their counts as JSON on stdout.
func slowOnly(ctx context.Context, o options) int {
	if n, err := raiseFileLimit(uint64(o.conns) + fileSlack); err != nil {
		fmt.Fprintf(os.Stderr, "slowbody: open files limit %d, need %d: %v\n", n, o.conns+fileSlack, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, o.attack)
	defer cancel()
	var sl slowStats
	var wg sync.WaitGroup
	sl.start(ctx, &wg, o, o.conns)
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(sl.counts()); err != nil {
		return 1
	}
	return 0
}

// runHelper runs a helper process with n slow connections for the rest of
// ctx and returns its counts.
func runHelper(ctx context.Context, o options, n int) (slowCounts, error) {
	self, err := os.Executable()
	if err != nil {
		return slowCounts{}, err
	}
	end, _ := ctx.Deadline()
	left := time.Until(end)
	cmd := exec.Command(self, "-slow-only", "-addr", o.addr, "-ping", o.ping, "-slow-from", o.slowFrom,
		"-conns", strconv.Itoa(n), "-attack", left.String(), "-trickle", o.trickle.String(), "-redial", o.redial.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output() // it ends on its own at the end of -attack
	if err != nil {
		return slowCounts{}, err
	}
	var c slowCounts
	return c, json.Unmarshal(out, &c)
}

// slowStats count what the slow connections met.
type slowStats struct {
	dials, dialErrors, open, maxOpen, byteWrites atomic.Int64
	mu                                           sync.Mutex
	answers                                      map[string]int // status line or how it ended
}

// start runs n slow connections until ctx ends, their dials spread over
// one trickle period; wg tracks them.
func (s *slowStats) start(ctx context.Context, wg *sync.WaitGroup, o options, n int) {
	for i := range n {
		wg.Go(func() { s.loop(ctx, o, time.Duration(i)*o.trickle/time.Duration(n)) })
	}
}

// slowCounts are slowStats as numbers, summed over processes.
type slowCounts struct {
	Dials, DialErrors, MaxOpen, ByteWrites int64
	Answers                                map[string]int
}

func (s *slowStats) counts() slowCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slowCounts{Dials: s.dials.Load(), DialErrors: s.dialErrors.Load(), MaxOpen: s.maxOpen.Load(),
		ByteWrites: s.byteWrites.Load(), Answers: maps.Clone(s.answers)}
}

func (c *slowCounts) add(o slowCounts) {
	c.Dials += o.Dials
	c.DialErrors += o.DialErrors
	c.MaxOpen += o.MaxOpen // a bound: the processes' peaks need not coincide
	c.ByteWrites += o.ByteWrites
	if c.Answers == nil {
		c.Answers = map[string]int{}
	}
	for k, v := range o.Answers {
		c.Answers[k] += v
	}
}

func (s *slowStats) answered(what string) {
	s.mu.Lock()
	if s.answers == nil {
		s.answers = map[string]int{}
	}
	s.answers[what]++
	s.mu.Unlock()
}

func (c slowCounts) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.Answers)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, c.Answers[k]))
	}
	return fmt.Sprintf("%d dials (%d failed), at most %d connected at once on the client side, %d body bytes sent; ended by: %s",
		c.Dials, c.DialErrors, c.MaxOpen, c.ByteWrites, strings.Join(parts, ", "))
}

// loop holds one slow connection until ctx ends: it sends a ping's headers
// announcing a 10,000-byte body and then one byte every trickle; when the
// server answers or drops it, it waits redial and makes a new one.
func (s *slowStats) loop(ctx context.Context, o options, offset time.Duration) {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(o.slowFrom)}, Timeout: 10 * time.Second}
	t := time.NewTimer(offset) // spread the dials over one trickle period
	defer t.Stop()
	head := fmt.Sprintf("POST %s/fail HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\nS", o.ping, o.addr)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.dials.Add(1)
		c, err := dialer.DialContext(ctx, "tcp", o.addr)
		if err != nil {
			if ctx.Err() == nil {
				s.dialErrors.Add(1)
				s.answered("dial error: " + errClass(err))
			}
			t.Reset(o.redial)
			continue
		}
		s.hold(ctx, c, o, head)
		t.Reset(o.redial)
	}
}

func (s *slowStats) hold(ctx context.Context, c net.Conn, o options, head string) {
	defer c.Close()
	if n := s.open.Add(1); n > s.maxOpen.Load() {
		s.maxOpen.Store(n) // racy max: a sample, not an exact figure
	}
	defer s.open.Add(-1)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(c, head); err != nil {
		s.answered("write error: " + errClass(err))
		return
	}
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(o.trickle))
		_, err := br.Peek(1)
		if err == nil {
			line, _ := br.ReadString('\n')
			s.answered(strings.TrimSpace(line))
			return
		}
		if ctx.Err() != nil {
			return // the end of the run, not the server
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			s.answered("closed: " + errClass(err))
			return
		}
		c.SetWriteDeadline(time.Now().Add(o.trickle))
		if _, err := c.Write([]byte("x")); err != nil {
			s.answered("write error: " + errClass(err))
			return
		}
		s.byteWrites.Add(1)
	}
}

func errClass(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	return err.Error()
}

// sample scrapes the daemon's open connections each second until ctx ends
// and returns the most seen.
func sample(ctx context.Context, o options) float64 {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	peak := 0.0
	for {
		select {
		case <-ctx.Done():
			return peak
		case <-t.C:
		}
		if v, err := strconv.ParseFloat(scrape(o)["vitals_http_connections_open"], 64); err == nil {
			peak = max(peak, v)
		}
	}
}

// scrape returns the daemon's /metrics samples by series.
func scrape(o options) map[string]string {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(o.metricsFrom)}}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	out := map[string]string{}
	resp, err := c.Get("http://" + o.addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

// rss returns a memory field of /proc/<pid>/status (VmRSS, VmHWM).
func rss(pid int, field string) string {
	if pid == 0 {
		return "n/a"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "n/a"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return fmt.Sprintf("%.1f MB", float64(kb)/1024)
			}
		}
	}
	return "n/a"
}
