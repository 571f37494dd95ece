package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// exists answers ErrNotFound when no check (live or retired) has id.
func (s *Store) exists(ctx context.Context, id model.CheckID) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM checks WHERE id = $1`, uid(id)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("check", id)
	}
	return err
}

func decodeCheck(def, st string) (model.Check, model.State, error) {
	var c model.Check
	var s model.State
	if err := json.Unmarshal([]byte(def), &c); err != nil {
		return c, s, fmt.Errorf("decode check: %w", err)
	}
	if err := json.Unmarshal([]byte(st), &s); err != nil {
		return c, s, fmt.Errorf("decode state of %s: %w", c.ID, err)
	}
	return c, s, nil
}

// GetCheck implements store.Store.
func (s *Store) GetCheck(ctx context.Context, id model.CheckID) (model.Check, model.State, error) {
	if err := s.reading(ctx); err != nil {
		return model.Check{}, model.State{}, err
	}
	var def, st string
	err := s.pool.QueryRow(ctx, `SELECT def, state FROM checks JOIN states USING (id) WHERE id = $1 AND retired IS NULL`, uid(id)).Scan(&def, &st)
	if errors.Is(err, pgx.ErrNoRows) {
		return model.Check{}, model.State{}, notFound("check", id)
	}
	if err != nil {
		return model.Check{}, model.State{}, err
	}
	return decodeCheck(def, st)
}

// ListChecks implements store.Store.
func (s *Store) ListChecks(ctx context.Context) ([]model.CheckState, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT def, state FROM checks JOIN states USING (id) WHERE retired IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.CheckState
	for rows.Next() {
		var def, st string
		if err := rows.Scan(&def, &st); err != nil {
			return nil, err
		}
		c, state, err := decodeCheck(def, st)
		if err != nil {
			return nil, err
		}
		out = append(out, model.CheckState{Check: c, State: state})
	}
	return out, rows.Err()
}

// Pings implements store.Store. The writer prunes old pings in steps (see
// Store.prunes): rows past the retention may linger and are hidden here.
func (s *Store) Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	if err := s.exists(ctx, id); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated
		FROM pings WHERE check_id = $1 AND n < $2
			AND n > (SELECT coalesce(max(n), 0) FROM pings WHERE check_id = $1) - $3
		ORDER BY n DESC LIMIT $4`, uid(id), before, int64(s.opts.PingRetention), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Ping
	for rows.Next() {
		p := model.Ping{CheckID: id}
		var kind string
		var rid [16]byte
		var t, d int64
		var exit int32
		if err := rows.Scan(&p.N, &kind, &exit, &rid, &t, &d, &p.Method, &p.Scheme, &p.RemoteAddr, &p.UserAgent, &p.Body, &p.BodyTruncated); err != nil {
			return nil, err
		}
		p.Kind, p.ExitStatus, p.RID, p.Time, p.Duration = model.PingKind(kind), int(exit), rid, untm(t), time.Duration(d)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Flips implements store.Store.
func (s *Store) Flips(ctx context.Context, id model.CheckID, q store.FlipQuery) ([]model.Flip, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	before := int64(1<<63 - 1)
	if !q.Before.IsZero() {
		before = q.Before.UnixNano()
	}
	const cols = `SELECT id, check_id, from_st, to_st, time, reason FROM flips`
	var rows pgx.Rows
	var err error
	if id.IsZero() {
		rows, err = s.pool.Query(ctx, cols+` WHERE time < $1 ORDER BY time DESC, id DESC LIMIT $2`, before, limit)
	} else {
		if err := s.exists(ctx, id); err != nil {
			return nil, err
		}
		rows, err = s.pool.Query(ctx, cols+` WHERE check_id = $1 AND time < $2 ORDER BY time DESC, id DESC LIMIT $3`, uid(id), before, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Flip
	for rows.Next() {
		var f model.Flip
		var fid, cid [16]byte
		var from, to string
		var t int64
		if err := rows.Scan(&fid, &cid, &from, &to, &t, &f.Reason); err != nil {
			return nil, err
		}
		f.ID, f.CheckID, f.From, f.To, f.Time = fid, cid, model.Status(from), model.Status(to), untm(t)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Uptime implements store.Store.
func (s *Store) Uptime(ctx context.Context, id model.CheckID, from, to time.Time) ([]model.UptimeDay, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	if err := s.exists(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day, up, total FROM uptime WHERE check_id = $1 AND day >= $2 AND day < $3 ORDER BY day`,
		uid(id), from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.UptimeDay
	for rows.Next() {
		var day, up, total int64
		if err := rows.Scan(&day, &up, &total); err != nil {
			return nil, err
		}
		out = append(out, model.UptimeDay{CheckID: id, Day: time.Unix(day, 0).UTC(), Up: time.Duration(up), Total: time.Duration(total)})
	}
	return out, rows.Err()
}

// UptimeAll implements store.Store: one query, its rows streamed to fn.
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error {
	if err := s.reading(ctx); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT check_id, day, up, total FROM uptime WHERE day >= $1 AND day < $2`, from.Unix(), to.Unix())
	if err != nil {
		return fmt.Errorf("postgres: uptime of every check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id [16]byte
		var day, up, total int64
		if err := rows.Scan(&id, &day, &up, &total); err != nil {
			return err
		}
		fn(model.UptimeDay{CheckID: id, Day: time.Unix(day, 0).UTC(), Up: time.Duration(up), Total: time.Duration(total)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: uptime of every check: %w", err)
	}
	return nil
}

// Notifications implements store.Store.
func (s *Store) Notifications(ctx context.Context, q store.NotificationQuery) ([]model.Notification, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.State != "" {
		arg("state = ?", string(q.State))
	}
	if !q.DueBefore.IsZero() {
		arg("next_attempt < ?", q.DueBefore.UnixNano())
	}
	if !q.CheckID.IsZero() {
		arg("check_id = ?", uid(q.CheckID))
	}
	query := `SELECT ` + notificationCols + ` FROM outbox`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	query += " ORDER BY seq LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanNotifications(rows)
}

// notificationCols are the columns scanNotifications reads, in order.
const notificationCols = `id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered`

// scanNotifications reads rows of notificationCols and closes them.
func scanNotifications(rows pgx.Rows) ([]model.Notification, error) {
	defer rows.Close()
	var out []model.Notification
	for rows.Next() {
		var n model.Notification
		var id, fid, cid [16]byte
		var state string
		var payload []byte
		var attempts int32
		var next, created, delivered int64
		if err := rows.Scan(&id, &fid, &cid, &n.Channel, &payload, &state, &attempts, &next, &n.LastError, &created, &delivered); err != nil {
			return nil, err
		}
		n.ID, n.FlipID, n.CheckID, n.Attempts = id, fid, cid, int(attempts)
		if len(payload) > 0 {
			n.Payload = json.RawMessage(payload)
		}
		n.State, n.NextAttempt, n.Created, n.Delivered = model.NotificationState(state), untm(next), untm(created), untm(delivered)
		out = append(out, n)
	}
	return out, rows.Err()
}

// PolicyStates implements store.Store.
func (s *Store) PolicyStates(ctx context.Context) ([]store.PolicyState, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT check_id, flip_id, dropped, held FROM policy_state ORDER BY check_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PolicyState
	for rows.Next() {
		var c, f [16]byte
		var ps store.PolicyState
		if err := rows.Scan(&c, &f, &ps.Dropped, &ps.Held); err != nil {
			return nil, err
		}
		ps.CheckID, ps.FlipID = c, f
		out = append(out, ps)
	}
	return out, rows.Err()
}
