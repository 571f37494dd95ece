package sqlite

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/store"
)

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
	// fsyncHook, set by tests before any write, runs before each fsync;
	// truncateHook, before each reset of the WAL (on the writer).
	fsyncHook, truncateHook func()

	reqs chan *request
	// urgent is the priority lane: Applies that carry a flip, taken
	// before reqs (lane.go). pending counts the Applies queued in reqs per
	// check; noLane (tests: the benchmark's baseline) sends every write
	// to reqs.
	urgent  chan *request
	pending store.Lane
	noLane  bool
	quit    chan struct{}
	done    chan struct{} // writer exited
	ckpt    chan struct{} // checkpointer exited

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool

	logRows     atomic.Int64 // rows in ping_log, as of the last batch
	dropped     atomic.Int64 // Stats.LogRowsDropped, as of the last batch
	compactNow  chan struct{}
	compactDone chan struct{}

	batches, writes, commitNanos, syncNanos atomic.Int64
	fsyncs, fsyncNanos                      atomic.Int64

	// truncate asks the writer to reset the WAL between two batches
	// (checkpoint.go); truncates, truncatesBusy and truncateNanos count
	// what it did.
	truncate                                chan struct{}
	truncates, truncatesBusy, truncateNanos atomic.Int64
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
	// LogRows is how many rows the ping log holds, not yet compacted
	// into the pings and states tables.
	LogRows int64
	// LogRowsDropped counts ping log rows compaction dropped because
	// their check id did not parse. The writer logs only parsed ids, so
	// anything but 0 means a damaged database file.
	LogRowsDropped int64
	// Truncates counts the writer's resets of the WAL file, TruncatesBusy
	// those a reader kept from completing, TruncateTime the time the
	// writer spent on them (checkpoint.go).
	Truncates, TruncatesBusy int64
	TruncateTime             time.Duration
}

// Stats returns the writer's counters. Safe for concurrent use.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Writes: s.writes.Load(), CommitTime: time.Duration(s.commitNanos.Load()),
		SyncTime: time.Duration(s.syncNanos.Load()), Fsyncs: s.fsyncs.Load(), FsyncTime: time.Duration(s.fsyncNanos.Load()),
		LogRows: s.logRows.Load(), LogRowsDropped: s.dropped.Load(),
		Truncates: s.truncates.Load(), TruncatesBusy: s.truncatesBusy.Load(), TruncateTime: time.Duration(s.truncateNanos.Load())}
}

var _ store.Store = (*Store)(nil)

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
