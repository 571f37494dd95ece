package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

var _ store.OutboxClaimer = (*Store)(nil)

// dbNow is the database's clock in int8 nanoseconds, the clock of claims:
// replicas whose clocks disagree still agree on when a claim ends.
const dbNow = `(extract(epoch FROM clock_timestamp()) * 1000000000)::int8`

// ClaimNotifications implements store.OutboxClaimer with one statement
// (SELECT … FOR UPDATE SKIP LOCKED under an UPDATE) and one read of when
// the rest is due, sent together in one round trip. A claim is not a
// transaction held open: it is the row's claimed_by and claim_until, so a
// claimer that dies holds nothing but its rows until claim_until.
func (s *Store) ClaimNotifications(ctx context.Context, q store.ClaimQuery) (store.Claimed, error) {
	if err := s.reading(ctx); err != nil {
		return store.Claimed{}, err
	}
	if q.By == "" || q.TTL <= 0 {
		return store.Claimed{}, errors.New("postgres: claim: By and TTL are required")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	due := tm(q.DueBefore)
	b := &pgx.Batch{}
	if q.Limit > 0 {
		args := []any{due, q.Limit, txt(q.By), q.TTL.Nanoseconds()}
		match := `next_attempt < $1`
		if len(q.Also) > 0 {
			args = append(args, ids(q.Also))
			match = `(next_attempt < $1 OR id = ANY($` + strconv.Itoa(len(args)) + `::uuid[]))`
		}
		if len(q.Exclude) > 0 {
			args = append(args, q.Exclude)
			match += ` AND channel <> ALL($` + strconv.Itoa(len(args)) + `::text[])`
		}
		if len(q.Only) > 0 {
			args = append(args, q.Only)
			match += ` AND channel = ANY($` + strconv.Itoa(len(args)) + `::text[])`
		}
		b.Queue(`WITH t AS (SELECT `+dbNow+` AS now),
			c AS (SELECT id FROM outbox
				WHERE state = 'pending' AND claim_until <= (SELECT now FROM t) AND `+match+`
				ORDER BY next_attempt, seq LIMIT $2
				FOR UPDATE SKIP LOCKED)
			UPDATE outbox o SET claimed_by = $3, claim_until = (SELECT now FROM t) + $4
			FROM c WHERE o.id = c.id
			RETURNING `+prefixed("o.", notificationCols), args...)
	}
	b.Queue(`WITH t AS (SELECT `+dbNow+` AS now)
		SELECT (SELECT min(next_attempt) FROM outbox WHERE state = 'pending' AND next_attempt >= $1),
			(SELECT min(claim_until) - (SELECT now FROM t) FROM outbox
				WHERE state = 'pending' AND next_attempt < $1 AND claim_until > (SELECT now FROM t) AND claimed_by <> $2)`,
		due, txt(q.By))
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var out store.Claimed
	if q.Limit > 0 {
		rows, err := br.Query()
		if err == nil {
			out.Rows, err = scanNotifications(rows)
		}
		if err != nil {
			return store.Claimed{}, fmt.Errorf("postgres: claim outbox rows: %w", err)
		}
		slices.SortStableFunc(out.Rows, func(a, b model.Notification) int {
			if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
				return c
			}
			return slices.Compare(a.ID[:], b.ID[:]) // UUIDv7: creation order
		})
	}
	var next, ends *int64
	if err := br.QueryRow().Scan(&next, &ends); err != nil {
		return store.Claimed{}, fmt.Errorf("postgres: outbox due times: %w", err)
	}
	if next != nil {
		out.Next = untm(*next)
	}
	if ends != nil {
		out.ClaimEnds = time.Duration(*ends)
	}
	return out, br.Close()
}

// ids is the encoding of a uuid list for pgx.
func ids(us []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(us))
	for i, u := range us {
		out[i] = u
	}
	return out
}

// prefixed qualifies each column of the comma-separated cols with p.
func prefixed(p, cols string) string {
	return p + strings.ReplaceAll(cols, ", ", ", "+p)
}
