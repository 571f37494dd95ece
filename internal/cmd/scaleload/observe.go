package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// daemon is a running `vitals watchdog`.
type daemon struct {
	cmd  *exec.Cmd
	done chan error
}

func startDaemon(bin, config, logPath string) (*daemon, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "watchdog", "-config", config, "-log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait(); logf.Close() }()
	return d, nil
}

// stop sends SIGTERM and waits (at most timeout, then SIGKILL); it
// returns how long the shutdown took.
func (d *daemon) stop(timeout time.Duration) time.Duration {
	t0 := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	return time.Since(t0)
}

// waitReady polls /readyz every 10 ms until it answers 200.
func waitReady(c *http.Client, base string, d *daemon, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("the watchdog exited: %v (see its log)", err)
		default:
		}
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %v", timeout)
}

// procSample is one reading of /proc/PID.
type procSample struct {
	at       time.Time
	cpu      time.Duration // user + system so far
	rss, hwm int64         // bytes
	db, wal  int64         // the database's files
}

func readProc(pid int, db string) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command (which may hold spaces), from the 3rd.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.rss = kb << 10
		case "VmHWM":
			s.hwm = kb << 10
		}
	}
	if fi, err := os.Stat(db); err == nil {
		s.db = fi.Size()
	}
	if fi, err := os.Stat(db + "-wal"); err == nil {
		s.wal = fi.Size()
	}
	return s, nil
}

// families is one /metrics scrape.
type families map[string]*dto.MetricFamily

func scrape(ctx context.Context, c *http.Client, base, key string) (families, time.Duration, int, error) {
	t0 := time.Now()
	body, status, err := get(ctx, c, base+"/metrics", key, false)
	took := time.Since(t0)
	if err != nil {
		return nil, took, 0, err
	}
	if status != 200 {
		return nil, took, len(body), fmt.Errorf("/metrics: status %d", status)
	}
	p := expfmt.NewTextParser(promodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	return fams, took, len(body), err
}

// gauge sums the samples of a gauge or counter family.
func (f families) gauge(name string) float64 {
	var v float64
	if mf := f[name]; mf != nil {
		for _, m := range mf.Metric {
			switch {
			case m.Gauge != nil:
				v += m.Gauge.GetValue()
			case m.Counter != nil:
				v += m.Counter.GetValue()
			}
		}
	}
	return v
}

// histogram returns the cumulative buckets (upper bound → count) of an
// unlabelled histogram, minus those of before (nil: none).
func (f families) histogram(name string, before families) map[float64]float64 {
	out := map[float64]float64{}
	for sign, fs := range map[float64]families{1: f, -1: before} {
		if fs == nil || fs[name] == nil {
			continue
		}
		for _, m := range fs[name].Metric {
			if m.Histogram == nil {
				continue
			}
			for _, b := range m.Histogram.Bucket {
				if math.IsInf(b.GetUpperBound(), 1) {
					continue // the text parser keeps it; it is the sample count, added once below
				}
				out[b.GetUpperBound()] += sign * float64(b.GetCumulativeCount())
			}
			out[math.Inf(1)] += sign * float64(m.Histogram.GetSampleCount())
		}
	}
	return out
}

// quantile is Prometheus' histogram_quantile over cumulative buckets
// (linear within a bucket); NaN when empty.
func quantile(q float64, buckets map[float64]float64) (float64, float64) {
	var les []float64
	for le := range buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 || buckets[les[len(les)-1]] <= 0 {
		return math.NaN(), 0
	}
	total := buckets[les[len(les)-1]]
	rank := q * total
	prevLE, prevN := 0.0, 0.0
	for _, le := range les {
		n := buckets[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return prevLE, total
			}
			if n == prevN {
				return le, total
			}
			return prevLE + (le-prevLE)*(rank-prevN)/(n-prevN), total
		}
		prevLE, prevN = le, n
	}
	return les[len(les)-1], total
}

// get fetches url with the API key; gz asks for (and measures) a gzipped
// answer: the body returned is then the bytes on the wire.
func get(ctx context.Context, c *http.Client, url, key string, gz bool) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return b, resp.StatusCode, err
}

// endpoint is the timing of one request as a client sees it.
type endpoint struct {
	Name   string  `json:"name"`
	Path   string  `json:"path"`
	Status int     `json:"status"`
	MS     float64 `json:"ms"`    // the median of the tries
	Bytes  int     `json:"bytes"` // on the wire (gzipped when offered)
	Raw    int     `json:"raw_bytes,omitempty"`
}

// timeEndpoint fetches path tries times and keeps the median time.
func timeEndpoint(ctx context.Context, c *http.Client, base, key, name, path string, gz bool, tries int) endpoint {
	e := endpoint{Name: name, Path: path}
	var ms []float64
	for range tries {
		t0 := time.Now()
		body, status, err := get(ctx, c, base+path, key, gz)
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		if err != nil {
			e.Status = -1
			break
		}
		e.Status, e.Bytes = status, len(body)
		if gz && len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
			if zr, err := gzip.NewReader(strings.NewReader(string(body))); err == nil {
				n, _ := io.Copy(io.Discard, zr)
				e.Raw = int(n)
			}
		}
	}
	sort.Float64s(ms)
	e.MS = ms[len(ms)/2]
	return e
}
