package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/store"
)

// The destination side of `vitals migrate` (store/storecopy): the rows of
// another store's tables, in the portable form of store.CopyTable, written
// in batches, each batch in one transaction with the progress of its step.
//
// Progress lives in the table migrate_progress (one row per step: the
// source's cursor past the last row copied, the counts, done), created by
// ImportBegin outside the versioned schema: it is the migration's, not the
// store's, and nothing else reads it. It is kept after the copy: a later
// run sees every step done and copies nothing.

// ErrOtherInstallation is returned by ImportBegin when the database holds
// another installation: its installation facts (the secret derived check
// ids depend on) differ from the source's.
var ErrOtherInstallation = errors.New("the database belongs to another installation (its check id secret differs from the source's): migrate into an empty database")

// ErrImportRace is returned by ImportWrite when the step's recorded
// progress is not what the caller last saw: another migration is writing
// into this database at the same time.
var ErrImportRace = errors.New("the recorded progress changed underneath: is another `vitals migrate` running into this database?")

const progressDDL = `CREATE TABLE IF NOT EXISTS migrate_progress (
	step    text PRIMARY KEY,
	after   text NOT NULL, -- the source's cursor (opaque; holds check ids)
	read    int8 NOT NULL,
	copied  int8 NOT NULL,
	done    bool NOT NULL,
	updated timestamptz NOT NULL
)`

// ImportBegin starts (or resumes) a copy into the store: it writes the
// source's installation facts, refusing with ErrOtherInstallation a
// database whose facts differ (a value of the same name; facts the
// database lacks are added, those it has are kept), records a progress row
// for each step that has none, and returns the recorded progress of every
// step, in one transaction.
func (s *Store) ImportBegin(ctx context.Context, installation map[string][]byte, steps []store.CopyStep) (map[string]store.CopyMark, error) {
	marks := map[string]store.CopyMark{}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('vitals migrate'), hashtext(coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, progressDDL); err != nil {
			return err
		}
		for name, value := range installation {
			var have []byte
			if err := tx.QueryRow(ctx, `WITH i AS (INSERT INTO installation(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
				SELECT value FROM i UNION ALL SELECT value FROM installation WHERE name = $1`, txt(name), value).Scan(&have); err != nil {
				return fmt.Errorf("installation: %w", err)
			}
			if !bytes.Equal(have, value) {
				return ErrOtherInstallation
			}
		}
		for _, st := range steps {
			if _, err := tx.Exec(ctx, `INSERT INTO migrate_progress(step, after, read, copied, done, updated)
				VALUES($1, '', 0, 0, false, now()) ON CONFLICT (step) DO NOTHING`, st.Name); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT step, after, read, copied, done FROM migrate_progress`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var m store.CopyMark
			if err := rows.Scan(&name, &m.After, &m.Read, &m.Copied, &m.Done); err != nil {
				return err
			}
			marks[name] = m
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: begin the import: %w", err)
	}
	return marks, nil
}

// ImportWrite writes rows (of step.Table, in the portable form) and the
// step's new progress in one transaction: prev is the progress the caller
// started from (what ImportBegin or the last ImportWrite returned), after
// the source's cursor past rows, done whether the step ends with them. A
// row whose key (or any unique column) is already there is skipped, and so
// is a row whose check is missing (Table.Ref). The outbox keeps the rows'
// order. It returns the new progress; ErrImportRace when the recorded one
// is not prev.
func (s *Store) ImportWrite(ctx context.Context, step store.CopyStep, prev store.CopyMark, rows [][]any, after string, done bool) (store.CopyMark, error) {
	args, err := importArgs(step.Table, rows)
	if err != nil {
		return prev, fmt.Errorf("postgres: import %s: %w", step.Name, err)
	}
	next := prev
	next.After, next.Read, next.Done = after, prev.Read+int64(len(rows)), done
	err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		next.Copied = prev.Copied
		if len(rows) > 0 {
			tag, err := tx.Exec(ctx, importSQL(step.Table), args...)
			if err != nil {
				return err
			}
			next.Copied += tag.RowsAffected()
		}
		tag, err := tx.Exec(ctx, `UPDATE migrate_progress SET after = $2, read = $3, copied = $4, done = $5, updated = now()
			WHERE step = $1 AND after = $6 AND read = $7 AND NOT done`,
			step.Name, next.After, next.Read, next.Copied, next.Done, prev.After, prev.Read)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return ErrImportRace
		}
		return nil
	})
	if err != nil {
		return prev, fmt.Errorf("postgres: import %s: %w", step.Name, err)
	}
	return next, nil
}

// importSQL is the statement that inserts a batch of t's rows: one array
// parameter per column, unnested in the rows' order.
func importSQL(t store.CopyTable) string {
	names := make([]string, len(t.Columns))
	params := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = pgx.Identifier{c.Name}.Sanitize()
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, pgType(c.Kind))
	}
	list := strings.Join(names, ", ")
	q := "INSERT INTO " + pgx.Identifier{t.Name}.Sanitize() + " (" + list + ") SELECT " + list +
		" FROM unnest(" + strings.Join(params, ", ") + ") WITH ORDINALITY AS u(" + list + ", ord)"
	if t.Ref != "" {
		q += " WHERE EXISTS (SELECT 1 FROM checks c WHERE c.id = u." + pgx.Identifier{t.Ref}.Sanitize() + ")"
	}
	return q + " ORDER BY ord ON CONFLICT DO NOTHING"
}

func pgType(k store.ColumnKind) string {
	switch k {
	case store.KindUUID:
		return "uuid"
	case store.KindInt, store.KindNullInt:
		return "int8"
	case store.KindBytes:
		return "bytea"
	case store.KindBool:
		return "bool"
	default:
		return "text"
	}
}

// importArgs turns rows into one array per column, of the Go types pgx
// sends as the column's array type.
func importArgs(t store.CopyTable, rows [][]any) ([]any, error) {
	args := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		var col any
		var ok bool
		switch c.Kind {
		case store.KindUUID:
			col, ok = gather(rows, i, func(v [16]byte) [16]byte { return v })
		case store.KindInt:
			col, ok = gather(rows, i, func(v int64) int64 { return v })
		case store.KindNullInt:
			a := make([]*int64, len(rows))
			ok = true
			for r, row := range rows {
				switch v := row[i].(type) {
				case nil:
				case int64:
					a[r] = &v
				default:
					ok = false
				}
			}
			col = a
		case store.KindText:
			col, ok = gather(rows, i, txt)
		case store.KindBytes:
			col, ok = gather(rows, i, func(v []byte) []byte {
				if v == nil {
					return []byte{}
				}
				return v
			})
		case store.KindBool:
			col, ok = gather(rows, i, func(v bool) bool { return v })
		}
		if !ok {
			return nil, fmt.Errorf("column %s: a value is not of its kind", c.Name)
		}
		args[i] = col
	}
	return args, nil
}

// gather collects column i of rows, each a T, through f; ok is false when
// a row is too short or holds another type there.
func gather[T, U any](rows [][]any, i int, f func(T) U) (_ []U, ok bool) {
	out := make([]U, len(rows))
	for r, row := range rows {
		if i >= len(row) {
			return nil, false
		}
		v, ok := row[i].(T)
		if !ok {
			return nil, false
		}
		out[r] = f(v)
	}
	return out, true
}

// Where describes the database of dsn for people: host:port/database, with
// neither the user nor the password (a DSN is a secret). A DSN that does
// not parse is "(a DSN that does not parse)".
func Where(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(a DSN that does not parse)"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}
