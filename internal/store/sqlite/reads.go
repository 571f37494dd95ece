package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// reading returns an error when the store is closed.
func (s *Store) reading(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

func (s *Store) exists(ctx context.Context, id model.CheckID) error {
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM checks WHERE id = ?`, id.Secret()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("check", id)
	}
	return err
}

// GetCheck implements store.Store.
func (s *Store) GetCheck(ctx context.Context, id model.CheckID) (model.Check, model.State, error) {
	if err := s.reading(ctx); err != nil {
		return model.Check{}, model.State{}, err
	}
	// One read transaction, so the check and the log agree.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return model.Check{}, model.State{}, err
	}
	defer tx.Rollback()
	var def, st []byte
	err = tx.QueryRowContext(ctx, `SELECT def, state FROM checks JOIN states USING (id) WHERE id = ? AND `+live, id.Secret()).Scan(&def, &st)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Check{}, model.State{}, notFound("check", id)
	}
	if err != nil {
		return model.Check{}, model.State{}, err
	}
	var logged []byte
	err = tx.QueryRowContext(ctx, `SELECT state FROM ping_log WHERE check_id = ? ORDER BY rowid DESC LIMIT 1`, id.Secret()).Scan(&logged)
	switch {
	case err == nil:
		st = logged
	case !errors.Is(err, sql.ErrNoRows):
		return model.Check{}, model.State{}, err
	}
	return decodeCheck(def, st)
}

func decodeCheck(def, st []byte) (model.Check, model.State, error) {
	var c model.Check
	var s model.State
	if err := json.Unmarshal(def, &c); err != nil {
		return c, s, fmt.Errorf("decode check: %w", err)
	}
	if err := json.Unmarshal(st, &s); err != nil {
		return c, s, fmt.Errorf("decode state of %s: %w", c.ID, err)
	}
	return c, s, nil
}

// ListChecks implements store.Store.
func (s *Store) ListChecks(ctx context.Context) ([]model.CheckState, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// The newest logged state of each check overrides the compacted one.
	logged := map[string][]byte{}
	lrows, err := tx.QueryContext(ctx, `SELECT check_id, state FROM ping_log ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	for lrows.Next() {
		var id string
		var st []byte
		if err := lrows.Scan(&id, &st); err != nil {
			lrows.Close()
			return nil, err
		}
		logged[id] = st
	}
	lrows.Close()
	if err := lrows.Err(); err != nil {
		return nil, err
	}
	// At most this many rows (retired checks are left out): the result
	// is allocated once, and decoded into in place.
	var most int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM checks`).Scan(&most); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, def, state FROM checks JOIN states USING (id) WHERE `+live)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// With 100,000 checks this is most of a restart: the rows are read
	// here while decoders turn the JSON of earlier batches into checks
	// (see decodeRows), straight into the result, allocated once rather
	// than grown by append (a copy of every check per doubling).
	dec := newDecodeRows(make([]model.CheckState, most))
	defer dec.stop()
	batch := make([]rawCheck, 0, decodeBatch)
	for rows.Next() {
		var r rawCheck
		var id sql.RawBytes // only looked up: not copied
		if err := rows.Scan(&id, &r.def, &r.st); err != nil {
			return nil, err
		}
		if l, ok := logged[string(id)]; ok {
			r.st = l
		}
		if batch = append(batch, r); len(batch) == decodeBatch {
			dec.add(batch)
			batch = make([]rawCheck, 0, decodeBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(batch) > 0 {
		dec.add(batch)
	}
	out, err := dec.wait()
	if err != nil {
		return nil, err
	}
	sortByID(out)
	return out, nil
}

// rawCheck is a stored check and its state, as JSON.
type rawCheck struct{ def, st []byte }

// decodeBatch is how many rows ListChecks hands a decoder at once.
const decodeBatch = 512

// decodeRows decodes batches of rows on up to GOMAXPROCS goroutines
// (at most 4), each batch into its place in the result.
type decodeRows struct {
	out  []model.CheckState // the result, its length the most rows expected
	n    int                // rows added
	work chan *decodeJob
	wg   sync.WaitGroup
	jobs []*decodeJob // in the order of add
}

type decodeJob struct {
	raw []rawCheck
	dst []model.CheckState // where the batch goes: len(raw) long
	err error              // the first error of the batch, in row order
}

func newDecodeRows(out []model.CheckState) *decodeRows {
	n := min(runtime.GOMAXPROCS(0), 4)
	work := make(chan *decodeJob, 2*n)
	d := &decodeRows{out: out, work: work}
	for range n {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for j := range work { // not d.work, which stop clears
				j.decode()
			}
		}()
	}
	return d
}

func (j *decodeJob) decode() {
	for i, r := range j.raw {
		c, st, err := decodeCheck(r.def, r.st)
		if err != nil {
			j.err = err
			break
		}
		j.dst[i] = model.CheckState{Check: c, State: st}
	}
	j.raw = nil
}

// add queues a batch, which the caller no longer touches.
func (d *decodeRows) add(raw []rawCheck) {
	j := &decodeJob{raw: raw}
	if d.n+len(raw) <= len(d.out) {
		j.dst = d.out[d.n : d.n+len(raw) : d.n+len(raw)]
	} else { // more rows than counted: not in one snapshot, but be safe
		j.dst = make([]model.CheckState, len(raw))
	}
	d.n += len(raw)
	d.jobs = append(d.jobs, j)
	d.work <- j
}

// stop ends the decoders once they have decoded every batch added; it
// may be called more than once.
func (d *decodeRows) stop() {
	if d.work != nil {
		close(d.work)
		d.work = nil
		d.wg.Wait()
	}
}

// wait returns every decoded check, in row order, or the first error.
func (d *decodeRows) wait() ([]model.CheckState, error) {
	d.stop()
	for _, j := range d.jobs {
		if j.err != nil {
			return nil, j.err
		}
	}
	if d.n == 0 {
		return nil, nil // as append left it, before
	}
	if d.n <= len(d.out) {
		return d.out[:d.n:d.n], nil
	}
	out := make([]model.CheckState, 0, d.n)
	for _, j := range d.jobs {
		out = append(out, j.dst...)
	}
	return out, nil
}

// Pings implements store.Store.
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
	// The writer prunes old pings in steps (see writer.prune): rows past
	// the retention may linger briefly and are hidden here.
	// Pings not compacted yet are still in ping_log; one read transaction
	// sees either side of a compaction, never both or neither.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(n) FROM (SELECT max(n) AS n FROM pings WHERE check_id = ?1
		UNION ALL SELECT max(n) FROM ping_log WHERE check_id = ?1)`, id.Secret()).Scan(&newest); err != nil {
		return nil, err
	}
	oldest := newest.Int64 - int64(s.opts.PingRetention)
	const cols = `n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated`
	rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM (
		SELECT `+cols+` FROM pings WHERE check_id = ?1 AND n < ?2 AND n > ?3
		UNION ALL
		SELECT `+cols+` FROM ping_log WHERE check_id = ?1 AND n > 0 AND n < ?2 AND n > ?3
	) ORDER BY n DESC LIMIT ?4`, id.Secret(), before, oldest, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Ping
	for rows.Next() {
		p := model.Ping{CheckID: id}
		var kind, r string
		var t, d int64
		if err := rows.Scan(&p.N, &kind, &p.ExitStatus, &r, &t, &d, &p.Method, &p.Scheme, &p.RemoteAddr, &p.UserAgent, &p.Body, &p.BodyTruncated); err != nil {
			return nil, err
		}
		p.Kind, p.Time, p.Duration = model.PingKind(kind), untm(t), time.Duration(d)
		if p.RID, err = unrid(r); err != nil {
			return nil, fmt.Errorf("ping %d of %s: rid: %w", p.N, id, err)
		}
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
	var rows *sql.Rows
	var err error
	if id.IsZero() {
		rows, err = s.rdb.QueryContext(ctx, `SELECT id, check_id, from_st, to_st, time, reason FROM flips
			WHERE time < ? ORDER BY time DESC, id DESC LIMIT ?`, before, limit)
	} else {
		if err := s.exists(ctx, id); err != nil {
			return nil, err
		}
		rows, err = s.rdb.QueryContext(ctx, `SELECT id, check_id, from_st, to_st, time, reason FROM flips
			WHERE check_id = ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?`, id.Secret(), before, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Flip
	for rows.Next() {
		var f model.Flip
		var fid, cid, from, to string
		var t int64
		if err := rows.Scan(&fid, &cid, &from, &to, &t, &f.Reason); err != nil {
			return nil, err
		}
		if f.ID, err = uuid.Parse(fid); err != nil {
			return nil, err
		}
		if f.CheckID, err = model.ParseCheckID(cid); err != nil {
			return nil, err
		}
		f.From, f.To, f.Time = model.Status(from), model.Status(to), untm(t)
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
	rows, err := s.rdb.QueryContext(ctx, `SELECT day, up, total FROM uptime WHERE check_id = ? AND day >= ? AND day < ? ORDER BY day`,
		id.Secret(), from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.UptimeDay
	for rows.Next() {
		d := model.UptimeDay{CheckID: id}
		var day, up, total int64
		if err := rows.Scan(&day, &up, &total); err != nil {
			return nil, err
		}
		d.Day, d.Up, d.Total = time.Unix(day, 0).UTC(), time.Duration(up), time.Duration(total)
		out = append(out, d)
	}
	return out, rows.Err()
}

// UptimeAll implements store.Store: one scan where Uptime needs a query per
// check, and no slice of all the rows (with 10,000 checks they are
// 900,000). The scan is split by ranges of check ids over the read
// connections (at most GOMAXPROCS), which run in parallel; fn must be
// quick, as it holds the others up.
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error {
	if err := s.reading(ctx); err != nil {
		return err
	}
	// Check ids are lower-case UUID strings: split on their first hex digit.
	parts := min(s.opts.ReadConns, runtime.GOMAXPROCS(0), 16)
	if parts < 1 {
		parts = 1
	}
	const hex = "0123456789abcdef"
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // serialises fn
		errs = make([]error, parts)
	)
	for i := range parts {
		lo, hi := string(hex[i*16/parts]), "g" // "g" sorts after every hex digit
		if i+1 < parts {
			hi = string(hex[(i+1)*16/parts])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.uptimeRange(ctx, lo, hi, from, to, func(d model.UptimeDay) {
				mu.Lock()
				fn(d)
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("sqlite: uptime of every check: %w", err)
		}
	}
	return nil
}

// uptimeRange reads the rollups of the checks whose id is in [lo, hi).
func (s *Store) uptimeRange(ctx context.Context, lo, hi string, from, to time.Time, fn func(model.UptimeDay)) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_id, day, up, total FROM uptime WHERE check_id >= ? AND check_id < ? AND day >= ? AND day < ?`,
		lo, hi, from.Unix(), to.Unix())
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		lastID string
		id     model.CheckID
	)
	for rows.Next() {
		var (
			cid            sql.RawBytes // no copy per row: valid until Next
			day, up, total int64
		)
		if err := rows.Scan(&cid, &day, &up, &total); err != nil {
			return err
		}
		if string(cid) != lastID { // rows come in key order: parse each id once
			if id, err = model.ParseCheckID(string(cid)); err != nil {
				return fmt.Errorf("uptime rollups: %w", err)
			}
			lastID = string(cid)
		}
		fn(model.UptimeDay{CheckID: id, Day: time.Unix(day, 0).UTC(), Up: time.Duration(up), Total: time.Duration(total)})
	}
	return rows.Err()
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
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, string(q.State))
	}
	if !q.DueBefore.IsZero() {
		where, args = append(where, "next_attempt < ?"), append(args, q.DueBefore.UnixNano())
	}
	if !q.CheckID.IsZero() {
		where, args = append(where, "check_id = ?"), append(args, q.CheckID.Secret())
	}
	query := `SELECT id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered FROM outbox`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY rowid LIMIT ?"
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Notification
	for rows.Next() {
		var n model.Notification
		var id, fid, cid, state string
		var payload []byte
		var next, created, delivered int64
		if err := rows.Scan(&id, &fid, &cid, &n.Channel, &payload, &state, &n.Attempts, &next, &n.LastError, &created, &delivered); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			s  string
			id *uuid.UUID
		}{{id, &n.ID}, {fid, &n.FlipID}} {
			if *p.id, err = uuid.Parse(p.s); err != nil {
				return nil, err
			}
		}
		if n.CheckID, err = model.ParseCheckID(cid); err != nil {
			return nil, err
		}
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
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_id, flip_id, dropped, held FROM policy_state ORDER BY check_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PolicyState
	for rows.Next() {
		var c, f string
		var ps store.PolicyState
		if err := rows.Scan(&c, &f, &ps.Dropped, &ps.Held); err != nil {
			return nil, err
		}
		if ps.CheckID, err = model.ParseCheckID(c); err != nil {
			return nil, fmt.Errorf("policy state: check id: %w", err)
		}
		if ps.FlipID, err = uuid.Parse(f); err != nil {
			return nil, fmt.Errorf("policy state: flip id: %w", err)
		}
		out = append(out, ps)
	}
	return out, rows.Err()
}
