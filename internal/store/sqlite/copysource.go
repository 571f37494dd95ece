package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/store"
)

// ErrInUse is returned by OpenExport, and by Export.InUse, while another
// process has the file open (a watchdog): its history is still changing.
var ErrInUse = errors.New("the file is open in another process (a running watchdog?): stop it first")

// Export reads a store's file for `vitals migrate`: its installation facts
// and its tables in the portable form of store.CopyTable, in batches, each
// step in the order of its key so that a copy can resume after the last
// row it wrote. It opens the file read-only: it never writes to it, runs no
// schema migration and folds nothing (the ping log is read as it is, the
// way the store's readers merge it). Safe for concurrent use.
type Export struct {
	path   string
	db     *sql.DB
	tables map[string]bool // the tables the file has
}

// OpenExport opens the store file at path for reading. It refuses a file
// that does not exist, one another process has open (ErrInUse, where the
// platform lets that be seen: see InUse), and one whose schema is newer
// than this binary's (*store.SchemaTooNewError).
func OpenExport(path string) (*Export, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := inUse(path); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	e := &Export{path: path, db: db, tables: map[string]bool{}}
	if err := e.load(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return e, nil
}

// load lists the file's tables and checks its schema version.
func (e *Export) load(ctx context.Context) error {
	rows, err := e.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		e.tables[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if !e.tables["checks"] {
		return errors.New("not a vitals store (no checks table)")
	}
	have := 0
	if e.tables["schema_migrations"] {
		if err := e.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
	} else if err := e.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return err
	} else if have <= 1 {
		have = 0 // made before schema_migrations: see migrations
	}
	if have > len(migrations) {
		return &store.SchemaTooNewError{Have: have, Know: len(migrations)}
	}
	return nil
}

// Close closes the file.
func (e *Export) Close() error { return e.db.Close() }

// InUse returns ErrInUse while another process has the file open. It reads
// SQLite's own locks: every connection to a file in WAL mode holds a shared
// lock on it for as long as it is open. On platforms where that cannot be
// tested (not Linux, macOS or FreeBSD) it returns nil.
func (e *Export) InUse() error { return inUse(e.path) }

// Installation returns the installation's facts (the installation table:
// "check_id_secret", the secret derived check ids depend on). A file
// without them returns an empty map.
func (e *Export) Installation(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	if !e.tables["installation"] {
		return out, nil
	}
	rows, err := e.db.QueryContext(ctx, `SELECT name, value FROM installation ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		out[name] = value
	}
	return out, rows.Err()
}

// exportStep is how one copy step reads the file: SELECT cols, key FROM
// from WHERE key > cursor [AND where] ORDER BY key.
type exportStep struct {
	name  string
	table store.CopyTable
	cols  string   // the table's columns, in order
	from  string   // FROM clause
	where string   // extra condition, "" for none
	key   []string // the key, unique and ordered
}

// steps are the file's steps, in copy order. The ping log (rows a crash
// left uncompacted) is a step of its own into pings, after them; the
// newest logged state of a check wins over its compacted one, as the
// store's readers have it.
func (e *Export) steps() []exportStep {
	retired := "NULL"
	from := "checks c"
	if e.tables["retired_checks"] {
		retired, from = "r.retired", "checks c LEFT JOIN retired_checks r ON r.id = c.id"
	}
	state, sfrom := "s.state", "states s"
	if e.tables["ping_log"] {
		state = "coalesce(l.state, s.state)"
		sfrom = `states s LEFT JOIN (SELECT check_id, state FROM ping_log
			WHERE rowid IN (SELECT max(rowid) FROM ping_log GROUP BY check_id)) l ON l.check_id = s.id`
	}
	const pingCols = "check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated"
	all := []exportStep{
		{name: "checks", table: store.CopyChecks, cols: "c.id, c.def, " + retired, from: from, key: []string{"c.id"}},
		{name: "states", table: store.CopyStates, cols: "s.id, " + state, from: sfrom, key: []string{"s.id"}},
		{name: "pings", table: store.CopyPings, cols: pingCols, from: "pings", key: []string{"check_id", "n"}},
		{name: "ping_log", table: store.CopyPings, cols: pingCols, from: "ping_log",
			where: "n > 0 AND check_id IN (SELECT id FROM checks)", key: []string{"rowid"}},
		{name: "flips", table: store.CopyFlips, cols: "id, check_id, from_st, to_st, time, reason", from: "flips", key: []string{"id"}},
		// By rowid: the order rows were added, which the destination keeps.
		{name: "outbox", table: store.CopyOutbox, from: "outbox", key: []string{"rowid"},
			cols: "id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered"},
		{name: "uptime", table: store.CopyUptime, cols: "check_id, day, up, total", from: "uptime", key: []string{"check_id", "day"}},
		{name: "policy_state", table: store.CopyPolicyState, cols: "check_id, flip_id, dropped, held", from: "policy_state", key: []string{"check_id"}},
		{name: "silences", table: store.CopySilences, cols: "id, start_t, end_t, silence", from: "silences", key: []string{"id"}},
	}
	var out []exportStep
	for _, s := range all {
		if e.tables[strings.Fields(s.from)[0]] {
			out = append(out, s)
		}
	}
	return out
}

func (e *Export) step(name string) (exportStep, error) {
	for _, s := range e.steps() {
		if s.name == name {
			return s, nil
		}
	}
	return exportStep{}, fmt.Errorf("no step %q in this file", name)
}

// Steps returns the steps of a copy of the file, in order, each with its
// number of rows now. A table the file lacks (made by an older vitals) is
// no step.
func (e *Export) Steps(ctx context.Context) ([]store.CopyStep, error) {
	var out []store.CopyStep
	for _, s := range e.steps() {
		q := "SELECT count(*) FROM " + s.from
		if s.where != "" {
			q += " WHERE " + s.where
		}
		var n int64
		if err := e.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", s.name, err)
		}
		out = append(out, store.CopyStep{Name: s.name, Table: s.table, Total: n})
	}
	return out, nil
}

// Read returns up to limit rows of step after the cursor after ("" for the
// first rows), in the portable form of the step's table, and the cursor
// past the last of them (after itself when there are none). Fewer than
// limit rows: the step is at its end. The cursor is opaque; it holds check
// ids, so it belongs where the checks are (the destination), never in a
// log.
func (e *Export) Read(ctx context.Context, step, after string, limit int) (rows [][]any, next string, err error) {
	s, err := e.step(step)
	if err != nil {
		return nil, after, err
	}
	cur, err := decodeCursor(after, len(s.key))
	if err != nil {
		return nil, after, fmt.Errorf("%s: %w", step, err)
	}
	key := strings.Join(s.key, ", ")
	var conds []string
	if cur != nil {
		conds = append(conds, "("+key+") > ("+strings.TrimSuffix(strings.Repeat("?, ", len(s.key)), ", ")+")")
	}
	if s.where != "" {
		conds = append(conds, s.where)
	}
	q := "SELECT " + s.cols + ", " + key + " FROM " + s.from
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY " + key + " LIMIT ?"
	r, err := e.db.QueryContext(ctx, q, append(cur, limit)...)
	if err != nil {
		return nil, after, fmt.Errorf("read %s: %w", step, err)
	}
	defer r.Close()
	n := len(s.table.Columns)
	next = after
	for r.Next() {
		vals := make([]any, n+len(s.key))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return nil, after, fmt.Errorf("read %s: %w", step, err)
		}
		row := make([]any, n)
		for i, c := range s.table.Columns {
			// The error names the column, never the value: it may be a
			// check id, the secret of a ping URL.
			if row[i], err = portable(c.Kind, vals[i]); err != nil {
				return nil, after, fmt.Errorf("read %s: row %d: column %s: %w", step, len(rows)+1, c.Name, err)
			}
		}
		rows = append(rows, row)
		b, err := json.Marshal(vals[n:])
		if err != nil {
			return nil, after, err
		}
		next = string(b)
	}
	if err := r.Err(); err != nil {
		return nil, after, fmt.Errorf("read %s: %w", step, err)
	}
	return rows, next, nil
}

// decodeCursor turns a cursor back into the key's values (nil for "").
func decodeCursor(s string, n int) ([]any, error) {
	if s == "" {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var vals []any
	if err := d.Decode(&vals); err != nil || len(vals) != n {
		return nil, errors.New("the recorded cursor does not fit this file's key")
	}
	for i, v := range vals {
		if num, ok := v.(json.Number); ok {
			x, err := num.Int64()
			if err != nil {
				return nil, errors.New("the recorded cursor does not fit this file's key")
			}
			vals[i] = x
		}
	}
	return vals, nil
}

// portable converts a value as the driver scanned it to the form of kind.
func portable(kind store.ColumnKind, v any) (any, error) {
	switch kind {
	case store.KindUUID:
		s, err := text(v)
		if err != nil || s == "" {
			return [16]byte{}, err
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, errors.New("not a UUID")
		}
		return [16]byte(id), nil
	case store.KindInt, store.KindBool, store.KindNullInt:
		if v == nil && kind == store.KindNullInt {
			return nil, nil
		}
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("not an integer (%T)", v)
		}
		if kind == store.KindBool {
			return n != 0, nil
		}
		return n, nil
	case store.KindText:
		return text(v)
	case store.KindBytes:
		switch b := v.(type) {
		case nil:
			return []byte{}, nil
		case []byte:
			return bytes.Clone(b), nil
		case string:
			return []byte(b), nil
		}
		return nil, fmt.Errorf("not bytes (%T)", v)
	}
	return nil, fmt.Errorf("unknown column kind %d", kind)
}

func text(v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	}
	return "", fmt.Errorf("not text (%T)", v)
}
