package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// PingRetention is how many pings per check are kept (older ones are
	// deleted in the transaction that adds a new one). Default
	// store.DefaultPingRetention (100).
	PingRetention int
	// MaxBatch caps how many writes share one transaction. Default 1000.
	MaxBatch int
	// MaxWait is how long the writer lingers after the first write of a
	// batch, executing the writes that arrive meanwhile, before it
	// commits: under load it makes batches larger (fewer commits per
	// write). Default 1ms; negative: commit at once with what is queued.
	MaxWait time.Duration
	// Synchronous says how a write is made durable before Apply returns.
	// Default "FULL": SQLite fsyncs the WAL inside COMMIT, once per group
	// commit. "PIPELINED": SQLite commits without fsync
	// (synchronous=NORMAL) and a syncer goroutine fsyncs the WAL file,
	// then answers every write committed before that fsync began; the
	// writer meanwhile executes the next writes (helps when fsync is slow
	// relative to the SQL work; on the 2-core benchmark machine it
	// measured the same as FULL, see BENCHMARKS.md). "OFF" and "NORMAL"
	// answer without fsync: a process crash loses nothing, a power loss
	// may (benchmark baselines only).
	Synchronous string
	// ReadConns is the size of the read connection pool. Default 4.
	ReadConns int
	// CheckpointInterval is how often a background goroutine copies the
	// WAL into the database (a PASSIVE checkpoint, which never blocks the
	// writer), instead of SQLite doing it inside a commit on the writer's
	// critical path. Default 1s.
	CheckpointInterval time.Duration
	// CompactInterval is how often the ping log is folded into the pings
	// and states tables (sooner once it holds compactRows rows). Default
	// 1s.
	CompactInterval time.Duration
}

// compactRows is the log size that triggers a compaction before
// CompactInterval.
const compactRows = 32768

// truncateFrames is the WAL size (in pages) past which the background
// checkpoint also truncates the WAL file (briefly blocking the writer).
const truncateFrames = 16384

// Store is a store.Store over one SQLite file. It is safe for concurrent
// use. Open starts its writer goroutine; Close stops it.
type Store struct {
	opts Options
	path string
	wdb  *sql.DB // one connection, owned by the writer goroutine
	rdb  *sql.DB

	// synced receives committed batches in PIPELINED mode; the syncer
	// goroutine fsyncs the WAL and then answers them. The syncer puts a
	// token in idle whenever it waits for a batch; the writer takes it
	// before committing one for it.
	synced chan syncJob
	idle   chan struct{}
	// fsyncHook, set by tests before any write, runs before each fsync.
	fsyncHook func()

	reqs chan *request
	quit chan struct{}
	done chan struct{} // writer exited
	ckpt chan struct{} // checkpointer exited

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool

	logRows     atomic.Int64 // rows in ping_log, as of the last batch
	compactNow  chan struct{}
	compactDone chan struct{}

	batches, writes, commitNanos, syncNanos atomic.Int64
	fsyncs, fsyncNanos                      atomic.Int64
}

// Stats are counters of the writer, for /metrics and benchmarks.
type Stats struct {
	// Batches is the number of transactions committed (group commits).
	Batches int64
	// Writes is the number of writes (Apply and the other write methods)
	// they carried; Writes / Batches is the mean group size.
	Writes int64
	// CommitTime is the total time spent running and committing batches.
	CommitTime time.Duration
	// SyncTime is the part of CommitTime spent in COMMIT itself (writing
	// the WAL, and fsync unless PIPELINED).
	SyncTime time.Duration
	// Fsyncs and FsyncTime count the PIPELINED mode's WAL fsyncs.
	Fsyncs    int64
	FsyncTime time.Duration
}

// Stats returns the writer's counters. Safe for concurrent use.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Writes: s.writes.Load(), CommitTime: time.Duration(s.commitNanos.Load()),
		SyncTime: time.Duration(s.syncNanos.Load()), Fsyncs: s.fsyncs.Load(), FsyncTime: time.Duration(s.fsyncNanos.Load())}
}

var _ store.Store = (*Store)(nil)

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
}

// pendingApply is an Update with its state already JSON-encoded (by the
// caller's goroutine, off the writer's path).
type pendingApply struct {
	u  store.Update
	sj []byte
}

