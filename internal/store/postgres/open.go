package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// PingRetention is how many pings per check are kept. Default
	// store.DefaultPingRetention (100).
	PingRetention int
	// MaxBatch caps how many Apply calls share one group commit. Default
	// 1000.
	MaxBatch int
	// Writers is how many group commits may be in flight at once (each on
	// its own connection): while one waits for its commit to be durable,
	// the next batch is written. Default 2.
	Writers int
	// MaxWait is how long a batch lingers after its first call for more
	// before it is sent. Default 0: it is sent with what is queued (the
	// queue fills while every writer is busy).
	MaxWait time.Duration
	// WriteTimeout bounds one group commit (and each other write): past
	// it the calls get an error (the write may still have committed).
	// Default 10s.
	WriteTimeout time.Duration
	// MaxConns is the size of the connection pool. Default Writers + 8.
	MaxConns int
	// ConnectTimeout bounds opening one connection (the DSN's
	// connect_timeout wins when it sets one). Default 5s.
	ConnectTimeout time.Duration
	// Logger receives what the store does on its own: Listen's lost
	// connections. Default slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use.
// Open starts its writer goroutines; Close stops them.
type Store struct {
	opts Options
	log  *slog.Logger
	pool *pgxpool.Pool

	reqs chan *request
	// urgent is the priority lane: Applies that carry a flip, taken
	// before reqs (lane.go); pending counts the Applies in reqs per check.
	urgent  chan *request
	pending store.Lane
	quit    chan struct{}
	done    chan struct{} // the collector and every executor exited

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool

	// pruned[check] is the highest ping N deleted by retention (see
	// prunes); guarded by prunedMu (executors run concurrently).
	prunedMu sync.Mutex
	pruned   map[model.CheckID]int64

	batches, writes, commitNanos atomic.Int64
}

// Stats are counters of the group-commit writer, for /metrics and
// benchmarks.
type Stats struct {
	// Batches is the number of group commits; Writes the calls they
	// carried (Writes / Batches is the mean group size).
	Batches, Writes int64
	// CommitTime is the total time spent writing and committing batches.
	CommitTime time.Duration
}

// Stats returns the writer's counters. Safe for concurrent use.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Writes: s.writes.Load(), CommitTime: time.Duration(s.commitNanos.Load())}
}

var _ store.Store = (*Store)(nil)

// ErrDSN is returned by Open for a DSN that does not parse. The DSN is
// not quoted: it may carry a password.
var ErrDSN = errors.New("postgres: the DSN does not parse (want postgres://user:password@host:port/database?sslmode=… or key=value pairs, as libpq); it is not shown, as it may hold a password")

// Open connects to the database of dsn (a pgx/libpq DSN), brings its schema
// to the newest version (migrate.go) and starts the writer. A database
// whose schema is newer than this binary's is refused with a
// *store.SchemaTooNewError, unchanged. No error quotes the DSN.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, dsn, opts, migrations)
}

func open(ctx context.Context, dsn string, opts Options, steps []store.Migration[pgx.Tx]) (*Store, error) {
	if opts.PingRetention <= 0 {
		opts.PingRetention = store.DefaultPingRetention
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	if opts.MaxWait < 0 {
		opts.MaxWait = 0
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = opts.Writers + 8
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, ErrDSN
	}
	password := cfg.ConnConfig.Password
	cfg.MaxConns = int32(opts.MaxConns)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", scrub(err, password))
	}
	if _, err := store.Migrate(ctx, driver{pool}, steps); err != nil {
		pool.Close()
		if tooNew := (*store.SchemaTooNewError)(nil); errors.As(err, &tooNew) {
			return nil, fmt.Errorf("postgres: %w", tooNew) // ours: nothing to scrub
		}
		return nil, fmt.Errorf("postgres: %w", scrub(err, password))
	}
	s := &Store{
		opts: opts, pool: pool, log: opts.Logger,
		reqs:   make(chan *request, 4*opts.MaxBatch),
		urgent: make(chan *request, opts.MaxBatch),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		pruned: make(map[model.CheckID]int64),
	}
	go s.collect()
	return s, nil
}

// scrubbed is an error whose text had the password taken out.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub takes password out of err's text, in case a layer below quoted
// it (pgx does not, as far as is known: this is a second line).
func scrub(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

// Close answers the writes already queued, stops the writer, waits for
// it and closes the pool. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	<-s.done
	s.pool.Close()
	return nil
}

// reading returns an error when the store is closed or ctx is done.
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

// uid is the encoding of a check id: pgx sends [16]byte as a uuid. (Never
// hand pgx a model.CheckID itself: it could pick its String, the unique
// key.)
func uid(id model.CheckID) [16]byte { return id }

func notFound(what string, id any) error {
	return fmt.Errorf("%s %s: %w", what, id, store.ErrNotFound)
}
