package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/vitals-go/vitals/internal/store"
)

// writer owns the single write connection (the write pool has exactly
// one); only the writer goroutine uses it. Statements are prepared on the
// pool, not on a *sql.Conn: database/sql re-prepares a Conn's statement in
// every transaction, but reuses a pool statement already prepared on the
// transaction's connection. tx is the batch's transaction while a batch
// runs.
type writer struct {
	db   *sql.DB
	opts Options
	tx   *sql.Tx
	txs  map[*sql.Stmt]*sql.Stmt // the batch transaction's copies

	updState, insPing, delPings, insFlip, insOutbox, addUptime *sql.Stmt
}

// stmt returns the batch transaction's copy of s, made once per batch.
func (w *writer) stmt(s *sql.Stmt) *sql.Stmt {
	if ts, ok := w.txs[s]; ok {
		return ts
	}
	ts := w.tx.Stmt(s)
	w.txs[s] = ts
	return ts
}

func newWriter(db *sql.DB, opts Options) (*writer, error) {
	ctx := context.Background()
	w := &writer{db: db, opts: opts, txs: make(map[*sql.Stmt]*sql.Stmt)}
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.updState, `UPDATE checks SET state = ? WHERE id = ?`},
		{&w.insPing, `INSERT INTO pings(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.delPings, `DELETE FROM pings WHERE check_id = ? AND n <= ?`},
		{&w.insFlip, `INSERT INTO flips(id, check_id, from_st, to_st, time, reason) VALUES(?, ?, ?, ?, ?, ?)`},
		{&w.insOutbox, `INSERT INTO outbox(id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.addUptime, `INSERT INTO uptime(check_id, day, up, total) VALUES(?, ?, ?, ?)
			ON CONFLICT(check_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`},
	} {
		if *p.stmt, err = db.PrepareContext(ctx, p.sql); err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
	}
	return w, nil
}

func (w *writer) close() {
	for _, s := range []*sql.Stmt{w.updState, w.insPing, w.delPings, w.insFlip, w.insOutbox, w.addUptime} {
		if s != nil {
			s.Close()
		}
	}
}

// clean reports whether err is one a request returns having written
// nothing, so the batch's transaction can go on without it.
func clean(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists)
}

// commit runs the batch in one transaction and answers every request. If a
// request fails with an error that may have left partial writes, the
// transaction is rolled back and each request is retried alone, so that
// one bad request never fails the others.
func (w *writer) commit(batch []*request) {
	errs, err := w.run(batch)
	if err != nil {
		for i, r := range batch {
			e, terr := w.run(batch[i : i+1])
			if terr != nil {
				e = []error{terr}
			}
			r.done <- e[0]
		}
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// run executes batch in one transaction. It returns each request's clean
// error, or a transaction-wide error (rolled back).
func (w *writer) run(batch []*request) ([]error, error) {
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	w.tx = tx
	defer func() {
		w.tx = nil
		for k, ts := range w.txs {
			ts.Close()
			delete(w.txs, k)
		}
	}()
	errs := make([]error, len(batch))
	for i, r := range batch {
		err := r.fn(ctx, w)
		if err != nil && !clean(err) {
			_ = tx.Rollback()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		errs[i] = err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	return errs, nil
}

// apply writes one store.Update; sj is its state, JSON-encoded.
func (w *writer) apply(ctx context.Context, u store.Update, sj []byte) error {
	id := u.CheckID.String()
	res, err := w.stmt(w.updState).ExecContext(ctx, sj, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("check", u.CheckID)
	}
	if p := u.Ping; p != nil {
		body := p.Body
		if body == nil {
			body = []byte{}
		}
		if _, err := w.stmt(w.insPing).ExecContext(ctx, id, p.N, string(p.Kind), p.ExitStatus, rid(p.RID),
			tm(p.Time), int64(p.Duration), p.Method, p.Scheme, p.RemoteAddr, p.UserAgent, body, p.BodyTruncated); err != nil {
			return fmt.Errorf("insert ping: %w", err)
		}
		if keep := int64(w.opts.PingRetention); p.N > keep {
			if _, err := w.stmt(w.delPings).ExecContext(ctx, id, p.N-keep); err != nil {
				return fmt.Errorf("ping retention: %w", err)
			}
		}
	}
	for _, f := range u.Flips {
		if _, err := w.stmt(w.insFlip).ExecContext(ctx, f.ID.String(), id, string(f.From), string(f.To), tm(f.Time), f.Reason); err != nil {
			return fmt.Errorf("insert flip: %w", err)
		}
	}
	for _, n := range u.Notifications {
		if _, err := w.stmt(w.insOutbox).ExecContext(ctx, n.ID.String(), n.FlipID.String(), id, n.Channel, []byte(n.Payload),
			string(n.State), n.Attempts, tm(n.NextAttempt), n.LastError, tm(n.Created), tm(n.Delivered)); err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
	}
	for _, d := range u.Uptime {
		if _, err := w.stmt(w.addUptime).ExecContext(ctx, id, d.Day.Unix(), int64(d.Up), int64(d.Total)); err != nil {
			return fmt.Errorf("uptime: %w", err)
		}
	}
	return nil
}

func sortByID(out []store.CheckState) {
	slices.SortFunc(out, func(a, b store.CheckState) int { return bytes.Compare(a.Check.ID[:], b.Check.ID[:]) })
}