func dsn(path string, opts Options, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	sync := opts.Synchronous
	if sync == "PIPELINED" {
		sync = "NORMAL" // the store fsyncs the WAL itself, see Options.Synchronous
	}
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "temp_store(memory)")
	q.Add("_pragma", "cache_size(-16000)")
	if write {
		q.Add("_txlock", "immediate")
		q.Add("_pragma", "wal_autocheckpoint(0)") // see Options.CheckpointInterval
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(path string, opts Options) (*Store, error) {
	if opts.PingRetention <= 0 {
		opts.PingRetention = store.DefaultPingRetention
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	opts.Synchronous = strings.ToUpper(opts.Synchronous)
	switch opts.Synchronous {
	case "PIPELINED", "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("sqlite: synchronous %q: want PIPELINED, FULL, EXTRA, NORMAL or OFF", opts.Synchronous)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = time.Millisecond
	}
	if opts.MaxWait < 0 {
		opts.MaxWait = 0
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.CompactInterval <= 0 {
		opts.CompactInterval = time.Second
	}
	wdb, err := sql.Open("sqlite", dsn(path, opts, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := migrate(wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", dsn(path, opts, false))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.ReadConns)
	rdb.SetMaxIdleConns(opts.ReadConns)
	s := &Store{
		opts: opts, path: path, wdb: wdb, rdb: rdb,
		reqs: make(chan *request, 4*opts.MaxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),
		ckpt: make(chan struct{}),

		compactNow:  make(chan struct{}, 1),
		compactDone: make(chan struct{}),
	}
	w, err := newWriter(wdb, opts)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	var syncerDone chan struct{}
	if opts.Synchronous == "PIPELINED" {
		s.synced = make(chan syncJob, syncQueue)
		s.idle = make(chan struct{}, 1)
		syncerDone = make(chan struct{})
		go s.syncer(syncerDone)
	}
	s.logRows.Store(int64(w.logRows))
	go s.loop(w, syncerDone)
	go s.checkpointer()
	go s.compacter()
	return s, nil
}

func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this binary's %d", v, schemaVersion)
	}
	// The schema is run on every open, not only on a new file: it is all
	// CREATE ... IF NOT EXISTS, so a file of the same version gains the
	// tables added since it was made (additive changes need no bump).
	if _, err := db.Exec(schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if v == schemaVersion {
		return nil
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	return nil
}

// Close commits the writes already queued, stops the writer goroutine,
// waits for it and closes the database. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	// Fold the log in, so the file is tidy (not needed for correctness).
	_ = s.compactAll(context.Background())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	<-s.done
	<-s.ckpt
	<-s.compactDone
	_, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(err, s.wdb.Close(), s.rdb.Close())
}

// checkpointer runs PASSIVE checkpoints every CheckpointInterval, and a
// TRUNCATE one when the WAL grew past truncateFrames pages.
func (s *Store) checkpointer() {
	defer close(s.ckpt)
	t := time.NewTicker(s.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		var busy, frames, done int
		if err := s.rdb.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
			continue
		}
		if frames > truncateFrames && done == frames {
			_, _ = s.rdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
	}
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
	case s.reqs <- r:
	case <-ctx.Done():
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
// request before committing.
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
		// Wait for the first request of a batch.
		var first *request
		if !quitting {
			select {
			case first = <-s.reqs:
			case <-s.quit:
				quitting = true
			}
		}
		if first == nil {
			select {
			case first = <-s.reqs:
			default:
				return // Close: everything queued before it was answered
			}
		}
		batch, errs = append(batch[:0], first), errs[:0]
		start := time.Now()
		if err := w.begin(); err != nil {
			s.finish(w, batch, nil, err, false, start)
			continue
		}
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
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				default:
					break drain
				}
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
			var idleC <-chan struct{}
			if lingerC == nil {
				idleC = s.idle // PIPELINED: commit as soon as the syncer can take it
			}
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
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

// Time and id encodings.

func tm(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func untm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func rid(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func unrid(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	return uuid.Parse(s)
}

func notFound(what string, id any) error {
	return fmt.Errorf("%s %s: %w", what, id, store.ErrNotFound)
}

// CreateCheck implements store.Store.
func (s *Store) CreateCheck(ctx context.Context, c model.Check, st model.State) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `INSERT INTO checks(id, def) VALUES(?, ?) ON CONFLICT(id) DO NOTHING`, c.ID.Secret(), def)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("check %s: %w", c.ID, store.ErrExists)
		}
		if _, err = w.tx.ExecContext(ctx, `INSERT INTO states(id, state) VALUES(?, ?)`, c.ID.Secret(), sj); err != nil {
			return err
		}
		w.exists[c.ID] = true
		return nil
	})
}

// UpdateCheck implements store.Store.
func (s *Store) UpdateCheck(ctx context.Context, c model.Check) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `UPDATE checks SET def = ? WHERE id = ? AND `+live, def, c.ID.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("check", c.ID)
		}
		return nil
	})
}

