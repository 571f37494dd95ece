package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// busyTimeout is how long a connection waits for a lock another holds.
const busyTimeout = 10 * time.Second

func dsn(path string, opts Options, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
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

// Open opens (creating if needed) the database at path and brings its
// schema to the newest version (migrate.go). A file whose schema is newer
// than this binary's is refused with a *store.SchemaTooNewError, unchanged.
func Open(path string, opts Options) (*Store, error) { return open(path, opts, migrations) }

func open(path string, opts Options, steps []store.Migration[*sql.Tx]) (*Store, error) {
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
	if err := migrate(wdb, steps); err != nil {
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
		reqs:     make(chan *request, 4*opts.MaxBatch),
		urgent:   make(chan *request, opts.MaxBatch),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		ckpt:     make(chan struct{}),
		truncate: make(chan struct{}, 1),

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
	w.urgentWaiting = s.urgentWaiting
	go s.loop(w, syncerDone)
	go s.checkpointer()
	go s.compacter()
	return s, nil
}

// Close commits the writes already queued, stops the writer goroutine,
// waits for it and closes the database. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	// Fold the log in, so the file is tidy (not needed for correctness).
	_ = s.compactAll(context.Background(), compactChunk)
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
