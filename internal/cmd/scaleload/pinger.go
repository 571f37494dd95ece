package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// hist is a latency histogram with buckets 2 % wide (1 µs to about 6 min),
// safe for concurrent use.
type hist struct{ b [nBuckets]atomic.Uint64 }

const nBuckets = 1000

func bucketOf(d time.Duration) int {
	us := float64(d.Microseconds())
	if us < 1 {
		return 0
	}
	return min(int(math.Log(us)/math.Log(1.02))+1, nBuckets-1)
}

func (h *hist) add(d time.Duration) { h.b[bucketOf(d)].Add(1) }

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	for i := range h.b {
		h.b[i].Add(o.b[i].Load())
	}
}

func (h *hist) count() uint64 {
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
	}
	return n
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i := range h.b {
		if seen += h.b[i].Load(); seen >= rank {
			return time.Duration(math.Pow(1.02, float64(i)) * float64(time.Microsecond))
		}
	}
	return 0
}

// pinger sends pings at a fixed rate over keep-alive connections, with a
// minimal HTTP/1.1 client (the load's own CPU stays small next to the
// watchdog's). Latency is from sending the request to its answer.
type pinger struct {
	addr  string
	rate  int
	conns int
	// prime are the paths pinged once each, in order, first; then steady
	// paths at random.
	prime, steady [][]byte
	start         time.Time
	window        time.Duration

	ok, bad []atomic.Uint64
	dropped atomic.Uint64 // tokens not taken in time: the watchdog fell behind
	windows []hist        // per window
	mu      sync.Mutex
	errs    map[string]int
}

func newPinger(addr string, rate, conns int, d, window time.Duration, prime, steady [][]byte) *pinger {
	secs := int(d/time.Second) + 2
	return &pinger{addr: addr, rate: rate, conns: conns, prime: prime, steady: steady, window: window,
		ok: make([]atomic.Uint64, secs), bad: make([]atomic.Uint64, secs),
		windows: make([]hist, int(d/window)+2), errs: map[string]int{}}
}

func request(path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: scaleload\r\n\r\n")
}

// run sends pings until ctx ends: a dispatcher hands out one token per
// 1/rate s; a token not taken within 100 ms is dropped and counted.
func (p *pinger) run(ctx context.Context) {
	p.start = time.Now()
	tokens := make(chan int64, p.conns)
	var wg sync.WaitGroup
	for range p.conns {
		wg.Go(func() { p.worker(ctx, tokens) })
	}
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			close(tokens)
			wg.Wait()
			return
		case now := <-t.C:
			due := int64(now.Sub(p.start).Seconds() * float64(p.rate))
			if behind := due - sent - int64(p.rate/10); behind > 0 { // more than 100 ms behind
				p.dropped.Add(uint64(behind))
				sent += behind
			}
			for ; sent < due; sent++ {
				select {
				case tokens <- sent:
				default:
					goto next
				}
			}
		next:
		}
	}
}

func (p *pinger) path(k int64, rnd *rand.Rand) []byte {
	if k < int64(len(p.prime)) {
		return p.prime[k]
	}
	return p.steady[rnd.IntN(len(p.steady))]
}

func (p *pinger) worker(ctx context.Context, tokens <-chan int64) {
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for k := range tokens {
		if c == nil {
			var err error
			if c, err = (&net.Dialer{}).DialContext(ctx, "tcp", p.addr); err != nil {
				p.fail(err)
				continue
			}
			br = bufio.NewReaderSize(c, 4096)
		}
		req := p.path(k, rnd)
		t0 := time.Now()
		c.SetDeadline(t0.Add(30 * time.Second))
		status, keep, err := roundTrip(c, br, req)
		d := time.Since(t0)
		sec := int(t0.Sub(p.start) / time.Second)
		if err != nil || status < 200 || status > 299 {
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			p.fail(err)
			if sec < len(p.bad) {
				p.bad[sec].Add(1)
			}
		} else {
			if sec < len(p.ok) {
				p.ok[sec].Add(1)
			}
			if w := int(t0.Sub(p.start) / p.window); w < len(p.windows) {
				p.windows[w].add(d)
			}
		}
		if err != nil || !keep {
			c.Close()
			c = nil
		}
	}
}

func (p *pinger) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) < 20 {
		p.errs[err.Error()]++
	}
}

// roundTrip writes req and reads one answer: its status, whether the
// connection may be reused, and the body discarded.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (status int, keep bool, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	f := bytes.Fields(line)
	if len(f) < 2 {
		return 0, false, errors.New("bad status line")
	}
	if status, err = strconv.Atoi(string(f[1])); err != nil {
		return 0, false, err
	}
	keep, length := true, 0
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(v, []byte("close")):
			keep = false
		}
	}
	if _, err := br.Discard(length); err != nil {
		return 0, false, err
	}
	return status, keep, nil
}

// total merges the windows from first (inclusive) to last (exclusive).
func (p *pinger) total(first, last int) *hist {
	var h hist
	for i := max(first, 0); i < min(last, len(p.windows)); i++ {
		h.merge(&p.windows[i])
	}
	return &h
}

// perSecond returns the answered pings of each whole second so far.
func (p *pinger) perSecond(upTo int) (ok, bad []uint64) {
	for i := 0; i < min(upTo, len(p.ok)); i++ {
		ok = append(ok, p.ok[i].Load())
		bad = append(bad, p.bad[i].Load())
	}
	return ok, bad
}
