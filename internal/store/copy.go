package store

// The portable form of an installation, as `vitals migrate` copies it from
// one store to another (store/storecopy runs the copy; a store that can be
// a source reads its tables into this form, one that can be a destination
// writes it). Tables and columns are named as in the PostgreSQL store, the
// destination; each value travels as its column's Kind says.

// ColumnKind is how the values of a column travel in a copied row.
type ColumnKind int

const (
	// KindUUID is a [16]byte (a check id, a flip id; the zero value for
	// none, as a ping's request id).
	KindUUID ColumnKind = iota
	// KindInt is an int64 (times are nanoseconds since the Unix epoch, 0
	// for the zero time; days Unix seconds of midnight UTC).
	KindInt
	// KindNullInt is an int64, or nil for NULL (a check's retirement time:
	// nil while the check is live).
	KindNullInt
	// KindText is a string of any bytes; the destination makes it
	// storable (PostgreSQL's text refuses NUL and invalid UTF-8).
	KindText
	// KindBytes is a []byte, never nil.
	KindBytes
	// KindBool is a bool.
	KindBool
)

// CopyColumn is one column of a CopyTable.
type CopyColumn struct {
	Name string
	Kind ColumnKind
}

// CopyTable is one table of an installation's history in the portable
// form. A row is a []any with one value per column, in order.
type CopyTable struct {
	// Name is the table's name.
	Name string
	// Columns are its columns, in the order of a row's values.
	Columns []CopyColumn
	// Ref is the column that refers to checks(id), "" for none: a row
	// whose check is missing at the destination is not copied.
	Ref string
}

func cols(spec ...any) []CopyColumn {
	out := make([]CopyColumn, 0, len(spec)/2)
	for i := 0; i+1 < len(spec); i += 2 {
		out = append(out, CopyColumn{Name: spec[i].(string), Kind: spec[i+1].(ColumnKind)})
	}
	return out
}

// The tables of an installation's history. The installation's own facts
// (store.Store.InstallationSecret) are not among them: a copy starts with
// them (see storecopy.Sink).
var (
	// CopyChecks holds the definitions (model.Check as JSON, redacted)
	// and, for a retired check, when it was retired.
	CopyChecks = CopyTable{Name: "checks", Columns: cols("id", KindUUID, "def", KindText, "retired", KindNullInt)}
	// CopyStates holds each check's state (model.State as JSON).
	CopyStates = CopyTable{Name: "states", Ref: "id", Columns: cols("id", KindUUID, "state", KindText)}
	// CopyPings holds the pings, keyed by (check_id, n).
	CopyPings = CopyTable{Name: "pings", Ref: "check_id", Columns: cols(
		"check_id", KindUUID, "n", KindInt, "kind", KindText, "exit_status", KindInt, "rid", KindUUID,
		"time", KindInt, "duration", KindInt, "method", KindText, "scheme", KindText,
		"remote_addr", KindText, "user_agent", KindText, "body", KindBytes, "body_truncated", KindBool)}
	// CopyFlips holds the flips.
	CopyFlips = CopyTable{Name: "flips", Ref: "check_id", Columns: cols(
		"id", KindUUID, "check_id", KindUUID, "from_st", KindText, "to_st", KindText, "time", KindInt, "reason", KindText)}
	// CopyOutbox holds the outbox, in the order its rows were added
	// (oldest first: the destination keeps that order).
	CopyOutbox = CopyTable{Name: "outbox", Ref: "check_id", Columns: cols(
		"id", KindUUID, "flip_id", KindUUID, "check_id", KindUUID, "channel", KindText, "payload", KindBytes,
		"state", KindText, "attempts", KindInt, "next_attempt", KindInt, "last_error", KindText,
		"created", KindInt, "delivered", KindInt)}
	// CopyUptime holds the daily rollups.
	CopyUptime = CopyTable{Name: "uptime", Ref: "check_id", Columns: cols(
		"check_id", KindUUID, "day", KindInt, "up", KindInt, "total", KindInt)}
	// CopyPolicyState holds the alert policy's memory (PolicyState).
	CopyPolicyState = CopyTable{Name: "policy_state", Ref: "check_id", Columns: cols(
		"check_id", KindUUID, "flip_id", KindUUID, "dropped", KindBool, "held", KindBool)}
	// CopySilences holds the API's silences (model.Silence as JSON), with
	// the times they start and end.
	CopySilences = CopyTable{Name: "silences", Columns: cols(
		"id", KindUUID, "start_t", KindInt, "end_t", KindInt, "silence", KindText)}
)

// CopyStep is one step of a copy: the rows of one source table (or part of
// one) into one destination table. Steps are copied in order; the checks
// come first, as every other table refers to them.
type CopyStep struct {
	// Name names the step, unique within the copy (it keys the progress
	// the destination records): the source's table, as "ping_log".
	Name string
	// Table is the destination table, whose columns the rows carry.
	Table CopyTable
	// Total is how many rows the source has for the step, when the copy
	// began.
	Total int64
}

// CopyMark is how far a step has gone, as the destination records it with
// each batch (in the batch's transaction).
type CopyMark struct {
	// After is the source's cursor past the last row copied ("" before
	// the first): opaque to everyone but the source.
	After string
	// Read is how many source rows the step has gone through, over every
	// run; Copied how many of them were written (the rest were there
	// already, or their check was missing).
	Read, Copied int64
	// Done: the step finished; a later run skips it.
	Done bool
}
