// Package statuspagetest is the status page's test fixture: a real engine
// over a real store with a page as its listener, served on a loopback
// server, and deterministic seed data. The page's own tests and its browser
// test (a module of its own, internal/statuspage/browsertest) share it.
package statuspagetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// APIKey is the key Authorize accepts.
const APIKey = "s3cret-api-key"

// Authorize accepts APIKey in X-Api-Key, like the daemon's check.
func Authorize(r *http.Request) bool { return r.Header.Get("X-Api-Key") == APIKey }

// Fixture is a running engine, its store, the page and the server mounting
// the page under /status/.
type Fixture struct {
	Engine *watchdog.Engine
	Store  store.Store
	Page   *statuspage.Page
	Server *httptest.Server
}

// New starts a real engine over a store (SQLite in a temp dir when
// sqliteStore, else in memory), a page registered as its listener, and a
// loopback server mounting the page under /status/. Everything is closed
// at the end of the test.
func New(t testing.TB, opts statuspage.Options, sqliteStore bool) *Fixture {
	return NewSeeded(t, opts, sqliteStore, nil)
}

// NewSeeded is New with seed called on the store before the
// engine starts (to write history the engine then loads).
func NewSeeded(t testing.TB, opts statuspage.Options, sqliteStore bool, seed func(store.Store)) *Fixture {
	t.Helper()
	var st store.Store
	if sqliteStore {
		s, err := sqlite.Open(t.TempDir()+"/vitals.db", sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st = s
	} else {
		st = memstore.New(memstore.Options{})
	}
	if seed != nil {
		seed(st)
	}
	eng := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	opts.Engine, opts.Store = eng, st
	if opts.Authorize == nil {
		opts.Authorize = Authorize
	}
	page := statuspage.New(opts)
	if err := eng.AddListener(page); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/status/", http.StripPrefix("/status", page))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		page.Close() // ends the live streams, which srv.Close would wait for
		srv.Close()
		eng.Close()
		st.Close()
	})
	return &Fixture{Engine: eng, Store: st, Page: page, Server: srv}
}

