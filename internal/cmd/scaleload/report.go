package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// report is what a run measured (see docs/scale.md for each figure).
type report struct {
	Checks, FileChecks, APIChecks, AutoChecks, Pull, Heartbeat, Late int
	Rate, Conns, Retention                                           int
	Duration, Go, LoadStart, LoadEnd                                 string
	Cores                                                            int

	FirstStartS    float64 // the first start, on an empty store
	FirstStartCPUS float64 // the watchdog's CPU time until then
	LoadToolCores  float64 // this tool's own CPU during the load

	Pings            uint64  // answered 200 during the load
	Failed           uint64  // answered otherwise, or not at all
	Dropped          uint64  // not sent: more than 100 ms behind the rate
	IngestPerS       float64 // Pings / duration
	IngestMinS       float64 // the slowest whole second after the first 10 s
	PingP50MS        float64
	PingP99MS        float64
	PingP99PruneMS   float64 // while retention prunes (after PruneFromS)
	PingP99BeforeMS  float64 // before it does
	PingP99MaxWinMS  float64 // the worst 10 s window
	PruneFromS       float64 // when the checks' pings pass the retention
	PullP50MS        float64
	PullP99MS        float64
	PullProbes       float64
	DownFlips        float64 // missed deadlines whose down flip committed
	DownLagP50MS     float64
	DownLagP99MS     float64
	CPUCores         float64 // mean over the load
	CPUCoresMax10s   float64
	RSSMaxMiB        float64
	RSSHWMMiB        float64
	Store            []storeSample
	Endpoints        []endpoint
	FinalScrapeMS    float64
	FinalScrapeBytes int
	ScrapeError      string `json:",omitempty"`

	ShutdownS         float64
	RestartS          float64 // SIGTERM'd, started again: until /readyz 200
	RestartRSSMiB     float64
	RestartCPUS       float64        // the watchdog's CPU time until ready again
	RestartError      string         `json:",omitempty"`
	ArmedBefore       int            // vitals_deadlines_pending before the restart
	ArmedAfterRestart int            // and once ready again
	Errors            map[string]int `json:",omitempty"`
}

type storeSample struct {
	T      float64 `json:"t"`
	DBMiB  float64 `json:"db_mib"`
	WALMiB float64 `json:"wal_mib"`
}

func (r *report) fill(p *pinger, samples []procSample, before, after families, w *workload) {
	secs := int(time.Since(p.start) / time.Second)
	ok, bad := p.perSecond(secs)
	r.IngestMinS = math.Inf(1)
	for i, n := range ok {
		r.Pings += n
		r.Failed += bad[i]
		if i >= 10 && i < len(ok)-1 {
			r.IngestMinS = min(r.IngestMinS, float64(n))
		}
	}
	if math.IsInf(r.IngestMinS, 1) {
		r.IngestMinS = 0
	}
	r.Dropped = p.dropped.Load()
	el := samples[len(samples)-1].at.Sub(samples[0].at).Seconds()
	r.IngestPerS = float64(r.Pings) / el
	all := p.total(0, len(p.windows))
	r.PingP50MS, r.PingP99MS = ms(all.quantile(0.5)), ms(all.quantile(0.99))
	// A steady check gets rate/len(steady) pings a second, at the rate
	// achieved; the store prunes once a check holds 1/8 more than the
	// retention.
	rate := max(r.IngestPerS, 1)
	prime := float64(len(p.prime)) / rate
	r.PruneFromS = prime + float64(w.retention)*1.125*float64(len(p.steady))/rate
	pw := int(math.Ceil(r.PruneFromS / p.window.Seconds()))
	r.PingP99BeforeMS, r.PingP99PruneMS = ms(p.total(1, pw).quantile(0.99)), ms(p.total(pw+1, len(p.windows)).quantile(0.99))
	for i := range p.windows {
		r.PingP99MaxWinMS = max(r.PingP99MaxWinMS, ms(p.windows[i].quantile(0.99)))
	}
	q := func(name string) (float64, float64, float64) {
		if after == nil || before == nil {
			return math.NaN(), math.NaN(), 0
		}
		b := after.histogram(name, before)
		p50, n := quantile(0.5, b)
		p99, _ := quantile(0.99, b)
		return p50 * 1000, p99 * 1000, n
	}
	r.PullP50MS, r.PullP99MS, r.PullProbes = q("vitals_pull_lateness_seconds")
	r.DownLagP50MS, r.DownLagP99MS, r.DownFlips = q("vitals_deadline_lag_seconds")
	first, last := samples[0], samples[len(samples)-1]
	r.CPUCores = (last.cpu - first.cpu).Seconds() / last.at.Sub(first.at).Seconds()
	for i, s := range samples {
		r.RSSMaxMiB = max(r.RSSMaxMiB, float64(s.rss)/(1<<20))
		r.RSSHWMMiB = max(r.RSSHWMMiB, float64(s.hwm)/(1<<20))
		if i >= 10 {
			o := samples[i-10]
			r.CPUCoresMax10s = max(r.CPUCoresMax10s, (s.cpu-o.cpu).Seconds()/s.at.Sub(o.at).Seconds())
		}
	}
	r.Store = append(r.Store, storeSample{T: last.at.Sub(p.start).Seconds(), DBMiB: float64(last.db) / (1 << 20), WALMiB: float64(last.wal) / (1 << 20)})
	p.mu.Lock()
	r.Errors = p.errs
	p.mu.Unlock()
}

