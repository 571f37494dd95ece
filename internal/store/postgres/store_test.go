package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/storetest"
	"github.com/vitals-go/vitals/internal/testenv"
)

func create(t *testing.T, s store.Store) model.Check {
	t.Helper()
	c := storetest.SampleCheck(1)
	if err := s.CreateCheck(context.Background(), c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	return c
}

func pingUpdate(id model.CheckID, n int64) store.Update {
	st := model.NewState(id, time.Now())
	st.NPings = n
	return store.Update{CheckID: id, State: st, Ping: &model.Ping{CheckID: id, N: n, Kind: model.PingLog, Time: time.Now()}}
}

// One batch mixing good writes, writes to missing checks, a write that
// violates a constraint (a flip id again) and several writes to the same
// check: each fails or succeeds on its own.
func TestBatchIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), postgres.Options{MaxWait: 50 * time.Millisecond, Writers: 1, PingRetention: 1000})
	defer s.Close()
	c := create(t, s)
	flip := model.Flip{ID: uuid.New(), CheckID: c.ID, From: model.StatusNew, To: model.StatusUp, Time: time.Now()}
	first := pingUpdate(c.ID, 1)
	first.Flips = []model.Flip{flip}
	if err := s.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	dup := pingUpdate(c.ID, 3)
	dup.Flips = []model.Flip{flip}
	missing := model.NewCheckID()
	updates := []store.Update{pingUpdate(c.ID, 2), pingUpdate(c.ID, 4), dup, pingUpdate(missing, 1), pingUpdate(c.ID, 5)}
	errs := make([]error, len(updates))
	var wg sync.WaitGroup
	for i, u := range updates {
		wg.Go(func() { errs[i] = s.Apply(ctx, u) })
	}
	wg.Wait()
	for i, want := range []string{"", "", "duplicate key", "not found", ""} {
		if (want == "") != (errs[i] == nil) || (want != "" && !strings.Contains(errs[i].Error(), want)) {
			t.Fatalf("update %d: %v, want %q", i, errs[i], want)
		}
	}
	if !errors.Is(errs[3], store.ErrNotFound) {
		t.Fatalf("missing check: %v, want ErrNotFound", errs[3])
	}
	pings, _ := s.Pings(ctx, c.ID, store.PingQuery{})
	if len(pings) != 4 || pings[0].N != 5 || pings[3].N != 1 {
		t.Fatalf("pings %+v, want 5, 4, 2, 1", pings)
	}
	if st := s.Stats(); st.Batches < 2 || st.Writes < 6 {
		t.Fatalf("stats %+v", st)
	}
}

// Text PostgreSQL would refuse (NUL, invalid UTF-8: a client's User-Agent
// may hold them) is stored with U+FFFD in its place, not refused; the body
// is kept byte for byte.
func TestTextColumnsTakeAnyString(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), postgres.Options{})
	defer s.Close()
	c := create(t, s)
	u := pingUpdate(c.ID, 1)
	u.Ping.UserAgent = "curl\x00/\xff8"
	u.Ping.Body = []byte{0, 0xff, 'x'}
	u.State.LastError = "probe said \x00\xfe"
	if err := s.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	pings, err := s.Pings(ctx, c.ID, store.PingQuery{})
	if err != nil || len(pings) != 1 {
		t.Fatalf("pings %v, %v", pings, err)
	}
	if got := pings[0].UserAgent; got != "curl\uFFFD/\uFFFD8" || string(pings[0].Body) != "\x00\xffx" {
		t.Fatalf("user agent %q, body %q", got, pings[0].Body)
	}
	if _, st, err := s.GetCheck(ctx, c.ID); err != nil || !strings.HasPrefix(st.LastError, "probe said \x00") {
		t.Fatalf("state: %q, %v", st.LastError, err)
	}
}

// The DSN is a secret: no error of Open quotes it or its password, for a
// DSN that does not parse and for a server that is not there.
func TestDSNNotInErrors(t *testing.T) {
	t.Parallel()
	const pw = "pw-Zq81-never-shown"
	for _, dsn := range []string{
		"postgres://vitals:" + pw + "@127.0.0.1:1/vitals?sslmode=disable&connect_timeout=2",
		"postgres://vitals:" + pw + "%zz@127.0.0.1:1/vitals",
		"host=127.0.0.1 port=1 user=vitals password=" + pw + " connect_timeout=2 sslmode=disable",
		"host=127.0.0.1 port=notaport password=" + pw,
	} {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("opened %q", dsn)
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "127.0.0.1:1/vitals") {
			t.Fatalf("the error quotes the DSN: %v", err)
		}
	}
}

// With the database gone (its connections cut, no new one accepted),
// Apply and ProbeWrite fail with an error that is not ErrNotFound and does
// not quote the password; when it is back, they succeed again on the same
// store, with no reopen.
func TestDatabaseGoneAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	s := open(t, u.String(), postgres.Options{WriteTimeout: 3 * time.Second})
	defer s.Close()
	c := create(t, s)
	if err := s.Apply(ctx, pingUpdate(c.ID, 1)); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	err = s.Apply(ctx, pingUpdate(c.ID, 2))
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("apply with the database gone: %v", err)
	}
	if pw, _ := u.User.Password(); strings.Contains(err.Error(), pw+"@") {
		t.Fatalf("the error quotes the password: %v", err)
	}
	if err := s.ProbeWrite(ctx); err == nil {
		t.Fatal("write probe passed with the database gone")
	}
	proxy.Up()
	testenv.WaitFor(t, "writes again", 20*time.Second, func() error { return s.ProbeWrite(ctx) })
	if err := s.Apply(ctx, pingUpdate(c.ID, 2)); err != nil {
		t.Fatalf("apply after the database came back: %v", err)
	}
	if _, st, err := s.GetCheck(ctx, c.ID); err != nil || st.NPings != 2 {
		t.Fatalf("state after: NPings %d, %v", st.NPings, err)
	}
}