// DeleteCheck implements store.Store.
func (s *Store) DeleteCheck(ctx context.Context, id model.CheckID) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `DELETE FROM checks WHERE id = ?`, id.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("check", id)
		}
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM ping_log WHERE check_id = ?`, id.Secret()); err != nil {
			return err
		}
		delete(w.exists, id)
		delete(w.pruned, id)
		return nil
	})
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, u store.Update) error {
	sj, err := json.Marshal(u.State)
	if err != nil {
		return err
	}
	return s.submit(ctx, &request{apply: &pendingApply{u: u, sj: sj}, done: make(chan error, 1)})
}

// UpdateNotification implements store.Store.
func (s *Store) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, last_error = ?, delivered = ?
			WHERE id = ? AND state = ?`, string(n.State), n.Attempts, tm(n.NextAttempt), n.LastError, tm(n.Delivered), n.ID.String(), string(expect))
		if err != nil {
			return err
		}
		if c, _ := res.RowsAffected(); c == 1 {
			ok = true
			return nil
		}
		var one int
		if err := w.tx.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = ?`, n.ID.String()).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return notFound("notification", n.ID)
		} else if err != nil {
			return err
		}
		return nil
	})
	return ok, err
}

// EnqueueNotifications implements store.Store: the rows are written in one
// group commit.
func (s *Store) EnqueueNotifications(ctx context.Context, rows []model.Notification) error {
	if len(rows) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		for _, n := range rows {
			if _, err := w.stmt(w.insOutbox).ExecContext(ctx, n.ID.String(), n.FlipID.String(), n.CheckID.Secret(), n.Channel,
				[]byte(n.Payload), string(n.State), n.Attempts, tm(n.NextAttempt), n.LastError, tm(n.Created), tm(n.Delivered)); err != nil {
				return fmt.Errorf("insert notification: %w", err)
			}
		}
		return nil
	})
}

// ProbeWrite makes one small write durable the way a ping's is: through
// the writer's queue, in a group commit, fsync'd. The daemon's readiness
// calls it, so that a store that still reads but can no longer write (a
// full disk, a read-only file system, a broken writer) is not ready and a
// load balancer sends pings elsewhere. It rewrites the one row of the
// write_probe table.
func (s *Store) ProbeWrite(ctx context.Context) error {
	now := time.Now().UnixNano()
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.tx.ExecContext(ctx, `INSERT INTO write_probe(id, n, time) VALUES(1, 1, ?)
			ON CONFLICT(id) DO UPDATE SET n = n + 1, time = excluded.time`, now)
		return err
	})
}

// UpdatePolicyState implements store.Store.
func (s *Store) UpdatePolicyState(ctx context.Context, ps store.PolicyState) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		if !w.exists[ps.CheckID] {
			return notFound("check", ps.CheckID)
		}
		res, err := w.tx.ExecContext(ctx, `UPDATE policy_state SET dropped = ?, held = ? WHERE check_id = ? AND flip_id = ?`,
			ps.Dropped, ps.Held, ps.CheckID.Secret(), ps.FlipID.String())
		if err != nil {
			return fmt.Errorf("policy state: %w", err)
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
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

// secretName is the installation row of InstallationSecret.
const secretName = "check_id_secret"

// InstallationSecret implements store.Store. The first call writes the
// secret in a group commit (durable when it returns); two racing first
// calls agree, as the second insert is ignored and both read the row back.
func (s *Store) InstallationSecret(ctx context.Context) ([]byte, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	var secret []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM installation WHERE name = ?`, secretName).Scan(&secret)
	if err == nil && len(secret) == store.InstallationSecretLen {
		return secret, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read installation secret: %w", err)
	}
	if err == nil {
		return nil, fmt.Errorf("installation secret: %d bytes stored, want %d", len(secret), store.InstallationSecretLen)
	}
	fresh := make([]byte, store.InstallationSecretLen)
	rand.Read(fresh) // never fails (crypto/rand)
	err = s.write(ctx, func(ctx context.Context, w *writer) error {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO installation(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING`, secretName, fresh); err != nil {
			return err
		}
		return w.tx.QueryRowContext(ctx, `SELECT value FROM installation WHERE name = ?`, secretName).Scan(&secret)
	})
	if err != nil {
		return nil, fmt.Errorf("write installation secret: %w", err)
	}
	return secret, nil
}

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
	rows, err := tx.QueryContext(ctx, `SELECT id, def, state FROM checks JOIN states USING (id) WHERE `+live)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.CheckState
	for rows.Next() {
		var id string
		var def, st []byte
		if err := rows.Scan(&id, &def, &st); err != nil {
			return nil, err
		}
		if l, ok := logged[id]; ok {
			st = l
		}
		c, state, err := decodeCheck(def, st)
		if err != nil {
			return nil, err
		}
		out = append(out, model.CheckState{Check: c, State: state})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortByID(out)
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