// createAPIChecks makes w.api heartbeat checks through the JSON API (16
// at a time) and returns the path of each one's ping URL.
func (w *workload) createAPIChecks(ctx context.Context, c *http.Client, base string) ([]string, error) {
	paths := make([]string, w.api)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				s := slug(w.fileHB + i)
				body, _ := json.Marshal(map[string]any{"name": s, "slug": s, "timeout": 60 * (1 + i%60), "grace": 300, "tags": fmt.Sprintf("hb api team%d", i%20)})
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v3/checks/", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+w.apiKey)
				req.Header.Set("Content-Type", "application/json")
				var out struct {
					PingURL string `json:"ping_url"`
				}
				resp, err := c.Do(req)
				if err == nil {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					if err = json.Unmarshal(b, &out); err == nil && (resp.StatusCode != 201 && resp.StatusCode != 200 || !strings.Contains(out.PingURL, "/ping/")) {
						err = fmt.Errorf("create through the API: status %d: %.200s", resp.StatusCode, b)
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				} else if err == nil {
					paths[i] = out.PingURL[strings.Index(out.PingURL, "/ping/"):]
				}
				mu.Unlock()
			}
		})
	}
	for i := range w.api {
		next <- i
	}
	close(next)
	wg.Wait()
	return paths, firstErr
}

// measureEndpoints times what a client sees (the median of 3 tries; the
// status page once, as its first answer).
func (w *workload) measureEndpoints(ctx context.Context, c *http.Client, base string) []endpoint {
	return []endpoint{
		timeEndpoint(ctx, c, base, w.apiKey, "status page, first answer", "/status/", true, 1),
		timeEndpoint(ctx, c, base, w.apiKey, "API: one page of 100 checks", "/api/v3/checks/?limit=100", true, 3),
		timeEndpoint(ctx, c, base, w.apiKey, "API: a page, filtered by tag", "/api/v3/checks/?limit=100&tag=team7", true, 3),
		timeEndpoint(ctx, c, base, w.apiKey, "API: counts by status", "/api/v3/counts/", true, 3),
		timeEndpoint(ctx, c, base, w.apiKey, "/metrics scrape", "/metrics", true, 3),
	}
}

