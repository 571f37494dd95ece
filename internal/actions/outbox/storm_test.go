package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// stormRecorder records what a channel was sent; failDigests makes its
// first digest attempts fail.
type stormRecorder struct {
	mu          sync.Mutex
	got         []notify.Notification
	failDigests int
	refused     []string // keys of the digests refused
}

func (r *stormRecorder) Send(_ context.Context, n notify.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n.Event == notify.EventDigest && r.failDigests > 0 {
		r.failDigests--
		r.refused = append(r.refused, n.Key)
		return errors.New("503 busy")
	}
	r.got = append(r.got, n)
	return nil
}

// named returns how many messages were received and, per check name and
// event, how many times it was named (alone or in a digest).
func (r *stormRecorder) named() (msgs, digests int, names map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names = map[string]int{}
	for _, n := range r.got {
		if n.Digest == nil {
			names[n.Check+"/"+n.Event]++
			continue
		}
		digests++
		for _, e := range n.Digest.Entries {
			names[e.Check+"/"+e.Event]++
		}
	}
	return len(r.got), digests, names
}

// 500 checks go down at once, then recover: each notifier with storm
// protection gets a handful of messages (at most Threshold one by one,
// then digests) naming every check once; one without gets 500; a storm
// below the threshold changes nothing; a digest that fails is retried
// and its rows are delivered once.
func TestStormDigests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const checks, threshold = 500, 5
		st := memstore.New(memstore.Options{})
		pager, chat, plain := &stormRecorder{failDigests: 2}, &stormRecorder{}, &stormRecorder{}
		ch := notify.Channels{"pager": pager, "chat": chat, "plain": plain}
		w := startWatchdog(t, st, ch, DispatcherOptions{StatusURL: func() string { return "https://vitals.example/status/" },
			Rand: func() float64 { return 0 }})
		defer w.stop(t)
		w.disp.SetStorms(map[string]notify.Storm{"pager": {Threshold: threshold, Window: time.Minute}, "chat": notify.DefaultStorm})
		ctx := context.Background()
		routes := model.Routes{Down: []string{"pager", "chat", "plain"}, Up: []string{"pager", "chat", "plain"}}
		var ids []model.CheckID
		for i := range checks {
			c, err := w.eng.Create(ctx, routed(i, routes))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
			if _, err := w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil { // new → up: no alert
				t.Fatal(err)
			}
		}
		flipAll := func(kind model.PingKind) {
			for _, id := range ids {
				if _, err := w.eng.Ping(ctx, id, model.Ping{Kind: kind}); err != nil {
					t.Fatal(err)
				}
			}
		}
		settle := func() { // every row delivered
			for range 100 {
				time.Sleep(10 * time.Second)
				synctest.Wait()
				rows, err := st.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) == 0 {
					return
				}
			}
			t.Fatal("rows still pending after 1000s")
		}
		check := func(phase, event string, r *stormRecorder, name string, most int) {
			t.Helper()
			msgs, digests, names := r.named()
			t.Logf("%s: %s received %d messages (%d digests)", phase, name, msgs, digests)
			if msgs > most {
				t.Errorf("%s: %s received %d messages, want at most %d", phase, name, msgs, most)
			}
			for i := range checks {
				if n := names[fmt.Sprintf("job-%d/%s", i, event)]; n != 1 {
					t.Fatalf("%s: %s named job-%d %d times, want once", phase, name, i, n)
				}
			}
		}

		flipAll(model.PingFail) // 500 down at once
		settle()
		check("down", "down", pager, "pager", threshold+3)
		check("down", "down", chat, "chat", notify.DefaultStorm.Threshold+3)
		check("down", "down", plain, "plain", checks)
		// The digest refused twice was sent again with the same key and
		// accepted once.
		pager.mu.Lock()
		var keys []string
		for _, n := range pager.got {
			if n.Digest != nil {
				keys = append(keys, n.Key)
				if n.Digest.URL != "https://vitals.example/status/" || n.Title() == "" || n.Reason == "" {
					t.Errorf("digest without link, title or reason: %q %q %q", n.Digest.URL, n.Title(), n.Reason)
				}
			}
		}
		refused := slices.Clone(pager.refused)
		pager.mu.Unlock()
		if len(refused) != 2 || refused[0] != refused[1] || !slices.Contains(keys, refused[0]) {
			t.Errorf("refused digests %v, delivered %v: want the refused key delivered once after the retries", refused, keys)
		}
		if rows, _ := st.Notifications(ctx, store.NotificationQuery{State: model.NotificationDelivered, Limit: 2000}); len(rows) != 3*checks {
			t.Errorf("%d rows delivered, want %d", len(rows), 3*checks)
		}

		time.Sleep(2 * time.Minute) // the window passes
		for _, r := range []*stormRecorder{pager, chat, plain} {
			r.mu.Lock()
			r.got = nil
			r.mu.Unlock()
		}
		flipAll(model.PingSuccess) // 500 recover at once
		settle()
		check("up", "up", pager, "pager", threshold+3)
		check("up", "up", chat, "chat", notify.DefaultStorm.Threshold+3)
		check("up", "up", plain, "plain", checks)

		// Below the threshold nothing changes: 3 checks down, 3 messages
		// each on its own.
		time.Sleep(2 * time.Minute)
		pager.mu.Lock()
		pager.got = nil
		pager.mu.Unlock()
		for _, id := range ids[:3] {
			w.eng.Ping(ctx, id, model.Ping{Kind: model.PingFail})
		}
		settle()
		if msgs, digests, _ := pager.named(); msgs != 3 || digests != 0 {
			t.Errorf("below the threshold: %d messages, %d digests; want 3 single ones", msgs, digests)
		}
	})
}

