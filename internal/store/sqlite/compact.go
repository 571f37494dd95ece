package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// compactChunk is how many log rows one compaction request moves: it
// bounds how long a compaction holds the writer (pings queue behind it).
const compactChunk = 4096

// compactStep is how many log rows a compaction moves between two looks
// at the urgent lane (see writer.compactChunk).
const compactStep = 256

// compact moves the oldest rows of ping_log (at most limit) into pings
// (rows with a ping) and states (the newest state of each check among
// them), prunes the retention of the checks it touched, and deletes them
// from the log, in the batch's transaction. Runs on the writer goroutine
// (a write request). It reports whether rows remain.
//
// It writes row by row with prepared single-row statements rather than
// with INSERT … SELECT and UPDATE … FROM: inside the batch transaction a
// statement that writes many rows and may abort (a foreign key, NOT NULL)
// keeps a statement journal, a copy of every page it touches that SQLite
// allocates and frees page by page. At 100,000 checks, where each moved
// row touches a page of its own, that copy was 28 % of the watchdog's CPU
// under issue 14's load; a single-row statement needs none. Each step is
// idempotent (INSERT OR IGNORE, the newest state, the log deleted last), so
// a compaction that fails or is cut short is simply run again.
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
	tops, err := w.compactPings(ctx, last)
	if err != nil {
		return false, err
	}
	if err := w.compactStates(ctx, last); err != nil {
		return false, err
	}
	for id, n := range tops {
		if err := w.prune(ctx, id, n); err != nil {
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

// compactPings copies the pings of the log rows up to rowid last into
// pings, one row at a time (streamed: bodies are not all held at once),
// skipping those of checks no longer stored; it returns the newest ping
// number of each check it copied.
func (w *writer) compactPings(ctx context.Context, last int64) (map[model.CheckID]int64, error) {
	rows, err := w.tx.QueryContext(ctx, `SELECT check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated
		FROM ping_log WHERE rowid <= ? AND n > 0`, last)
	if err != nil {
		return nil, fmt.Errorf("compact pings: %w", err)
	}
	defer rows.Close()
	tops := map[model.CheckID]int64{}
	stored := map[string]bool{} // checks not in w.exists: looked up once each
	ins := w.stmt(w.insPing)
	var (
		cid, kind, rid, method, scheme, addr, ua string
		n, exit, at, dur                         int64
		body                                     []byte
		trunc                                    bool
	)
	for rows.Next() {
		if err := rows.Scan(&cid, &n, &kind, &exit, &rid, &at, &dur, &method, &scheme, &addr, &ua, &body, &trunc); err != nil {
			return nil, err
		}
		id, err := model.ParseCheckID(cid)
		if err != nil {
			// Only a damaged file holds one (the writer logs parsed ids):
			// the row cannot belong to a stored check, so it goes with
			// the log, counted in Stats.LogRowsDropped.
			w.dropping++
			continue
		}
		if !w.exists[id] { // retired since, or deleted: only a stored check keeps pings
			ok, seen := stored[cid]
			if !seen {
				var one int
				err := w.tx.QueryRowContext(ctx, `SELECT 1 FROM checks WHERE id = ?`, cid).Scan(&one)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, err
				}
				ok = err == nil
				stored[cid] = ok
			}
			if !ok {
				continue
			}
		}
		if body == nil {
			body = []byte{}
		}
		if _, err := ins.ExecContext(ctx, cid, n, kind, exit, rid, at, dur, method, scheme, addr, ua, body, trunc); err != nil {
			return nil, fmt.Errorf("compact pings: %w", err)
		}
		if n > tops[id] {
			tops[id] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compact pings: %w", err)
	}
	return tops, nil
}

// compactStates writes, for each check with log rows up to rowid last, the
// state of its newest one into states, one row at a time.
func (w *writer) compactStates(ctx context.Context, last int64) error {
	rows, err := w.tx.QueryContext(ctx, `SELECT check_id, state FROM ping_log
		WHERE rowid IN (SELECT max(rowid) FROM ping_log WHERE rowid <= ? GROUP BY check_id)`, last)
	if err != nil {
		return fmt.Errorf("compact states: %w", err)
	}
	defer rows.Close()
	set := w.stmt(w.setState)
	var cid, state string
	for rows.Next() {
		if err := rows.Scan(&cid, &state); err != nil {
			return err
		}
		if _, err := set.ExecContext(ctx, state, cid); err != nil {
			return fmt.Errorf("compact states: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compact states: %w", err)
	}
	return nil
}

// compactChunk moves up to chunk rows (compactChunk but in tests) in
// steps of compactStep, and ends after a step when the batch holds an
// urgent write or one waits in the urgent lane (lane.go): the urgent
// write then joins the transaction of the rows moved so far, and waits
// for one step instead of a whole chunk (at 20,000 checks, a chunk took
// 0.2-1 s on a loaded 2-core machine). The rest of the chunk is the next
// request's. noLane (the benchmark's baseline) moves the chunk in one step.
func (w *writer) compactChunk(ctx context.Context, noLane bool, chunk int) (more bool, err error) {
	if noLane {
		return w.compact(ctx, chunk)
	}
	step := min(compactStep, chunk)
	for moved := 0; moved < chunk; moved += step {
		if more, err = w.compact(ctx, step); err != nil || !more {
			return more, err
		}
		if w.urgent || w.urgentWaiting() {
			return true, nil
		}
	}
	return more, nil
}

// compactAll runs compaction requests of chunk rows (compactChunk but in
// tests) until the log is empty (other writes interleave between them).
func (s *Store) compactAll(ctx context.Context, chunk int) error {
	for {
		var more bool
		err := s.submit(ctx, &request{
			fn: func(ctx context.Context, w *writer) error {
				w.dropping = 0
				var err error
				more, err = w.compactChunk(ctx, s.noLane, chunk)
				return err
			},
			committed: func(w *writer) { w.dropped += int64(w.dropping) },
			done:      make(chan error, 1),
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
		_ = s.compactAll(context.Background(), compactChunk)
	}
}
