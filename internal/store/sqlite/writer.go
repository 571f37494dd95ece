package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
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

	delPings, insFlip, insOutbox, addUptime, setPolicy *sql.Stmt
	// The compactor's single-row statements (compact.go).
	insPing, setState *sql.Stmt
	// Multi-row log appends by row count (powers of two).
	insLog map[int]*sql.Stmt

	// exists is the set of live (stored, not retired) checks, so that an Apply to a missing
	// check is refused without a query. Maintained by the writer alone;
	// loaded at start. The compactor keeps the log rows of a check not in
	// it only if the check is still in the checks table (retired).
	exists map[model.CheckID]bool
	// logRows counts rows appended to ping_log since the last compaction.
	logRows int
	// dropping counts the log rows the compaction in progress dropped
	// (their check id did not parse); dropped adds them up once it has
	// committed (Stats.LogRowsDropped).
	dropping int
	dropped  int64

	// pruned[check] is the highest ping N deleted (or known absent) by
	// retention; pruning runs once the check is pruneSlack pings past its
	// retention, so its cost is shared by many pings.
	pruned map[model.CheckID]int64

	// urgentWaiting reports whether a write waits in the urgent lane;
	// urgent, whether the batch in progress holds one: a compaction then
	// ends early (compactChunk).
	urgentWaiting func() bool
	urgent        bool

	// commitNanos is the time spent in COMMIT (WAL write and fsync),
	// read by the writer goroutine only (published through Store.Stats).
	commitNanos int64
}

// maxLogRows is the largest multi-row append (14 parameters a row).
const maxLogRows = 64

