package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// UptimeAll implements store.Store: one scan where Uptime needs a query per
// check, and no slice of all the rows (with 10,000 checks they are
// 900,000). The scan is split by ranges of check ids over the read
// connections (at most GOMAXPROCS), which run in parallel; fn must be
// quick, as it holds the others up.
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error {
	if err := s.reading(ctx); err != nil {
		return err
	}
	// Check ids are lower-case UUID strings: split on their first hex digit.
	parts := min(s.opts.ReadConns, runtime.GOMAXPROCS(0), 16)
	if parts < 1 {
		parts = 1
	}
	const hex = "0123456789abcdef"
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // serialises fn
		errs = make([]error, parts)
	)
	for i := range parts {
		lo, hi := string(hex[i*16/parts]), "g" // "g" sorts after every hex digit
		if i+1 < parts {
			hi = string(hex[(i+1)*16/parts])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.uptimeRange(ctx, lo, hi, from, to, func(d model.UptimeDay) {
				mu.Lock()
				fn(d)
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("sqlite: uptime of every check: %w", err)
		}
	}
	return nil
}

// uptimeRange reads the rollups of the checks whose id is in [lo, hi).
func (s *Store) uptimeRange(ctx context.Context, lo, hi string, from, to time.Time, fn func(model.UptimeDay)) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_id, day, up, total FROM uptime WHERE check_id >= ? AND check_id < ? AND day >= ? AND day < ?`,
		lo, hi, from.Unix(), to.Unix())
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		lastID string
		id     model.CheckID
	)
	for rows.Next() {
		var (
			cid            sql.RawBytes // no copy per row: valid until Next
			day, up, total int64
		)
		if err := rows.Scan(&cid, &day, &up, &total); err != nil {
			return err
		}
		if string(cid) != lastID { // rows come in key order: parse each id once
			if id, err = model.ParseCheckID(string(cid)); err != nil {
				return fmt.Errorf("uptime rollups: %w", err)
			}
			lastID = string(cid)
		}
		fn(model.UptimeDay{CheckID: id, Day: time.Unix(day, 0).UTC(), Up: time.Duration(up), Total: time.Duration(total)})
	}
	return rows.Err()
}
