package statuspage_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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

const testKey = "s3cret-api-key"

// authorize accepts testKey in X-Api-Key, like the daemon's check.
func authorize(r *http.Request) bool { return r.Header.Get("X-Api-Key") == testKey }

type fixture struct {
	eng  *watchdog.Engine
	st   store.Store
	page *statuspage.Page
	srv  *httptest.Server
}

// newFixture starts a real engine over a store (SQLite in a temp dir when
// sqliteStore, else in memory), a page registered as its listener, and a
// loopback server mounting the page under /status/. Everything is closed
// at the end of the test.
func newFixture(t testing.TB, opts statuspage.Options, sqliteStore bool) *fixture {
	return newSeededFixture(t, opts, sqliteStore, nil)
}

// newSeededFixture is newFixture with seed called on the store before the
// engine starts (to write history the engine then loads).
func newSeededFixture(t testing.TB, opts statuspage.Options, sqliteStore bool, seed func(store.Store)) *fixture {
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
		opts.Authorize = authorize
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
	return &fixture{eng: eng, st: st, page: page, srv: srv}
}

func (f *fixture) create(t testing.TB, name string, tags ...string) model.Check {
	t.Helper()
	c, err := f.eng.Create(context.Background(), model.Check{Name: name, Kind: model.KindPush, Tags: tags,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) ping(t testing.TB, id model.CheckID, kind model.PingKind, body string) {
	t.Helper()
	if _, err := f.eng.Ping(context.Background(), id, model.Ping{Kind: kind, Body: []byte(body), RemoteAddr: "192.0.2.7", UserAgent: "curl/8"}); err != nil {
		t.Fatal(err)
	}
}

// get fetches path (under /status/) with the API key when auth, and
// returns the status and body.
func (f *fixture) get(t testing.TB, path string, auth bool) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/status/"+path, nil)
	if auth {
		req.Header.Set("X-Api-Key", testKey)
	}
	res, err := f.srv.Client().Do(req)
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

// detailPath finds the detail link of the check named name on the overview.
func detailPath(t testing.TB, overview, name string) string {
	t.Helper()
	i := strings.Index(overview, ">"+name+"</a>")
	if i < 0 {
		t.Fatalf("%q not on the overview", name)
	}
	j := strings.LastIndex(overview[:i], `href="check/`)
	if j < 0 {
		t.Fatalf("no link for %q", name)
	}
	rest := overview[j+len(`href="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// names for seeded checks, so screenshots look like a real installation.
var seedNames = []string{"api gateway", "billing worker", "nightly db backup", "search indexer", "payments webhook",
	"auth service", "email sender", "cdn origin", "report generator", "cache warmer", "image resizer", "queue consumer"}

// seedChecks writes n checks straight into st, as a watchdog that has run
// for 90 days would have left them: up since a few hours, 89 days of
// rollups (a few days with downtime), two flips each. Every second check
// is tagged "public". It is deterministic.
func seedChecks(tb testing.TB, st store.Store, n int, now time.Time) []model.Check {
	tb.Helper()
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
		c = c.WithDefaults()
		s := model.NewState(id, c.Created)
		since := now.Add(-time.Duration(rng.IntN(12)+1) * time.Hour)
		s.Status, s.Underlying, s.Since = model.StatusUp, model.StatusUp, since
		s.LastPing, s.LastSuccess = now.Add(-time.Duration(rng.IntN(50))*time.Minute), now
		s.LastDuration = time.Duration(rng.IntN(900)+50) * time.Millisecond
		s.Due = s.LastPing.Add(time.Hour)
		s.Deadline = s.Due.Add(5 * time.Minute)
		days := make([]model.UptimeDay, 0, Days)
		for d := Days - 1; d >= 1; d-- {
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

// Days mirrors statuspage.Days for the seed.
const Days = statuspage.Days
