package sqlite

import (
	"context"
	sqldriver "database/sql/driver"
	"strconv"
	"time"
)

// Checkpoints (issue 14).
//
// The writer connection runs with wal_autocheckpoint off, so that no
// commit copies the WAL into the database on the writer's path. Instead:
//
//   - the checkpointer goroutine runs a PASSIVE checkpoint on a reading
//     connection every CheckpointInterval: it copies the committed frames
//     into the database and fsyncs it without taking the write lock;
//   - once a PASSIVE checkpoint has copied every frame of a WAL larger
//     than truncateFrames pages, it asks the writer goroutine to reset the
//     file (Store.truncate), and the writer runs the TRUNCATE checkpoint
//     itself, between two batches, unless a flip waits in the urgent lane.
//
// The TRUNCATE used to run on the checkpointer's connection. It then had
// to take the write lock from a writer that is almost never between
// transactions under load: it waited for it through its busy handler
// (0.76 s at the median, 4.1 s at p90 under issue 14's workload), and once
// it had it, it copied every frame committed meanwhile and fsynced the
// database while every write, flips included, waited. Run by the writer,
// it has the lock at once and has only the frames committed since the
// PASSIVE checkpoint to copy. What it may still wait for is a reader of an
// older snapshot still in the WAL: that wait is bounded by truncateWait,
// after which the checkpoint gives up (counted in Stats.TruncatesBusy) and
// the next PASSIVE one asks again.

// truncateFrames is the WAL size (in pages) past which the WAL file is
// reset once a checkpoint has copied all of it.
const truncateFrames = 16384

// truncateWait bounds how long the writer waits for readers of the WAL
// when it resets it.
const truncateWait = 100 * time.Millisecond

// checkpointer runs PASSIVE checkpoints every CheckpointInterval and asks
// the writer for a TRUNCATE one when the WAL grew past truncateFrames
// pages and the PASSIVE one copied all of it.
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
			s.requestTruncate()
		}
	}
}

// requestTruncate asks the writer for a TRUNCATE checkpoint; a request
// already pending covers this one.
func (s *Store) requestTruncate() {
	select {
	case s.truncate <- struct{}{}:
	default:
	}
}

// truncateWAL runs on the writer goroutine, between batches: a TRUNCATE
// checkpoint on the writer's connection, waiting at most truncateWait for
// readers.
func (s *Store) truncateWAL(w *writer) {
	ctx := context.Background()
	start := time.Now()
	defer func() { s.truncateNanos.Add(int64(time.Since(start))) }()
	s.truncates.Add(1)
	if s.truncateHook != nil {
		s.truncateHook()
	}
	c, err := w.db.Conn(ctx)
	if err != nil {
		s.truncatesBusy.Add(1)
		return
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout("+strconv.FormatInt(truncateWait.Milliseconds(), 10)+")"); err != nil {
		s.truncatesBusy.Add(1)
		return
	}
	// Back to the connection's own timeout (the DSN's) for the batches;
	// if that fails, the pool drops the connection and the next batch
	// opens one with the DSN's settings.
	defer func() {
		if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")"); err != nil {
			_ = c.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
	}()
	var busy, frames, done int
	if err := c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil || busy != 0 {
		s.truncatesBusy.Add(1)
	}
}