// Create creates a push check named name, with tags, through the engine.
func (f *Fixture) Create(t testing.TB, name string, tags ...string) model.Check {
	t.Helper()
	c, err := f.Engine.Create(context.Background(), model.Check{Name: name, Kind: model.KindPush, Tags: tags,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Ping sends the check a ping of kind with body through the engine.
func (f *Fixture) Ping(t testing.TB, id model.CheckID, kind model.PingKind, body string) {
	t.Helper()
	if _, err := f.Engine.Ping(context.Background(), id, model.Ping{Kind: kind, Body: []byte(body), RemoteAddr: "192.0.2.7", UserAgent: "curl/8"}); err != nil {
		t.Fatal(err)
	}
}

// Get fetches path (under /status/) with the API key when auth, and
// returns the status and body.
func (f *Fixture) Get(t testing.TB, path string, auth bool) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.Server.URL+"/status/"+path, nil)
	if auth {
		req.Header.Set("X-Api-Key", APIKey)
	}
	res, err := f.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

// names for seeded checks, so screenshots look like a real installation.
var seedNames = []string{"api gateway", "billing worker", "nightly db backup", "search indexer", "payments webhook",
	"auth service", "email sender", "cdn origin", "report generator", "cache warmer", "image resizer", "queue consumer"}

// SeedChecks writes n checks straight into st, as a watchdog that has run
// for 90 days would have left them: up since a few hours, 89 days of
// rollups (a few days with downtime), two flips each. Every second check
// is tagged "public". It is deterministic.
func SeedChecks(tb testing.TB, st store.Store, n int, now time.Time) []model.Check {
	tb.Helper()
	return Seed(tb, st, SeedOptions{N: n, Days: statuspage.Days - 1}, now)
}

// SeedOptions shape Seed's checks.
type SeedOptions struct {
	N    int // checks
	Days int // days of stored rollups before today, at most statuspage.Days-1
	// Every DownEvery-th check (0: none) is down, every LateEvery-th
	// late (past its due time), counted from check 1.
	DownEvery, LateEvery int
	// Teams, when > 0, tags check i "team-<i mod Teams>" (on top of
	// "public" for every second check), and every 20,000th check "db".
	Teams int
}

// Seed is SeedChecks with options: at 100,000 checks, fewer days of
// rollups keep the seeding short, and some checks down or late give the
// page something to put at the top.
func Seed(tb testing.TB, st store.Store, o SeedOptions, now time.Time) []model.Check {
	tb.Helper()
	n := o.N
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	today := now.UTC().Truncate(24 * time.Hour)
	out := make([]model.Check, 0, n)
	updates := make([]store.Update, 0, n)
	for i := range n {
		id := model.CheckID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))))
		name := seedNames[i%len(seedNames)]
		if i >= len(seedNames) {
			name += " " + strconv.Itoa(i/len(seedNames))
		}
		c := model.Check{ID: id, Name: name, Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: 5 * time.Minute},
			Source: model.SourceAPI, Created: today.AddDate(0, 0, -120), Updated: today.AddDate(0, 0, -120)}
		if i%2 == 0 {
			c.Tags = []string{"public"}
		}
		if o.Teams > 0 {
			c.Tags = append(c.Tags, "team-"+strconv.Itoa(i%o.Teams))
			if i%20_000 == 0 {
				c.Tags = append(c.Tags, "db")
			}
		}
		c = c.WithDefaults()
		s := model.NewState(id, c.Created)
		since := now.Add(-time.Duration(rng.IntN(12)+1) * time.Hour)
		s.Status, s.Underlying, s.Since = model.StatusUp, model.StatusUp, since
		s.LastPing, s.LastSuccess = now.Add(-time.Duration(rng.IntN(50))*time.Minute), now
		s.LastDuration = time.Duration(rng.IntN(900)+50) * time.Millisecond
		s.Due = s.LastPing.Add(time.Hour)
		s.Deadline = s.Due.Add(5 * time.Minute)
		switch {
		case o.DownEvery > 0 && (i+1)%o.DownEvery == 0:
			s.Status, s.Underlying = model.StatusDown, model.StatusDown
		case o.LateEvery > 0 && (i+1)%o.LateEvery == 0:
			s.LastPing = now.Add(-61 * time.Minute)
			s.Due, s.Deadline = s.LastPing.Add(time.Hour), now.Add(30*time.Minute) // late for a while
		}
		days := make([]model.UptimeDay, 0, statuspage.Days)
		for d := min(o.Days, statuspage.Days-1); d >= 1; d-- {
			day := today.AddDate(0, 0, -d)
			total := 24 * time.Hour
			down := time.Duration(0)
			switch r := rng.IntN(100); {
			case r < 3:
				down = time.Duration(rng.IntN(180)+1) * time.Minute
			case r < 4:
				down = time.Duration(rng.IntN(12)+2) * time.Hour
			}
			days = append(days, model.UptimeDay{CheckID: id, Day: day, Up: total - down, Total: total})
		}
		if since.After(today) { // the part of today before the current interval
			days = append(days, model.UptimeDay{CheckID: id, Day: today, Up: since.Sub(today), Total: since.Sub(today)})
		}
		flips := []model.Flip{
			{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: model.StatusUp, To: model.StatusDown, Time: since.Add(-10 * time.Minute), Reason: "no ping within period + grace"},
			{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: model.StatusDown, To: model.StatusUp, Time: since, Reason: "success ping"},
		}
		out = append(out, c)
		updates = append(updates, store.Update{CheckID: id, State: s, Uptime: days, Flips: flips})
	}
	// Written by 16 goroutines, so that a file store group-commits them.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next atomic.Int64
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := st.CreateCheck(ctx, out[i], model.NewState(out[i].ID, out[i].Created))
				if err == nil {
					err = st.Apply(ctx, updates[i])
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return out
}

// FillSparklines gives every check 30 results, as after 30 probe rounds.
func FillSparklines(p *statuspage.Page, cs []model.CheckState, now time.Time) {
	for i := range cs {
		s := cs[i].State
		for k := range 30 {
			s.LastPing = now.Add(time.Duration(k-30) * time.Minute)
			ms := 60 + (i*37)%300 + ((i*131+k*71)^(k*k*13))%60 // a base and some noise
			if (k+i)%11 == 0 {
				ms += 150 // a slow run now and then
			}
			s.LastDuration = time.Duration(ms) * time.Millisecond
			p.OnState(cs[i].Check, s)
		}
	}
}

// XSSName is a check name that would run script if it were not escaped.
const XSSName = `<script>alert("x")</script><img src=x onerror=alert(1)>"'&`
