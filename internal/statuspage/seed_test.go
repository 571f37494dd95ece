package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// serve answers GET path (authorised) from p.
func serve(t *testing.T, p *statuspage.Page, path string) string {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Api-Key", "k")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// TestSparklinesSeededLazily: a page started over checks with stored run
// times (as after a restart) reads no pings at start, however many checks;
// showing a page of rows reads at most those rows' pings, once, in the
// background, after which the rows carry their sparklines; a check's own
// page reads its pings before it answers.
func TestSparklinesSeededLazily(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 300
		st := memstore.New(memstore.Options{})
		defer st.Close()
		ctx := context.Background()
		now := time.Now()
		eng := make(listEngine, n)
		for i := range eng {
			id := model.NewCheckID()
			c := model.Check{ID: id, Name: fmt.Sprintf("check %03d", i), Kind: model.KindPush,
				Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
			s := model.NewState(id, now.Add(-time.Hour))
			if err := st.CreateCheck(ctx, c, s); err != nil {
				t.Fatal(err)
			}
			// Every second check has three finished runs stored; the
			// others only plain pings (nothing to draw).
			for k := range 3 {
				s.NPings++
				pg := model.Ping{CheckID: id, N: s.NPings, Kind: model.PingSuccess, Time: now.Add(time.Duration(k-3) * time.Minute)}
				if i%2 == 0 {
					pg.Duration = time.Duration(100+10*k) * time.Millisecond
				}
				s.LastPing = pg.Time
				if err := st.Apply(ctx, store.Update{CheckID: id, State: s, Ping: &pg}); err != nil {
					t.Fatal(err)
				}
			}
			eng[i] = model.CheckState{Check: c, State: s}
		}
		cnt := &pingCounter{History: st}
		p := statuspage.New(statuspage.Options{Engine: eng, Store: cnt, Authorize: func(*http.Request) bool { return true }})
		defer p.Close()
		time.Sleep(time.Minute) // fake time: the hub scans and warms up
		synctest.Wait()
		if !p.Warmed() {
			t.Fatal("not warmed up")
		}
		if got := cnt.n.Load(); got != 0 {
			t.Fatalf("start read the pings of %d checks, want 0", got)
		}

		rows := func() map[string]string { // name → sparkline path
			var out struct {
				Rows []struct {
					Name  string `json:"n"`
					Spark string `json:"k"`
				} `json:"rows"`
			}
			if err := json.Unmarshal([]byte(serve(t, p, "/checks.json?limit=50")), &out); err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, r := range out.Rows {
				m[r.Name] = r.Spark
			}
			return m
		}
		first := rows()
		if len(first) != 50 {
			t.Fatalf("%d rows", len(first))
		}
		time.Sleep(5 * time.Second) // the hub seeds, then flushes
		synctest.Wait()
		if got := cnt.n.Load(); got != 50 {
			t.Fatalf("showing 50 rows read the pings of %d checks, want 50", got)
		}
		second := rows()
		for i := range 50 {
			name := fmt.Sprintf("check %03d", i)
			if has := second[name] != ""; has != (i%2 == 0) {
				t.Errorf("%s: sparkline %q after seeding", name, second[name])
			}
		}
		// Once per check, even when there was nothing to draw.
		rows()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := cnt.n.Load(); got != 50 {
			t.Fatalf("rows shown again: %d pings queries, want still 50", got)
		}

		// A check's own page (not shown yet) seeds before it answers.
		body := serve(t, p, "/"+statuspage.CheckPath(eng[100].Check.ID))
		if got := cnt.n.Load(); got != 51+1 { // its sparkline, and the pings it lists
			t.Fatalf("detail page: %d pings queries in all, want 52", got)
		}
		if !strings.Contains(body, `preserveAspectRatio=none><path d="M`) {
			t.Fatalf("no sparkline on the check's page:\n%s", body)
		}
	})
}

// countingEngine is a watchdog engine that counts the page's calls.
type countingEngine struct {
	*watchdog.Engine
	list, refs, ref atomic.Int64
}

func (e *countingEngine) List() []model.CheckState {
	e.list.Add(1)
	return e.Engine.List()
}

func (e *countingEngine) Refs() ([]model.CheckRef, uint64) {
	e.refs.Add(1)
	return e.Engine.Refs()
}

func (e *countingEngine) Ref(id model.CheckID) (model.CheckRef, bool) {
	e.ref.Add(1)
	return e.Engine.Ref(id)
}

// TestCreateDeleteLooksUpOnlyTheChange: after the first render, a create,
// a rename and a delete cost the page a lookup of the check changed, not a
// list of every check.
func TestCreateDeleteLooksUpOnlyTheChange(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	ctx := context.Background()
	w := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	eng := &countingEngine{Engine: w}
	p := statuspage.New(statuspage.Options{Engine: eng, Store: st, Authorize: func(*http.Request) bool { return true }})
	defer p.Close()
	if err := w.AddListener(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	create := func(name string) model.Check {
		c, err := w.Create(ctx, model.Check{Name: name, Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range 100 {
		create(fmt.Sprintf("check %03d", i))
	}
	if body := serve(t, p, "/"); !strings.Contains(body, "check 000") {
		t.Fatalf("first render:\n%s", body)
	}
	if got := eng.refs.Load(); got != 1 {
		t.Fatalf("first render: %d Refs calls, want 1", got)
	}
	// The first render's rows are seeded in the background, each with a
	// Ref (deleted meanwhile?): let them finish before counting.
	statuspage.Settle(p)
	eng.ref.Store(0)

	c := create("aaa new")
	if body := serve(t, p, "/"); !strings.Contains(body, "aaa new") {
		t.Fatalf("created check not shown:\n%s", body)
	}
	c.Name = "aab renamed"
	if _, err := w.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	if body := serve(t, p, "/"); !strings.Contains(body, "aab renamed") || strings.Contains(body, "aaa new") {
		t.Fatalf("renamed check not shown renamed:\n%s", body)
	}
	if err := w.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	body := serve(t, p, "/")
	if strings.Contains(body, "aab renamed") {
		t.Fatalf("deleted check still shown:\n%s", body)
	}
	if !strings.Contains(body, "100 checks") {
		t.Fatalf("counts after delete:\n%s", body)
	}
	if l, r := eng.list.Load(), eng.refs.Load(); l != 0 || r != 1 {
		t.Fatalf("create, rename, delete: %d List and %d more Refs calls, want none", l, r-1)
	}
	// Each change is looked up once or twice (the engine's change log and
	// the listener's mark), and a seeded sparkline's check once more.
	if got := eng.ref.Load(); got > 8 {
		t.Fatalf("create, rename, delete: %d Ref calls, want at most 8", got)
	}
}
