package outbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// Environment of the claiming child process (see TestMain): a replica's
// dispatcher alone, on the PostgreSQL database of envPG.
const (
	envPG        = "VITALS_ACTIONS_PG"
	envClaimTTL  = "VITALS_ACTIONS_CLAIM_TTL"
	headerSender = "X-Test-Sender"
)

// hookReceiver is a webhook receiver counting what each sender (the
// X-Test-Sender header of its webhook) delivered per Idempotency-Key. A
// request is counted when it arrives (a real receiver acts on it then,
// whether or not its answer reaches the sender). Requests from the sender
// hold names are held unanswered until release; every key's first
// request is answered 503 when failFirst is set.
type hookReceiver struct {
	url string

	mu        sync.Mutex
	got       map[string][]string // key → senders, in arrival order
	tried     map[string]bool     // keys answered 503 once (failFirst)
	failFirst func(key string) bool
	hold      string
	held      []string // keys held
	release   chan struct{}
}

func newHookReceiver(t testing.TB) *hookReceiver {
	t.Helper()
	r := &hookReceiver{got: map[string][]string{}, tried: map[string]bool{}, release: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	go srv.Serve(l)
	t.Cleanup(func() { r.unhold(); srv.Close() })
	r.url = "http://" + l.Addr().String() + "/hook"
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	key, from := req.Header.Get(notify.HeaderIdempotencyKey), req.Header.Get(headerSender)
	r.mu.Lock()
	if r.failFirst != nil && r.failFirst(key) && !r.tried[key] {
		r.tried[key] = true
		r.mu.Unlock()
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	r.got[key] = append(r.got[key], from)
	hold := from == r.hold
	if hold {
		r.held = append(r.held, key)
	}
	release := r.release
	r.mu.Unlock()
	if hold {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}
	w.WriteHeader(http.StatusOK)
}

// unhold answers the held requests.
func (r *hookReceiver) unhold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

// snapshot returns how many times each key arrived, by whom, and the held keys.
func (r *hookReceiver) snapshot() (got map[string][]string, held []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got = map[string][]string{}
	for k, v := range r.got {
		got[k] = slices.Clone(v)
	}
	return got, slices.Clone(r.held)
}

func (r *hookReceiver) webhook(t testing.TB, sender string) notify.Notifier {
	t.Helper()
	wh, err := notify.NewWebhook(notify.WebhookConfig{URL: r.url, Headers: map[string]string{headerSender: sender}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

// openReplica opens the store of one replica on dsn.
func openReplica(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// enqueue adds n rows for channel "ops" of one new check, due at due, and
// returns their keys.
func enqueue(t testing.TB, st store.Store, n int, due time.Time) []string {
	t.Helper()
	ctx := context.Background()
	c := storetest.SampleCheck(1)
	if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	var rows []model.Notification
	var keys []string
	for range n {
		nt := notify.Notification{Event: notify.EventDown, CheckID: c.ID, FlipID: uuid.Must(uuid.NewV7()), Check: "claimed", State: model.StatusDown, Channel: "ops"}
		r, err := Row(nt, time.Now(), due)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
		keys = append(keys, notify.Key(c.ID, nt.FlipID, "ops"))
	}
	for chunk := range slices.Chunk(rows, 500) {
		if err := st.EnqueueNotifications(ctx, chunk); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// pending counts the rows not delivered yet.
func pending(t testing.TB, st store.Store) int {
	t.Helper()
	rows, err := st.Notifications(context.Background(), store.NotificationQuery{State: model.NotificationPending, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// claimDispatcher is a replica's dispatcher on st, sending through the
// receiver as sender.
func claimDispatcher(t testing.TB, st store.Store, rcv *hookReceiver, sender string, opts DispatcherOptions) *Dispatcher {
	t.Helper()
	opts.Logger, opts.Name = quiet, sender
	if opts.Backoff.Initial == 0 {
		opts.Backoff = Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	d := NewDispatcher(st, notify.Channels{"ops": rcv.webhook(t, sender)}, opts)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d
}

// Three replicas' dispatchers on one PostgreSQL database, with receivers
// answering 503 to the first attempt of some rows and rows due later:
// every row is delivered exactly once (the 503s retried with backoff, by
// whichever replica claims them), none before it is due, and the work is
// shared.
func TestClaimsDeliverOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	const n, later = 300, 10
	rcv := newHookReceiver(t)
	rcv.failFirst = func(key string) bool { return strings.HasSuffix(key, "7/ops") } // a key ends with its flip's id, then the channel: 1 in 16
	stores := []*postgres.Store{openReplica(t, dsn), openReplica(t, dsn), openReplica(t, dsn)}
	keys := enqueue(t, stores[0], n, time.Now())
	due := time.Now().Add(1500 * time.Millisecond)
	laterKeys := enqueue(t, stores[0], later, due)
	var ds []*Dispatcher
	for i, st := range stores {
		ds = append(ds, claimDispatcher(t, st, rcv, "replica-"+strconv.Itoa(i), DispatcherOptions{Concurrency: 8}))
	}
	for _, d := range ds {
		d.Wake()
	}
	waitUntil(t, "every row delivered", func() bool { return pending(t, stores[1]) == 0 })
	got, _ := rcv.snapshot()
	bySender := map[string]int{}
	for _, k := range append(keys, laterKeys...) {
		if len(got[k]) != 1 {
			t.Errorf("key %s delivered %d times (by %v), want once", k, len(got[k]), got[k])
			continue
		}
		bySender[got[k][0]]++
	}
	if len(got) != n+later {
		t.Errorf("%d keys received, want %d", len(got), n+later)
	}
	if len(bySender) < 2 {
		t.Errorf("deliveries by replica %v: the work was not shared", bySender)
	}
	t.Logf("deliveries by replica: %v", bySender)
	var retried int64
	for _, d := range ds {
		retried += d.Stats().Retried
	}
	if retried == 0 {
		t.Error("no 503 was retried")
	}
	// Rows due later were not sent before they were due, less the
	// dispatcher's Coalesce (a row due within 100 ms of a claim goes with
	// it, by design).
	rows, err := stores[2].Notifications(context.Background(), store.NotificationQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.NextAttempt.Equal(due) && r.Delivered.Before(due.Add(-100*time.Millisecond)) {
			t.Errorf("row due at %v delivered at %v", due, r.Delivered)
		}
	}
}

// claimChild is a replica reduced to its dispatcher, on the PostgreSQL
// database of envPG, sending as "child" to envHook; it says "ready" once
// started and runs until it is killed.
func claimChild() int {
	st, err := postgres.Open(context.Background(), os.Getenv(envPG), postgres.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	wh, err := notify.NewWebhook(notify.WebhookConfig{URL: os.Getenv(envHook), Headers: map[string]string{headerSender: "child"}}, nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ttl, _ := time.ParseDuration(os.Getenv(envClaimTTL))
	n, _ := strconv.Atoi(os.Getenv(envN))
	disp := NewDispatcher(st, notify.Channels{"ops": wh}, DispatcherOptions{Logger: quiet, Name: "child", Concurrency: n, PerChannel: n,
		AttemptTimeout: time.Minute, ClaimTTL: ttl})
	disp.Start(context.Background())
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	disp.Stop()
	st.Close()
	return 0
}

// A replica killed with SIGKILL while 8 deliveries are in flight (the
// receiver has them and has not answered): the other replicas deliver
// every other row meanwhile without touching its 8, whose claims are
// live; once the claims end they deliver those 8 too, with the same
// Idempotency-Key. The duplicates are exactly the 8 in flight at the kill.
func TestClaimsKill9MidDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a replica process")
	}
	t.Parallel()
	dsn := pgtest.Schema(t)
	const n, inflight = 200, 8
	rcv := newHookReceiver(t)
	rcv.hold = "child"
	st := openReplica(t, dsn)
	keys := enqueue(t, st, n, time.Now())

	cmd, lines := startChildEnv(t, []string{envChild + "=claim", envPG + "=" + dsn, envHook + "=" + rcv.url,
		envN + "=" + strconv.Itoa(inflight), envClaimTTL + "=3s"})
	expectLine(t, lines, "ready")
	waitUntil(t, "the child's deliveries in flight", func() bool { _, held := rcv.snapshot(); return len(held) == inflight })

	// The survivors deliver the rest; the child's claims keep its 8.
	for i := range 2 {
		claimDispatcher(t, openReplica(t, dsn), rcv, "survivor-"+strconv.Itoa(i), DispatcherOptions{Concurrency: 8, ClaimTTL: 3 * time.Second}).Wake()
	}
	waitUntil(t, "the rows not in flight delivered", func() bool { return pending(t, st) == inflight })
	_, held := rcv.snapshot()
	if len(held) != inflight {
		t.Fatalf("%d held, want %d", len(held), inflight)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	rcv.unhold()

	waitUntil(t, "the killed replica's rows delivered", func() bool { return pending(t, st) == 0 })
	got, _ := rcv.snapshot()
	var dups []string
	for _, k := range keys {
		switch s := got[k]; {
		case len(s) == 0:
			t.Errorf("key %s never delivered", k)
		case len(s) > 1:
			dups = append(dups, k)
			if len(s) != 2 || s[0] != "child" || s[1] == "child" {
				t.Errorf("key %s delivered by %v, want the child, then a survivor", k, s)
			}
		}
	}
	slices.Sort(dups)
	slices.Sort(held)
	if !slices.Equal(dups, held) {
		t.Fatalf("duplicates %v, want exactly the %d in flight at the kill %v", dups, inflight, held)
	}
	t.Logf("%d rows, %d in flight at the kill, %d delivered twice (same key), %d once", n, inflight, len(dups), n-len(dups))
}

// sendHeld is a Policy that lets every held row go when asked again (a
// silence deleted: nothing holds them any more).
type sendHeld struct{}

func (sendHeld) Decide(model.Transition, time.Time) Verdict     { return Verdict{} }
func (sendHeld) Remember(store.PolicyState)                     {}
func (sendHeld) Recheck(notify.Notification, time.Time) Verdict { return Verdict{} }

// Rows held by a window (due at its end, an hour away) wait while two
// replicas deliver the rest; ReleaseHeld on one replica (a silence
// deleted there) makes it claim and send them at once, each once.
func TestClaimsReleaseHeldRows(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	rcv := newHookReceiver(t)
	st := openReplica(t, dsn)
	c := storetest.SampleCheck(1)
	ctx := context.Background()
	if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(time.Hour)
	var rows []model.Notification
	for range 5 {
		r, err := Row(notify.Notification{Event: notify.EventDown, CheckID: c.ID, FlipID: uuid.Must(uuid.NewV7()), Channel: "ops", HeldUntil: end}, time.Now(), end)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := st.EnqueueNotifications(ctx, rows); err != nil {
		t.Fatal(err)
	}
	enqueue(t, st, 20, time.Now())
	a := claimDispatcher(t, openReplica(t, dsn), rcv, "a", DispatcherOptions{Policy: sendHeld{}})
	b := claimDispatcher(t, openReplica(t, dsn), rcv, "b", DispatcherOptions{Policy: sendHeld{}})
	a.Wake()
	waitUntil(t, "the rows not held delivered", func() bool { return pending(t, st) == len(rows) })
	b.ReleaseHeld()
	waitUntil(t, "the held rows delivered", func() bool { return pending(t, st) == 0 })
	got, _ := rcv.snapshot()
	for _, r := range rows {
		if k := notify.Key(c.ID, r.FlipID, "ops"); len(got[k]) != 1 || got[k][0] != "b" {
			t.Errorf("held row %s delivered by %v, want once by b", k, got[k])
		}
	}
}
