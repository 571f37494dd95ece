package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
)

// Sentinel errors. Implementations wrap them with %w and context.
var (
	// ErrNotFound: no check (or notification) with that id.
	ErrNotFound = errors.New("not found")
	// ErrExists: CreateCheck with an id already present.
	ErrExists = errors.New("already exists")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// Store is the watchdog's persistence. See the package doc for the contracts
// every method shares.
type Store interface {
	// CreateCheck inserts c and its initial state st atomically.
	// ErrExists if c.ID is taken. Like UpdateCheck, it stores
	// c.Redacted(): no value of c.Secrets is ever written (GetCheck and
	// ListChecks return the redacted form).
	CreateCheck(ctx context.Context, c model.Check, st model.State) error
	// UpdateCheck replaces the definition of an existing check, keeping its
	// state and history. ErrNotFound if absent.
	UpdateCheck(ctx context.Context, c model.Check) error
	// DeleteCheck removes the check, its state, pings, flips, rollups and
	// pending notifications and policy state, whether it is live or retired. ErrNotFound if
	// absent.
	DeleteCheck(ctx context.Context, id model.CheckID) error
	// GetCheck returns one live check and its state. ErrNotFound if absent
	// or retired.
	GetCheck(ctx context.Context, id model.CheckID) (model.Check, model.State, error)
	// ListChecks returns every live check with its state, ordered by ID
	// (retired checks are not in it). The engine calls it once at start to
	// rebuild memory and deadlines.
	ListChecks(ctx context.Context) ([]model.CheckState, error)

	// RetireCheck takes the live check id out of service at time at,
	// keeping everything DeleteCheck would remove (definition, state,
	// pings, flips, rollups, outbox rows). A retired check is not in
	// ListChecks or GetCheck, and Apply, UpdateCheck and RetireCheck
	// answer ErrNotFound for it; CreateCheck with its id answers
	// ErrExists; its history stays readable (Pings, Flips, Uptime,
	// Notifications) until RestoreCheck or PurgeRetired. Durable as Apply
	// is. ErrNotFound if no live check has that id.
	RetireCheck(ctx context.Context, id model.CheckID, at time.Time) error
	// RestoreCheck brings the retired check c.ID back into service with
	// the definition c (its stored Created is kept, c.Created is ignored),
	// atomically, and returns the check as stored and its state as it was
	// when retired. ErrNotFound if no retired check has that id.
	RestoreCheck(ctx context.Context, c model.Check) (model.Check, model.State, error)
	// RetiredChecks returns the retired checks, ordered by ID.
	RetiredChecks(ctx context.Context) ([]RetiredCheck, error)
	// PurgeRetired deletes (as DeleteCheck does) every check retired
	// before cutoff and returns them.
	PurgeRetired(ctx context.Context, cutoff time.Time) ([]RetiredCheck, error)

	// Apply writes u atomically and durably: when it returns nil, the
	// state, the ping, the flips, their notifications and the uptime
	// increments are all on stable storage (fsync'd for a file store), and
	// either all or none of them will be seen after a crash. ErrNotFound if
	// u.CheckID does not exist (and nothing is written).
	//
	// Apply is the hot path (one call per ping): implementations batch
	// concurrent calls into one transaction (group commit). Calls for the
	// same check are applied in the order they are made when the caller
	// serialises them (the engine holds the check's lock across Apply).
	Apply(ctx context.Context, u Update) error

	// Pings returns the check's stored pings, newest first, at most
	// q.Limit (default 100), with N < q.Before when q.Before > 0.
	Pings(ctx context.Context, id model.CheckID, q PingQuery) ([]model.Ping, error)
	// Flips returns the check's flips, newest first, at most q.Limit
	// (default 100), with Time before q.Before when it is not zero. A
	// zero id returns the flips of every check.
	Flips(ctx context.Context, id model.CheckID, q FlipQuery) ([]model.Flip, error)
	// Uptime returns the check's stored daily rollups for days in [from,
	// to), oldest first. The interval still open (since the state's Since)
	// is not in them: add it with model.SplitDays at read time.
	Uptime(ctx context.Context, id model.CheckID, from, to time.Time) ([]model.UptimeDay, error)
	// UptimeAll calls fn with each stored daily rollup of every check
	// (retired ones included) for days in [from, to), in no particular
	// order and one call at a time: one scan where Uptime needs a call per
	// check (the status page fills its cache with it). fn must return
	// quickly and must not call the store. UptimeAll returns the first
	// error, after which fn may have seen part of the rows.
	UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error

	// Notifications returns outbox rows, oldest first, filtered by q.
	Notifications(ctx context.Context, q NotificationQuery) ([]model.Notification, error)
	// UpdateNotification records a delivery attempt's outcome: it replaces
	// State, Attempts, NextAttempt, LastError and Delivered of the row with
	// n.ID, but only if the row's State is still expect (compare-and-set,
	// so that two deliverers never both mark one row); ok is false when it
	// was not. ErrNotFound if no such row.
	UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (ok bool, err error)
	// EnqueueNotifications adds outbox rows that no flip caused (a
	// restart guard's "gave up" alert), of stored checks, atomically and
	// durably as Apply does, so that the dispatcher delivers them like any
	// other row, after a restart too. A row whose (FlipID, Channel) exists
	// already is skipped, as in Apply.
	EnqueueNotifications(ctx context.Context, rows []model.Notification) error

	// PolicyStates returns the alert policy's memory of every check that
	// has one (see [PolicyState]), ordered by check id. The policy reads it
	// once at start, before the engine's first flip.
	PolicyStates(ctx context.Context) ([]PolicyState, error)
	// UpdatePolicyState replaces the Dropped and Held marks of
	// s.CheckID's policy state, but only if it is still about s.FlipID
	// (compare-and-set: a newer flip's state is never overwritten by a
	// late decision about an older one); ok is false when it was not, or
	// when the check has none. ErrNotFound if the check does not exist.
	// For decisions taken outside a flip (a held alert released or
	// absorbed when it comes due); a flip writes its state with
	// Update.Policy.
	UpdatePolicyState(ctx context.Context, s PolicyState) (ok bool, err error)
	// InstallationSecret returns the installation's secret: InstallationSecretLen
	// random bytes (crypto/rand) made by the first call on a new store and
	// durably kept with the data, so that every later call, after a
	// restart too, returns the same bytes, and a copy of the store (a
	// backup) carries it. The config derives the ids, and so the ping
	// URLs, of checks that set none from it (docs/pings.md): it must
	// never be logged or shown.
	InstallationSecret(ctx context.Context) ([]byte, error)

	// Close flushes pending writes, releases resources and blocks until
	// the store's goroutines have exited. Later calls return ErrClosed.
	Close() error
}

// RetiredCheck is a check taken out of service by RetireCheck.
type RetiredCheck struct {
	Check model.Check
	// Retired is when it was retired.
	Retired time.Time
}

// Update is one atomic change to one check: everything the engine decided
// on one event. Every field but CheckID and State is optional.
type Update struct {
	// CheckID is the check changed.
	CheckID model.CheckID
	// State is the check's complete new state; it replaces the stored one.
	State model.State
	// Ping is the received ping, appended to the history; the store then
	// keeps only the newest Options.PingRetention pings of the check
	// (by Ping.N). Nil when the event was not a ping.
	Ping *model.Ping
	// Flips are status changes decided on this event, appended.
	Flips []model.Flip
	// Notifications are outbox rows caused by the flips (written
	// in the same transaction as the flip, so no alert is ever lost or
	// invented by a crash between the two). A row whose (FlipID, Channel)
	// exists already is skipped.
	Notifications []model.Notification
	// Uptime are increments added to the daily rollups (Up and Total are
	// added to the stored row of the same check and day).
	Uptime []model.UptimeDay
	// Policy, when not nil, replaces the check's policy state (set by the
	// alert policy when it decides on one of the flips): written in the
	// same transaction as the flip, so that a restart never remembers a
	// flip without what the policy decided about its alert, nor the
	// reverse. Policy.CheckID must be CheckID.
	Policy *PolicyState
	// Fence, when not zero, makes the write a compare-and-set on the
	// check's lease: a store shared by replicas (one that implements
	// Leaser) writes nothing and answers ErrFenced unless the lease is
	// held by Fence.Owner at Fence.Epoch. Stores of one process ignore it.
	Fence Fence
	// CAS makes the write a compare-and-set on the check's state: a store
	// shared by replicas (one that implements Feed) writes only if the
	// stored state's revision is still Rev (the revision the write was
	// decided on, as Feed.GetCheckRev returned it), and then adds one to
	// it; otherwise it writes nothing and answers ErrConflict. Two
	// replicas deciding on one state at once thus never both write: one
	// gets ErrConflict, re-reads and decides again. Stores of one process
	// ignore CAS and Rev. Every written state moves the revision on,
	// whether or not the write was a compare-and-set.
	CAS bool
	Rev int64
	// Notify asks a Feed store to tell every replica listening
	// (Feed.Listen) that the check changed, once the write is committed:
	// the owner of a check learns at once of a write another replica made.
	Notify bool
}

// PolicyState is what the alert policy (policy.Suppression: dependencies,
// maintenance windows, silences) remembers about one check between two of
// its flips: what became of the alert of the check's last flip it decided
// on. It decides on the next flip with it: a recovery is announced only if
// the alert before it was (or will be). One per check; deleted with the
// check.
type PolicyState struct {
	CheckID model.CheckID `json:"check_id"`
	// FlipID is the flip the marks are about.
	FlipID uuid.UUID `json:"flip_id"`
	// Dropped: the flip's alert was dropped, never to be sent: a parent of
	// the check was down (the parent's alert stands for it), or the check
	// changed while the alert was held. The check's recovery is not
	// announced either.
	Dropped bool `json:"dropped,omitempty"`
	// Held: the flip's alert is held back (by a maintenance window, a
	// silence, or while waiting for the check's parents) and not released
	// yet; a recovery before it is released drops both.
	Held bool `json:"held,omitempty"`
}

// PingQuery selects pings, see [Store.Pings].
type PingQuery struct {
	Limit  int
	Before int64
}

// FlipQuery selects flips, see [Store.Flips].
type FlipQuery struct {
	Limit  int
	Before time.Time
}

// NotificationQuery selects outbox rows, see [Store.Notifications].
type NotificationQuery struct {
	// State filters by state; empty means any.
	State model.NotificationState
	// DueBefore, when not zero, keeps rows whose NextAttempt is before it.
	DueBefore time.Time
	// CheckID, when not zero, keeps the rows of one check.
	CheckID model.CheckID
	// Limit caps the rows returned; default 100.
	Limit int
}

// InstallationSecretLen is the length of Store.InstallationSecret.
const InstallationSecretLen = 32

// DefaultLimit is the default page size of the history queries.
const DefaultLimit = 100

// DefaultPingRetention is how many pings per check a store keeps unless
// configured otherwise (healthchecks.io keeps 100 on its free plan).
const DefaultPingRetention = 100

// DefaultRetiredRetention is how long a retired check's history is kept
// (see RetireCheck and PurgeRetired) unless configured otherwise: a week,
// to notice and undo a config change that dropped checks by mistake.
const DefaultRetiredRetention = 7 * 24 * time.Hour
