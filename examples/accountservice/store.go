package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // pure Go SQLite: the binary stays static

	"github.com/vitals-go/vitals/health/checks"
)

// ErrNotFound is returned for an account that does not exist.
var ErrNotFound = errors.New("account not found")

// Account is one account of the service.
type Account struct {
	ID           int64     `json:"id"`
	Owner        string    `json:"owner"`
	BalanceCents int64     `json:"balance_cents"`
	CreatedAt    time.Time `json:"created_at"`
}

// Store keeps accounts in an embedded SQLite database. It can be taken
// offline (the pool is closed for real) and brought back, so that a
// demonstration can break the service's database and restore it.
type Store struct {
	path       string
	poolWindow time.Duration // of the pool-saturation check
	latency    atomic.Int64  // injected before every round trip, in ns (TEST-ONLY)

	mu   sync.RWMutex
	db   *sql.DB         // nil while offline
	pool *checks.SQLPool // of db
	held []*sql.Conn     // connections taken by the pool exhaustion fault
}

// maxConns is the size of the store's pool.
const maxConns = 4

// OpenStore opens (creating if needed) the database at path.
// poolWindow is the window of its pool-saturation check (see
// [checks.SQLPool]).
func OpenStore(ctx context.Context, path string, poolWindow time.Duration) (*Store, error) {
	s := &Store{path: path, poolWindow: poolWindow}
	if err := s.Online(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the current pool, for the health check; while offline it
// returns a closed pool, so the check fails the way a lost database does.
func (s *Store) DB() *sql.DB {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return closedDB
	}
	return s.db
}

var closedDB = func() *sql.DB {
	db, _ := sql.Open("sqlite", ":memory:")
	db.Close()
	return db
}()

// closedPool checks closedDB: a pool without a limit, never exhausted.
var closedPool = checks.NewSQLPool(closedDB, checks.SQLPoolOptions{})

// Pool is the pool-saturation check of the current pool.
func (s *Store) Pool() *checks.SQLPool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.pool == nil {
		return closedPool
	}
	return s.pool
}

// SetLatency makes every round trip to the database wait d first (0: none),
// the TEST-ONLY slow database fault.
func (s *Store) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Exhaust takes every connection of the pool and holds it until Release:
// the TEST-ONLY connection pool exhaustion fault, the way a leak of
// connections never returned looks. It gives up after 5 seconds.
func (s *Store) Exhaust() error {
	s.mu.RLock()
	db, n := s.db, len(s.held)
	s.mu.RUnlock()
	if db == nil {
		return errors.New("store offline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var conns []*sql.Conn
	for range maxConns - n {
		c, err := db.Conn(ctx)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("exhaust the pool: %w", err)
		}
		conns = append(conns, c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != db { // went offline meanwhile
		for _, c := range conns {
			c.Close()
		}
		return errors.New("store offline")
	}
	s.held = append(s.held, conns...)
	return nil
}

// Release returns the connections Exhaust holds.
func (s *Store) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
	return nil
}

func (s *Store) releaseLocked() {
	for _, c := range s.held {
		c.Close()
	}
	s.held = nil
}

// Online opens the pool and creates the schema.
func (s *Store) Online(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return nil
	}
	db := sql.OpenDB(latencyConnector{
		dsn:     "file:" + s.path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)",
		latency: &s.latency,
	})
	db.SetMaxOpenConns(maxConns)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS accounts (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		owner TEXT NOT NULL,
		balance_cents INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL)`); err != nil {
		db.Close()
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	s.db = db
	s.pool = checks.NewSQLPool(db, checks.SQLPoolOptions{Window: s.poolWindow})
	return nil
}

// Ready reports whether the store is open with its schema in place: the
// startup check. It fails while offline and before the accounts table exists.
func (s *Store) Ready(ctx context.Context) error {
	var n int
	err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'accounts'`).Scan(&n)
	if err == nil && n == 0 {
		err = errors.New("store: schema not created")
	}
	return err
}

// Offline closes the pool: every query fails until Online.
func (s *Store) Offline() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	s.releaseLocked()
	err := s.db.Close()
	s.db, s.pool = nil, nil
	return err
}

// Close closes the store for good.
func (s *Store) Close() error { return s.Offline() }

func (s *Store) Create(ctx context.Context, owner string) (Account, error) {
	a := Account{Owner: owner, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	res, err := s.DB().ExecContext(ctx, `INSERT INTO accounts (owner, created_at) VALUES (?, ?)`, owner, a.CreatedAt.Format(time.RFC3339Nano))
	if err != nil {
		return Account{}, err
	}
	a.ID, err = res.LastInsertId()
	return a, err
}

func (s *Store) Get(ctx context.Context, id int64) (Account, error) {
	var a Account
	var created string
	err := s.DB().QueryRowContext(ctx, `SELECT id, owner, balance_cents, created_at FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Owner, &a.BalanceCents, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, err
	}
	a.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	return a, nil
}

func (s *Store) List(ctx context.Context, limit int) ([]Account, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT id, owner, balance_cents, created_at FROM accounts ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var a Account
		var created string
		if err := rows.Scan(&a.ID, &a.Owner, &a.BalanceCents, &created); err != nil {
			return nil, err
		}
		a.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Deposit adds amount (which may be negative, never below zero) to an account.
func (s *Store) Deposit(ctx context.Context, id, cents int64) (Account, error) {
	res, err := s.DB().ExecContext(ctx, `UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ? AND balance_cents + ? >= 0`, cents, id, cents)
	if err != nil {
		return Account{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return Account{}, err
		}
		return Account{}, errInsufficient
	}
	return s.Get(ctx, id)
}

var errInsufficient = errors.New("insufficient funds")

// Count returns the number of accounts (the worker's job).
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, err
}
