package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Listen's connection killed by the server (pg_terminate_backend, as a
// restart or a proxy does): Listen reconnects by itself, calls its
// function with nil (catch up: notifications may have been lost), and
// hears the writes after.
func TestListenReconnects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	s := open(t, dsn, postgres.Options{Logger: quiet})
	defer s.Close()
	c := model.Check{ID: model.NewCheckID(), Name: "job", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	got := make(chan []model.CheckID, 16)
	done := make(chan error, 1)
	go func() { done <- s.Listen(lctx, func(ids []model.CheckID) { got <- ids }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Listen after its context ended: %v", err)
		}
	}()
	next := func() []model.CheckID {
		t.Helper()
		select {
		case ids := <-got:
			return ids
		case <-time.After(10 * time.Second):
			t.Fatal("no call of Listen's function in 10s")
			return nil
		}
	}
	if ids := next(); ids != nil {
		t.Fatalf("first call %v, want nil", ids)
	}
	// Kill this store's listening connection only (other tests listen on
	// channels of their own schemas).
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+postgres.ChannelSQL).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		"LISTEN "+pgx.Identifier{channel}.Sanitize()).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening connections (%v), want 1", killed, err)
	}
	if ids := next(); ids != nil {
		t.Fatalf("after the reconnection: %v, want nil (catch up)", ids)
	}
	st := model.NewState(c.ID, time.Now())
	st.NPings = 1
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Notify: true}); err != nil {
		t.Fatal(err)
	}
	if ids := next(); !slices.Contains(ids, c.ID) {
		t.Fatalf("after the reconnection, a notified write heard as %d ids, not the check", len(ids))
	}
}