func TestDigestRendering(t *testing.T) {
	var ns []notify.Notification
	for i := range 30 {
		n := testNotification("ops")
		n.Check = fmt.Sprintf("job-%d", i)
		if i%3 == 0 {
			n.Event, n.State, n.Previous = notify.EventUp, model.StatusUp, model.StatusDown
		}
		ns = append(ns, n)
	}
	d := notify.NewDigest("ops", ns, "https://v.example/status/", testTime)
	if got, want := d.Title(), "Alert storm: 30 checks (20 DOWN, 10 UP)"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	want := `alert storm on channel "ops": "job-0" (up), "job-1" (down), "job-2" (down), "job-3" (up), "job-4" (down), "job-5" (down), "job-6" (up), "job-7" (down), "job-8" (down), "job-9" (up) and 20 more; every check: https://v.example/status/`
	if d.Reason != want {
		t.Errorf("reason %q\nwant   %q", d.Reason, want)
	}
	if d.Digest.Total != 30 || len(d.Digest.Entries) != 30 || d.Digest.Counts["down"] != 20 {
		t.Errorf("digest %+v", d.Digest)
	}
}

// Three replicas' dispatchers claim from one PostgreSQL database 300 rows
// of a channel with storm protection, the first digest refused once: the
// receiver gets a few messages per replica (at most Threshold one by one,
// then digests) and every row is named exactly once; every row is
// delivered.
func TestClaimsStormDigest(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	const n, threshold = 300, 5
	var mu sync.Mutex
	named := map[string]int{} // row key → times named
	msgs, digests, refused := 0, 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var nt notify.Notification
		if err := json.NewDecoder(r.Body).Decode(&nt); err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if nt.Digest != nil && refused == 0 {
			refused++
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		msgs++
		if nt.Digest == nil {
			named[nt.Key]++
		} else {
			digests++
			for _, e := range nt.Digest.Entries {
				named[e.Key]++
			}
		}
	}))
	defer srv.Close()
	stores := []*postgres.Store{openReplica(t, dsn), openReplica(t, dsn), openReplica(t, dsn)}
	keys := enqueue(t, stores[0], n, time.Now())
	for i, st := range stores {
		wh, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDispatcher(st, notify.Channels{"ops": wh}, DispatcherOptions{Logger: quiet, Name: "replica-" + strconv.Itoa(i),
			Backoff: Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}})
		d.SetStorms(map[string]notify.Storm{"ops": {Threshold: threshold, Window: 600 * time.Millisecond}})
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Stop)
	}
	for i := 0; pending(t, stores[1]) > 0; i++ {
		if i == 200 {
			rows, _ := stores[1].Notifications(context.Background(), store.NotificationQuery{State: model.NotificationPending, Limit: 1000})
			for _, r := range rows[:min(len(rows), 5)] {
				t.Logf("pending %s attempts %d next %v (now %v) err %q", r.ID, r.Attempts, r.NextAttempt, time.Now(), r.LastError)
			}
			t.Fatalf("%d rows pending", len(rows))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d messages, %d digests, for %d rows on 3 replicas", msgs, digests, n)
	if msgs > 3*threshold+6 {
		t.Errorf("%d messages, want at most %d", msgs, 3*threshold+6)
	}
	for _, k := range keys {
		if named[k] != 1 {
			t.Errorf("row %s named %d times, want once", k, named[k])
		}
	}
}

// A storm's rows still pending when the dispatcher stops (the receiver
// refused the digest) are digested after the restart: the new dispatcher
// counts from zero, finds them all due at once and sends one digest.
func TestStormAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 50
		ctx := context.Background()
		st := memstore.New(memstore.Options{})
		defer st.Close()
		var rows []model.Notification
		for i := range n {
			c := routed(i, model.Routes{})
			if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
				t.Fatal(err)
			}
			nt := notify.FromTransition(c, model.Flip{ID: uuid.Must(uuid.NewV7()), From: model.StatusUp, To: model.StatusDown, Time: time.Now()})
			nt.Channel = "pager"
			r, err := Row(nt, time.Now(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		if err := st.EnqueueNotifications(ctx, rows); err != nil {
			t.Fatal(err)
		}
		storm := map[string]notify.Storm{"pager": {Threshold: 5, Window: time.Minute}}
		refusing := &stormRecorder{failDigests: 1000}
		d := NewDispatcher(st, notify.Channels{"pager": refusing}, DispatcherOptions{Logger: quiet})
		d.SetStorms(storm)
		d.Start(ctx)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		d.Stop()
		refusing.mu.Lock()
		tried := len(refusing.refused)
		refusing.mu.Unlock()
		if tried == 0 {
			t.Fatal("no digest was attempted before the stop")
		}

		rec := &stormRecorder{}
		d = NewDispatcher(st, notify.Channels{"pager": rec}, DispatcherOptions{Logger: quiet})
		d.SetStorms(storm)
		d.Start(ctx)
		defer d.Stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		msgs, digests, names := rec.named()
		if msgs != 1 || digests != 1 || len(names) != n {
			t.Errorf("after the restart: %d messages, %d digests, %d checks named; want one digest naming %d", msgs, digests, len(names), n)
		}
		if left, _ := st.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending}); len(left) != 0 {
			t.Errorf("%d rows pending", len(left))
		}
	})
}
