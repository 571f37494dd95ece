package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// The store is a store.Feed (docs/ha-ownership.md): states carry a
// revision (states.rev, migration 5), which every written state moves on
// and which a write with store.Update.CAS must still find (applySQL's st);
// writes with store.Update.Notify send a notification on channelSQL's
// channel, in the transaction of the write, so that PostgreSQL delivers it
// only once the write is committed, and never for a write rolled back.

var _ store.Feed = (*Store)(nil)

// channelSQL names the notification channel of the tables in the current
// schema: two installations sharing a database in two schemas do not hear
// each other (a hash, as a channel name is at most 63 bytes).
const channelSQL = `'vitals_' || left(md5(coalesce(current_schema(), '')), 16)`

// notifySQL sends the ids of a batch's writes with Notify, at most
// notifyChunk per notification (a payload holds less than 8,000 bytes). It
// runs in the batch's transaction: an id whose write was refused (fenced,
// a conflict) is sent too, which costs its listeners one read.
const notifySQL = `SELECT pg_notify(` + channelSQL + `, string_agg(id::text, ','))
	FROM (SELECT id, (row_number() OVER () - 1) / 200 AS chunk FROM unnest($1::uuid[]) AS id) ids GROUP BY chunk`

// revs are the compare-and-set columns of applySQL ($45, $46), one row per
// check of the batch, and the checks to notify.
type revs struct {
	cas    []bool
	rev    []int64
	notify [][16]byte
}

func (r *revs) add(u *store.Update) {
	r.cas, r.rev = append(r.cas, u.CAS), append(r.rev, u.Rev)
	if u.Notify {
		r.notify = append(r.notify, uid(u.CheckID))
	}
}

// merge adds a second write of the check of row i to the batch: the
// first write's compare-and-set decides, and the revision moves on by one
// for both (the engine never has two writes of one check in flight; a
// caller that has sees its next CAS conflict and re-reads).
func (r *revs) merge(_ int, u *store.Update) {
	if u.Notify {
		r.notify = append(r.notify, uid(u.CheckID))
	}
}

// conflict is the answer to a write whose compare-and-set failed.
func conflict(id model.CheckID, rev int64) error {
	// The id is the ping secret: errors name the check by its unique key.
	return fmt.Errorf("check %s: write at revision %d: %w", model.UniqueKey(id), rev, store.ErrConflict)
}

// GetCheckRev implements store.Feed.
func (s *Store) GetCheckRev(ctx context.Context, id model.CheckID) (model.Check, model.State, int64, error) {
	if err := s.reading(ctx); err != nil {
		return model.Check{}, model.State{}, 0, err
	}
	var def, st string
	var rev int64
	err := s.pool.QueryRow(ctx, `SELECT def, state, rev FROM checks JOIN states USING (id) WHERE id = $1 AND retired IS NULL`, uid(id)).Scan(&def, &st, &rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return model.Check{}, model.State{}, 0, notFound("check", model.UniqueKey(id))
	}
	if err != nil {
		return model.Check{}, model.State{}, 0, err
	}
	c, state, err := decodeCheck(def, st)
	return c, state, rev, err
}

// Revisions implements store.Feed.
func (s *Store) Revisions(ctx context.Context) (map[model.CheckID]int64, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, rev FROM states JOIN checks USING (id) WHERE retired IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[model.CheckID]int64{}
	for rows.Next() {
		var id [16]byte
		var rev int64
		if err := rows.Scan(&id, &rev); err != nil {
			return nil, err
		}
		out[model.CheckID(id)] = rev
	}
	return out, rows.Err()
}

// Listen backoff bounds: the first retry after a lost connection, and the
// longest wait between two.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// Listen implements store.Feed, on a connection of its own (outside the
// pool, which would take it back), made from the pool's configuration.
// Losing it, it reconnects after a backoff that doubles from 100 ms up to
// 5 s and returns to 100 ms once a connection has listened. It returns
// store.ErrClosed once the store is closed.
func (s *Store) Listen(ctx context.Context, fn func(ids []model.CheckID)) error {
	backoff := listenMinBackoff
	for {
		if err := s.reading(ctx); err != nil {
			return err
		}
		listened, err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = listenMinBackoff
		}
		s.log.Warn("postgres: listening for other replicas' writes failed; reconnecting", "after", backoff,
			"err", scrub(err, s.pool.Config().ConnConfig.Password))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens, calls fn(nil) and then fn with each
// notification's ids, until the connection fails or ctx ends. listened
// reports whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, fn func(ids []model.CheckID)) (listened bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
	conn, err := pgx.ConnectConfig(cctx, s.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, err
	}
	fn(nil) // anything may have changed while nobody listened
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		fn(parseIDs(n.Payload))
	}
}

// parseIDs reads a notification's payload (ids separated by commas),
// skipping what is not an id.
func parseIDs(payload string) []model.CheckID {
	var ids []model.CheckID
	for f := range strings.SplitSeq(payload, ",") {
		if id, err := uuid.Parse(f); err == nil {
			ids = append(ids, model.CheckID(id))
		}
	}
	return ids
}
