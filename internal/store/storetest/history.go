package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

func testApplyAndHistory(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	other := SampleCheck(2)
	if err := s.CreateCheck(ctx, other, model.NewState(other.ID, base)); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte{0, 0xff, 'a'}, 100) // binary bodies survive
	p := model.Ping{CheckID: c.ID, N: 1, Kind: model.PingExitStatus, ExitStatus: 3, RID: uuid.New(),
		Time: base, Duration: 2 * time.Second, Method: "POST", Scheme: "http", RemoteAddr: "127.0.0.1",
		UserAgent: "curl/8", Body: body, BodyTruncated: true}
	st := sampleState(c.ID)
	f1 := flip(c.ID, model.StatusNew, model.StatusUp, base)
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f1}}); err != nil {
		t.Fatal(err)
	}
	_, gs, _ := s.GetCheck(ctx, c.ID)
	equal(t, "state after apply", gs, st)
	pings, err := s.Pings(ctx, c.ID, store.PingQuery{})
	if err != nil || len(pings) != 1 {
		t.Fatalf("pings %v %v", pings, err)
	}
	equal(t, "ping", pings[0], p)

	// A ping-less update (a deadline) keeps the history.
	f2 := flip(c.ID, model.StatusUp, model.StatusDown, base.Add(time.Hour))
	f3 := flip(other.ID, model.StatusNew, model.StatusDown, base.Add(2*time.Hour))
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Flips: []model.Flip{f2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: other.ID, State: model.NewState(other.ID, base), Flips: []model.Flip{f3}}); err != nil {
		t.Fatal(err)
	}
	flips, err := s.Flips(ctx, c.ID, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "flips newest first", flips, []model.Flip{f2, f1})
	flips, _ = s.Flips(ctx, c.ID, store.FlipQuery{Before: f2.Time})
	equal(t, "flips before", flips, []model.Flip{f1})
	flips, _ = s.Flips(ctx, c.ID, store.FlipQuery{Limit: 1})
	equal(t, "flips limit", flips, []model.Flip{f2})
	flips, _ = s.Flips(ctx, model.CheckID{}, store.FlipQuery{})
	equal(t, "all flips", flips, []model.Flip{f3, f2, f1})
	if _, err := s.Flips(ctx, model.NewCheckID(), store.FlipQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("flips of unknown check: %v", err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: model.NewCheckID(), State: st}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("apply to unknown: %v", err)
	}
}

func testPingRetention(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	total := cfg.PingRetention + 7
	for n := 1; n <= total; n++ {
		st := model.NewState(c.ID, base)
		st.NPings = int64(n)
		p := model.Ping{CheckID: c.ID, N: int64(n), Kind: model.PingLog, ExitStatus: -1, Time: base.Add(time.Duration(n) * time.Second)}
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p}); err != nil {
			t.Fatal(err)
		}
	}
	pings, err := s.Pings(ctx, c.ID, store.PingQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(pings) != cfg.PingRetention || pings[0].N != int64(total) || pings[len(pings)-1].N != int64(total-cfg.PingRetention+1) {
		t.Fatalf("kept %d pings (first N %d), want the newest %d of %d", len(pings), pings[0].N, cfg.PingRetention, total)
	}
	page, _ := s.Pings(ctx, c.ID, store.PingQuery{Limit: 2, Before: int64(total)})
	if len(page) != 2 || page[0].N != int64(total-1) || page[1].N != int64(total-2) {
		t.Fatalf("page: %+v", page)
	}
}

func testUptime(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	inc := model.SplitDays(c.ID, model.StatusUp, day.Add(12*time.Hour), day.Add(30*time.Hour))
	inc = append(inc, model.SplitDays(c.ID, model.StatusDown, day.Add(30*time.Hour), day.Add(31*time.Hour))...)
	for _, u := range [][]model.UptimeDay{inc[:1], inc[1:]} {
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Uptime: u}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Uptime(ctx, c.ID, day.AddDate(0, 0, -90), day.AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.UptimeDay{
		{CheckID: c.ID, Day: day, Up: 12 * time.Hour, Total: 12 * time.Hour},
		{CheckID: c.ID, Day: day.AddDate(0, 0, 1), Up: 6 * time.Hour, Total: 7 * time.Hour},
	}
	equal(t, "uptime", got, want)
	got, _ = s.Uptime(ctx, c.ID, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2))
	equal(t, "uptime range", got, want[1:])
}

// testUptimeAll: every check's rollups in the window, and only those, in
// one call; an error once the store is closed.
func testUptimeAll(t *testing.T, cfg Config) {
	st, _ := open(t, cfg)
	ctx := context.Background()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	want := map[model.CheckID]int{}
	for i := range 3 {
		id := model.NewCheckID()
		c := model.Check{ID: id, Name: "c", Kind: model.KindPush}.WithDefaults()
		if err := st.CreateCheck(ctx, c, model.NewState(id, day)); err != nil {
			t.Fatal(err)
		}
		var days []model.UptimeDay
		for d := -1; d <= i+1; d++ { // day -1 and day 3 are outside [day, day+3)
			days = append(days, model.UptimeDay{CheckID: id, Day: day.AddDate(0, 0, d), Up: time.Hour, Total: 2 * time.Hour})
		}
		if err := st.Apply(ctx, store.Update{CheckID: id, State: model.NewState(id, day), Uptime: days}); err != nil {
			t.Fatal(err)
		}
		want[id] = min(i+2, 3)
	}
	var got []model.UptimeDay
	if err := st.UptimeAll(ctx, day, day.AddDate(0, 0, 3), func(d model.UptimeDay) { got = append(got, d) }); err != nil {
		t.Fatal(err)
	}
	n := map[model.CheckID]int{}
	for _, d := range got {
		if d.Day.Before(day) || !d.Day.Before(day.AddDate(0, 0, 3)) || d.Up != time.Hour || d.Total != 2*time.Hour {
			t.Errorf("row %+v", d)
		}
		n[d.CheckID]++
	}
	for id, w := range want {
		if n[id] != w {
			t.Errorf("check %s: %d days, want %d", id, n[id], w)
		}
	}
	st.Close()
	if err := st.UptimeAll(ctx, day, day, func(model.UptimeDay) {}); err == nil {
		t.Error("UptimeAll on a closed store: no error")
	}
}

func testConcurrentApply(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	const checks, perCheck = 20, 25
	ids := make([]model.CheckID, checks)
	for i := range ids {
		c := SampleCheck(i)
		ids[i] = c.ID
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, checks)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= perCheck; n++ {
				st := model.NewState(id, base)
				st.NPings = int64(n)
				p := model.Ping{CheckID: id, N: int64(n), Kind: model.PingSuccess, ExitStatus: -1, Time: base}
				f := flip(id, model.StatusUp, model.StatusDown, base.Add(time.Duration(n)*time.Second))
				if err := s.Apply(ctx, store.Update{CheckID: id, State: st, Ping: &p, Flips: []model.Flip{f}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range ids {
		_, st, err := s.GetCheck(ctx, id)
		if err != nil || st.NPings != perCheck {
			t.Fatalf("check %s: NPings %d (%v), want %d", id, st.NPings, err, perCheck)
		}
		flips, _ := s.Flips(ctx, id, store.FlipQuery{Limit: 1000})
		if len(flips) != perCheck {
			t.Fatalf("%d flips, want %d", len(flips), perCheck)
		}
	}
}