func newWriter(db *sql.DB, opts Options) (*writer, error) {
	ctx := context.Background()
	w := &writer{db: db, opts: opts, txs: make(map[*sql.Stmt]*sql.Stmt),
		insLog: make(map[int]*sql.Stmt), pruned: make(map[model.CheckID]int64), exists: make(map[model.CheckID]bool)}
	rows, err := db.QueryContext(ctx, `SELECT id FROM checks WHERE `+live)
	if err != nil {
		return nil, fmt.Errorf("load check ids: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		if id, err := model.ParseCheckID(s); err == nil {
			w.exists[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM ping_log`).Scan(&w.logRows); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.delPings, `DELETE FROM pings WHERE check_id = ? AND n <= ?`},
		{&w.insPing, `INSERT OR IGNORE INTO pings(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.setState, `UPDATE states SET state = ? WHERE id = ?`},
		{&w.insFlip, `INSERT INTO flips(id, check_id, from_st, to_st, time, reason) VALUES(?, ?, ?, ?, ?, ?)`},
		{&w.insOutbox, `INSERT INTO outbox(id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.addUptime, `INSERT INTO uptime(check_id, day, up, total) VALUES(?, ?, ?, ?)
			ON CONFLICT(check_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`},
		{&w.setPolicy, `INSERT INTO policy_state(check_id, flip_id, dropped, held) VALUES(?, ?, ?, ?)
			ON CONFLICT(check_id) DO UPDATE SET flip_id = excluded.flip_id, dropped = excluded.dropped, held = excluded.held`},
	} {
		if *p.stmt, err = db.PrepareContext(ctx, p.sql); err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
	}
	if err := w.prepareMulti(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() {
	for _, s := range []*sql.Stmt{w.delPings, w.insFlip, w.insOutbox, w.addUptime, w.setPolicy, w.insPing, w.setState} {
		if s != nil {
			s.Close()
		}
	}
	for _, s := range w.insLog {
		s.Close()
	}
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

// The multi-row log append, prepared for every power-of-two row count up
// to maxLogRows when the writer starts: it cannot be prepared during a
// batch, whose transaction holds the pool's only connection.
const (
	insLogHead = `INSERT INTO ping_log(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated, state) VALUES `
	insLogRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func multiSQL(n int, head, row string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

func (w *writer) prepareMulti(ctx context.Context) error {
	for n := 1; n <= maxLogRows; n *= 2 {
		s, err := w.db.PrepareContext(ctx, multiSQL(n, insLogHead, insLogRow))
		if err != nil {
			return fmt.Errorf("prepare %d-row statement: %w", n, err)
		}
		w.insLog[n] = s
	}
	return nil
}

// chunks splits n into powers of two no larger than limit, largest first,
// so that a handful of prepared statements serve every batch size.
func chunks(n, limit int) []int {
	var out []int
	for size := limit; n > 0; size /= 2 {
		for n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// clean reports whether err is one a request returns having written
// nothing, so the batch's transaction can go on without it.
func clean(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists)
}

// retryAlone runs each request in its own transaction, after a batch
// failed with an error that may have left partial writes (and was rolled
// back), so that one bad request never fails the others.
func (w *writer) retryAlone(batch []*request) []error {
	errs := make([]error, len(batch))
	for i := range batch {
		e, err := w.run(batch[i : i+1])
		if err != nil {
			e = []error{err}
		}
		errs[i] = e[0]
	}
	return errs
}

// run executes batch in one transaction and commits it. It returns each
// request's clean error, or a transaction-wide error (rolled back).
func (w *writer) run(batch []*request) ([]error, error) {
	if err := w.begin(); err != nil {
		return nil, err
	}
	errs := make([]error, len(batch))
	if err := w.exec(batch, errs); err != nil {
		w.rollback()
		return nil, err
	}
	if err := w.commitTx(); err != nil {
		return nil, err
	}
	return errs, nil
}

// begin opens the batch transaction.
func (w *writer) begin() error {
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	w.tx, w.urgent = tx, false
	return nil
}

func (w *writer) endTx() {
	w.tx = nil
	for k, ts := range w.txs {
		ts.Close()
		delete(w.txs, k)
	}
}

func (w *writer) rollback() {
	_ = w.tx.Rollback()
	w.endTx()
}

// commitTx commits the batch transaction (in PIPELINED mode without
// fsync: the syncer does it).
func (w *writer) commitTx() error {
	start := time.Now()
	err := w.tx.Commit()
	w.commitNanos += int64(time.Since(start))
	w.endTx()
	if err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// exec runs requests in the open transaction, in order; consecutive Apply
// requests are written together. errs receives each request's clean
// error; a returned error means the transaction must be rolled back.
func (w *writer) exec(batch []*request, errs []error) error {
	ctx := context.Background()
	for i := 0; i < len(batch); {
		if batch[i].apply == nil {
			err := batch[i].fn(ctx, w)
			if err != nil && !clean(err) {
				return fmt.Errorf("sqlite: %w", err)
			}
			errs[i] = err
			i++
			continue
		}
		j := i
		for j < len(batch) && batch[j].apply != nil {
			j++
		}
		if err := w.applyRun(ctx, batch[i:j], errs[i:j]); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		i = j
	}
	return nil
}

// applyRun writes consecutive Apply requests: each becomes one row of
// ping_log (its ping, if any, and the state after it), appended with one
// multi-row INSERT per chunk; then the rarer flips, outbox rows and uptime
// increments row by row. A request for a missing check gets ErrNotFound in
// errs and writes nothing.
func (w *writer) applyRun(ctx context.Context, reqs []*request, errs []error) error {
	rows := reqs[:0:0]
	for i, r := range reqs {
		if !w.exists[r.apply.u.CheckID] {
			errs[i] = notFound("check", r.apply.u.CheckID)
			continue
		}
		rows = append(rows, r)
	}
	off := 0
	for _, n := range chunks(len(rows), maxLogRows) {
		args := make([]any, 0, 14*n)
		for _, r := range rows[off : off+n] {
			u := r.apply.u
			if p := u.Ping; p != nil {
				body := p.Body
				if body == nil {
					body = []byte{}
				}
				args = append(args, u.CheckID.Secret(), p.N, string(p.Kind), p.ExitStatus, rid(p.RID),
					tm(p.Time), int64(p.Duration), p.Method, p.Scheme, p.RemoteAddr, p.UserAgent, body, p.BodyTruncated, r.apply.sj)
			} else {
				args = append(args, u.CheckID.Secret(), 0, "", -1, "", 0, 0, "", "", "", "", []byte{}, false, r.apply.sj)
			}
		}
		if _, err := w.stmt(w.insLog[n]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("append to ping_log: %w", err)
		}
		off += n
	}
	w.logRows += len(rows)
	for _, r := range rows {
		if err := w.applyRest(ctx, r.apply.u); err != nil {
			return err
		}
	}
	return nil
}

// prune deletes the check's pings older than the retention, once there
// are pruneSlack of them: one DELETE per pruneSlack pings instead of one per
// ping. Readers hide the rows in between (Store.Pings).
func (w *writer) prune(ctx context.Context, id model.CheckID, n int64) error {
	keep := int64(w.opts.PingRetention)
	slack := max(keep/8, 1)
	upTo := n - keep
	if upTo < w.pruned[id]+slack {
		return nil
	}
	if _, err := w.stmt(w.delPings).ExecContext(ctx, id.Secret(), upTo); err != nil {
		return fmt.Errorf("ping retention: %w", err)
	}
	w.pruned[id] = upTo
	return nil
}

// applyRest writes an Update's flips, outbox rows, uptime increments and
// policy state.
func (w *writer) applyRest(ctx context.Context, u store.Update) error {
	id := u.CheckID.Secret()
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
	if p := u.Policy; p != nil {
		if _, err := w.stmt(w.setPolicy).ExecContext(ctx, id, p.FlipID.String(), p.Dropped, p.Held); err != nil {
			return fmt.Errorf("policy state: %w", err)
		}
	}
	return nil
}

func sortByID(out []model.CheckState) {
	slices.SortFunc(out, func(a, b model.CheckState) int { return bytes.Compare(a.Check.ID[:], b.Check.ID[:]) })
}

// request is one write: fn runs inside the batch transaction, in its own
// savepoint; its error is sent on done (capacity 1).
type request struct {
	fn   func(ctx context.Context, w *writer) error
	done chan error
	// apply, when set instead of fn, is a store.Update: consecutive ones
	// in a batch are written with multi-row statements (see applyRun).
	apply *pendingApply
	// committed, when set, runs on the writer goroutine once fn's
	// transaction has committed without error: for changes to the
	// writer's maps that must not outlive a rolled-back write.
	committed func(w *writer)
	// counted: an Apply sent to Store.reqs and counted in Store.pending;
	// urgent: one sent to Store.urgent (lane.go).
	counted, urgent bool
}

// pendingApply is an Update with its state already JSON-encoded (by the
// caller's goroutine, off the writer's path).
type pendingApply struct {
	u  store.Update
	sj []byte
}

// write hands fn to the writer goroutine and waits until its batch is
// committed (or ctx ends: the write may then still commit).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, w *writer) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.submit(ctx, &request{fn: fn, done: make(chan error, 1)})
}

func (s *Store) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.queue(r) <- r:
	case <-ctx.Done():
		if r.counted {
			s.pending.Leave(r.apply.u.CheckID)
		}
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the commit (the write may still commit): %w", ctx.Err())
	}
}

// loop is the writer goroutine. It opens a transaction for the first
// queued request and executes every request queued behind it; then it
// commits when it may:
//   - FULL, OFF, NORMAL: at once (COMMIT includes the fsync in FULL);
//   - PIPELINED: when the syncer is idle. While the syncer is fsyncing the
//     previous batch, the writer keeps executing newly queued requests in
//     the open transaction, so SQL work overlaps the fsync and a batch
//     grows to match the disk's latency.
//
// MaxBatch caps a batch; MaxWait makes the writer linger after the first
// request before committing. Whenever it takes a request it takes the
// urgent lane's first (lane.go).
func (s *Store) loop(w *writer, syncerDone chan struct{}) {
	defer close(s.done)
	defer w.close()
	if s.synced != nil {
		defer func() {
			close(s.synced)
			<-syncerDone
		}()
	}
	var linger *time.Timer
	if s.opts.MaxWait > 0 {
		linger = time.NewTimer(time.Hour)
		linger.Stop()
		defer linger.Stop()
	}
	batch := make([]*request, 0, s.opts.MaxBatch)
	var errs []error
	quitting := false
	for {
		// Between two batches: reset the WAL if the checkpointer asks,
		// unless a flip waits (checkpoint.go).
		select {
		case <-s.truncate:
			if len(s.urgent) == 0 {
				s.truncateWAL(w)
			} else {
				s.requestTruncate()
			}
		default:
		}
		// Wait for the first request of a batch.
		first := s.next()
		if first == nil && !quitting {
			select {
			case first = <-s.urgent:
			case r := <-s.reqs:
				first = s.took(r)
			case <-s.truncate:
				s.truncateWAL(w)
				continue
			case <-s.quit:
				quitting = true
			}
		}
		if first == nil {
			if first = s.next(); first == nil {
				return // Close: everything queued before it was answered
			}
		}
		batch, errs = append(batch[:0], first), errs[:0]
		start := time.Now()
		if err := w.begin(); err != nil {
			s.finish(w, batch, nil, err, false, start)
			continue
		}
		w.urgent = first.urgent
		var lingerC <-chan time.Time
		if linger != nil {
			linger.Reset(s.opts.MaxWait)
			lingerC = linger.C
		}
		executed, failed, token := 0, false, false
	collect:
		for {
		drain:
			for len(batch) < s.opts.MaxBatch {
				r := s.next()
				if r == nil {
					break drain
				}
				batch = append(batch, r)
				w.urgent = w.urgent || r.urgent
			}
			errs = append(errs, make([]error, len(batch)-executed)...)
			if err := w.exec(batch[executed:], errs[executed:]); err != nil {
				w.rollback()
				failed = true
				break
			}
			executed = len(batch)
			if len(batch) >= s.opts.MaxBatch || quitting || (lingerC == nil && s.synced == nil) ||
				(lingerC == nil && len(batch) >= pipelineBatch) {
				break
			}
			select { // arrived during exec: the urgent lane before the select's random pick
			case r := <-s.urgent:
				batch, w.urgent = append(batch, r), true
				continue
			default:
			}
			var idleC <-chan struct{}
			if lingerC == nil {
				idleC = s.idle // PIPELINED: commit as soon as the syncer can take it
			}
			select {
			case r := <-s.urgent:
				batch, w.urgent = append(batch, r), true
			case r := <-s.reqs:
				batch = append(batch, s.took(r))
			case <-lingerC:
				lingerC = nil
				if s.synced == nil {
					break collect
				}
			case <-idleC:
				token = true
				break collect
			case <-s.quit:
				quitting = true
				break collect
			}
		}
		if linger != nil {
			linger.Stop()
		}
		switch {
		case failed:
			s.finish(w, batch, w.retryAlone(batch), nil, token, start)
		default:
			if err := w.commitTx(); err != nil {
				s.finish(w, batch, nil, err, token, start)
			} else {
				s.finish(w, batch, errs, nil, token, start)
			}
		}
	}
}

// finish accounts for a batch and hands its answers on: to the syncer in
// PIPELINED mode (it fsyncs, then answers; token says the writer already
// holds the syncer's idle token), or straight to the waiters. With txErr,
// every request gets it.
func (s *Store) finish(w *writer, batch []*request, errs []error, txErr error, token bool, start time.Time) {
	if txErr != nil {
		errs = make([]error, len(batch))
		for i := range errs {
			errs[i] = txErr
		}
	}
	for i, r := range batch {
		if r.committed != nil && errs[i] == nil {
			r.committed(w)
		}
	}
	s.batches.Add(1)
	s.writes.Add(int64(len(batch)))
	s.commitNanos.Add(int64(time.Since(start)))
	s.logRows.Store(int64(w.logRows))
	s.dropped.Store(w.dropped)
	if w.logRows >= compactRows {
		select {
		case s.compactNow <- struct{}{}:
		default:
		}
	}
	s.syncNanos.Store(w.commitNanos)
	if s.synced != nil {
		_ = token // a batch committed without the token waits in the queue
		s.synced <- syncJob{reqs: slices.Clone(batch), errs: slices.Clone(errs)}
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// PIPELINED tuning: a batch is committed when the syncer is idle, or,
// while it is busy, once it holds pipelineBatch writes; up to syncQueue
// committed batches wait for the next fsync, which covers them all.
const (
	pipelineBatch = 64
	syncQueue     = 4
)

// syncJob is a committed batch waiting for the WAL fsync.
type syncJob struct {
	reqs []*request
	errs []error
}

// syncer fsyncs the WAL file for committed batches and then answers their
// requests: one fsync covers every batch committed before it started,
// while the writer goroutine goes on with the next batches. fsync applies
// to the file, not to a descriptor, so syncing our own descriptor of the
// -wal file flushes what SQLite wrote through its own.
func (s *Store) syncer(done chan struct{}) {
	defer close(done)
	var wal *os.File
	defer func() {
		if wal != nil {
			wal.Close()
		}
	}()
	ready := func() { // non-blocking: a stale token only means "maybe idle"
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	ready()
	var jobs []syncJob
	for job := range s.synced {
		jobs = append(jobs[:0], job)
	drain:
		for {
			select {
			case j, ok := <-s.synced:
				if !ok {
					break drain
				}
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		var err error
		if wal != nil && !sameFile(wal, s.path+"-wal") { // recreated: sync the new one
			wal.Close()
			wal = nil
		}
		if wal == nil {
			wal, err = os.OpenFile(s.path+"-wal", os.O_RDWR, 0)
		}
		if err == nil {
			if s.fsyncHook != nil {
				s.fsyncHook()
			}
			start := time.Now()
			err = wal.Sync()
			s.fsyncNanos.Add(int64(time.Since(start)))
			s.fsyncs.Add(1)
		}
		if err != nil {
			err = fmt.Errorf("sqlite: fsync %s-wal: %w", s.path, err)
		}
		for _, j := range jobs {
			for i, r := range j.reqs {
				e := j.errs[i]
				if e == nil {
					e = err
				}
				r.done <- e
			}
		}
		ready()
	}
}
