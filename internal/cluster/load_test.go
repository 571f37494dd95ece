package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// load is what a ping load generator saw: answers by status, the bodies
// of the pings answered 200 (each ping's body is its own), and the
// latencies of the 200s.
type load struct {
	mu           sync.Mutex
	ok, busy     int // 200, 503
	other, errs  int // any other status, transport errors
	noRetryAfter int // 503s without Retry-After
	acked        map[string][]string
	lat          []time.Duration
	elapsed      time.Duration
}

// pingLoad sends pings from workers goroutines until ctx ends, each to a
// random replica of addrs() and a random slug, with pace between two of a
// worker's pings (0: as fast as the answers come). Bounded by ctx and by
// the client's 10s timeout.
func pingLoad(ctx context.Context, addrs func() []string, slugs []string, workers int, pace time.Duration) *load {
	l := &load{acked: map[string][]string{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				as := addrs()
				slug, body := slugs[rand.IntN(len(slugs))], fmt.Sprintf("w%d-%d", w, n)
				t0 := time.Now()
				resp, err := client.Post("http://"+as[rand.IntN(len(as))]+"/ping/pk/"+slug, "text/plain", strings.NewReader(body))
				d := time.Since(t0)
				l.mu.Lock()
				switch {
				case err != nil:
					l.errs++
				case resp.StatusCode == http.StatusOK:
					l.ok++
					l.acked[slug] = append(l.acked[slug], body)
					l.lat = append(l.lat, d)
				case resp.StatusCode == http.StatusServiceUnavailable:
					l.busy++
					if resp.Header.Get("Retry-After") == "" {
						l.noRetryAfter++
					}
				default:
					l.other++
				}
				l.mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if pace > 0 {
					time.Sleep(pace)
				}
			}
		})
	}
	wg.Wait()
	l.elapsed = time.Since(start)
	return l
}

// rate is the 200s per second.
func (l *load) rate() float64 { return float64(l.ok) / l.elapsed.Seconds() }

// quantile is the q-quantile of the 200s' latencies.
func (l *load) quantile(q float64) time.Duration {
	if len(l.lat) == 0 {
		return 0
	}
	s := slices.Clone(l.lat)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// lost returns the pings answered 200 whose body is not among the pings
// the database holds for their check, and the number answered 200
// (checked: those of checks with fewer than the 100 pings the database
// keeps of each).
func (l *load) lost(t *testing.T, dsn string) (lost []string, acked, unchecked int) {
	t.Helper()
	conn := connect(t, dsn)
	rows, err := conn.Query(context.Background(), `SELECT c.def::jsonb->>'name', p.body FROM pings p JOIN checks c ON c.id = p.check_id`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var name string
		var body []byte
		if err := rows.Scan(&name, &body); err != nil {
			t.Fatal(err)
		}
		stored[name+"/"+string(body)] = true
	}
	rows.Close()
	for slug, bodies := range l.acked {
		if len(bodies) >= 100 {
			unchecked += len(bodies)
			continue
		}
		for _, b := range bodies {
			acked++
			if !stored[slug+"/"+b] {
				lost = append(lost, slug+"/"+b)
			}
		}
	}
	return lost, acked, unchecked
}

// groupCommits reads the store's counters from a replica's /metrics:
// group commits and the writes they carried.
func groupCommits(addr string) (commits, writes float64, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "vitals_store_commits_total":
			commits, _ = strconv.ParseFloat(v, 64)
		case "vitals_store_committed_writes_total":
			writes, _ = strconv.ParseFloat(v, 64)
		}
	}
	return commits, writes, sc.Err()
}

// readyz is the status of a replica's /readyz, 0 when it does not answer.
func readyz(addr string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// slugs returns "job-0" … "job-<n-1>", the checks of writeConfig.
func slugs(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("job-%d", i)
	}
	return s
}