func (r *report) print(out io.Writer) {
	line := func(name, value, target string) { fmt.Fprintf(out, "| %-44s | %-40s | %-12s |\n", name, value, target) }
	fmt.Fprintf(out, "scaleload: %d checks (%d in the file, %d API, %d auto-provisioned; %d pull, %d heartbeat of which %d silent), %d pings/s over %d connections for %s, retention %d pings; %s, %d cores, load %s → %s\n\n",
		r.Checks, r.FileChecks, r.APIChecks, r.AutoChecks, r.Pull, r.Heartbeat, r.Late, r.Rate, r.Conns, r.Duration, r.Retention, r.Go, r.Cores, r.LoadStart, r.LoadEnd)
	line("figure", "measured", "target")
	line("---", "---", "---")
	line("durable ping ingest", fmt.Sprintf("%.0f/s (slowest second %.0f)", r.IngestPerS, r.IngestMinS), "≥ 20,000/s")
	line("pings answered / failed / not sent", fmt.Sprintf("%d / %d / %d", r.Pings, r.Failed, r.Dropped), "")
	line("ping latency p50 / p99", fmt.Sprintf("%.1f / %.1f ms", r.PingP50MS, r.PingP99MS), "")
	line("ping p99 before / while retention prunes", fmt.Sprintf("%.1f / %.1f ms (from %.0fs)", r.PingP99BeforeMS, r.PingP99PruneMS, r.PruneFromS), "")
	line("ping p99, worst 10 s window", fmt.Sprintf("%.1f ms", r.PingP99MaxWinMS), "")
	line("pull lateness p50 / p99", fmt.Sprintf("%.1f / %.1f ms (%.0f probes)", r.PullP50MS, r.PullP99MS, r.PullProbes), "p99 ≤ 100 ms")
	line("missed deadline → down flip p50 / p99", fmt.Sprintf("%.1f / %.1f ms (%.0f flips)", r.DownLagP50MS, r.DownLagP99MS, r.DownFlips), "p99 ≤ 100 ms")
	line("watchdog CPU, mean / worst 10 s", fmt.Sprintf("%.2f / %.2f cores", r.CPUCores, r.CPUCoresMax10s), "")
	line("watchdog RSS, max sampled / peak (HWM)", fmt.Sprintf("%.0f / %.0f MiB", r.RSSMaxMiB, r.RSSHWMMiB), "≤ 1024 MiB")
	line("load tool's own CPU", fmt.Sprintf("%.2f cores", r.LoadToolCores), "")
	line("first start (empty store)", fmt.Sprintf("%.2f s (%.2f s CPU)", r.FirstStartS, r.FirstStartCPUS), "")
	line("shutdown (SIGTERM)", fmt.Sprintf("%.2f s", r.ShutdownS), "")
	line("restart to /readyz 200", fmt.Sprintf("%.2f s (%.2f s CPU), %d of %d deadlines armed", r.RestartS, r.RestartCPUS, r.ArmedAfterRestart, r.ArmedBefore), "≤ 5 s")
	if r.RestartError != "" {
		line("restart", r.RestartError, "")
	}
	line("RSS after restart", fmt.Sprintf("%.0f MiB", r.RestartRSSMiB), "")
	for _, e := range r.Endpoints {
		v := fmt.Sprintf("%.1f ms, %d B", e.MS, e.Bytes)
		if e.Raw > 0 {
			v = fmt.Sprintf("%.1f ms, %d kB gz (%d kB)", e.MS, e.Bytes/1000, e.Raw/1000)
		}
		if e.Status != 200 {
			v += fmt.Sprintf(" [status %d]", e.Status)
		}
		line(e.Name, v, "")
	}
	line("/metrics after the load", fmt.Sprintf("%.0f ms, %d kB", r.FinalScrapeMS, r.FinalScrapeBytes/1000), "≤ 1 s")
	fmt.Fprintln(out, "\nstore size over the run (database + WAL):")
	var parts []string
	for _, s := range r.Store {
		parts = append(parts, fmt.Sprintf("%.0fs %.1f+%.1f MiB", s.T, s.DBMiB, s.WALMiB))
	}
	fmt.Fprintln(out, "  "+strings.Join(parts, ", "))
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintln(out, "\nping errors (first kinds):")
		for _, k := range keys {
			fmt.Fprintf(out, "  %d× %s\n", r.Errors[k], k)
		}
	}
}
