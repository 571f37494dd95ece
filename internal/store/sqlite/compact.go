package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// compactChunk is how many log rows one compaction request moves: it
// bounds how long a compaction holds the writer (pings queue behind it).
const compactChunk = 8192

// compact moves the oldest rows of ping_log (at most limit) into pings
// (rows with a ping) and states (the newest state of each check among
// them), prunes the retention of the checks it touched, and deletes them
// from the log, in the batch's transaction. Runs on the writer goroutine
// (a write request). It reports whether rows remain.
func (w *writer) compact(ctx context.Context, limit int) (more bool, err error) {
	tx := w.tx
	var first, top int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(min(rowid), 0), coalesce(max(rowid), 0) FROM ping_log`).Scan(&first, &top); err != nil {
		return false, err
	}
	if top == 0 {
		w.logRows = 0
		return false, nil
	}
	last := min(top, first+int64(limit)-1)
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO pings(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
		SELECT check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated
		FROM ping_log WHERE rowid <= ? AND n > 0 AND check_id IN (SELECT id FROM checks) ORDER BY check_id, n`, last); err != nil {
		return false, fmt.Errorf("compact pings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE states SET state = l.state
		FROM (SELECT check_id, state FROM ping_log WHERE rowid IN (SELECT max(rowid) FROM ping_log WHERE rowid <= ? GROUP BY check_id)) AS l
		WHERE states.id = l.check_id`, last); err != nil {
		return false, fmt.Errorf("compact states: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT check_id, max(n) FROM ping_log WHERE rowid <= ? AND n > 0 GROUP BY check_id`, last)
	if err != nil {
		return false, err
	}
	type newest struct {
		id model.CheckID
		n  int64
	}
	var tops []newest
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return false, err
		}
		if id, err := model.ParseCheckID(s); err == nil {
			tops = append(tops, newest{id, n})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, t := range tops {
		if err := w.prune(ctx, t.id, t.n); err != nil {
			return false, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM ping_log WHERE rowid <= ?`, last)
	if err != nil {
		return false, fmt.Errorf("compact log: %w", err)
	}
	moved, _ := res.RowsAffected()
	w.logRows = int(max(int64(w.logRows)-moved, 0))
	return last < top, nil
}

// compactAll runs compaction requests of compactChunk rows until the log
// is empty (other writes interleave between them).
func (s *Store) compactAll(ctx context.Context) error {
	for {
		var more bool
		err := s.write(ctx, func(ctx context.Context, w *writer) error {
			var err error
			more, err = w.compact(ctx, compactChunk)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}

// compacter asks the writer to compact the log every CompactInterval, or
// sooner when it holds compactRows rows.
func (s *Store) compacter() {
	defer close(s.compactDone)
	t := time.NewTicker(s.opts.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		case <-s.compactNow:
		}
		if s.logRows.Load() == 0 {
			continue
		}
		_ = s.compactAll(context.Background())
	}
}
