package store

import (
	"context"
	"errors"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// ErrFenced: an Apply whose Fence is not the check's current lease (its
// epoch moved on, or the lease is held by another replica or by none). A
// fenced write changed nothing: no state, ping, flip, outbox row, uptime
// or policy state. The writer has lost the check and must stop acting on
// it (docs/ha-ownership.md).
var ErrFenced = errors.New("fenced: the lease of the check is not held with this epoch")

// Fence is the fencing token of a write: the lease its writer holds on the
// check (Owner, the replica's id, and Epoch, the lease's generation, which
// grows by one at every change of owner). The zero Fence is an unfenced
// write: what a single process writes, and what a store without leases
// (SQLite, memstore) ignores.
type Fence struct {
	Owner string
	Epoch int64
}

// IsZero reports whether f is the unfenced write's.
func (f Fence) IsZero() bool { return f.Epoch == 0 && f.Owner == "" }

// Lease is one check's lease row: held by Owner ("" when released or
// never claimed) until Expires, at generation Epoch.
type Lease struct {
	CheckID model.CheckID
	Owner   string
	Epoch   int64
	Expires time.Time
}

// Fence returns the fencing token of l.
func (l Lease) Fence() Fence { return Fence{Owner: l.Owner, Epoch: l.Epoch} }

// Replica is one watchdog process sharing the store: its id, the address
// other replicas may forward to, and until when its last heartbeat keeps
// it live.
type Replica struct {
	ID        string
	Address   string
	Heartbeat time.Time
	Expires   time.Time
}

// Leaser is what a store shared by several replicas adds (store/postgres
// implements it): the replicas' heartbeats and the checks' leases. Every
// method is one statement, so that a replica's cost does not grow with
// its checks. Times are the caller's clock (the replicas' clocks are
// assumed to agree to well within the lease TTL, as NTP keeps them); the
// store compares them, it never reads its own. Safe for concurrent use.
//
// The rules (docs/ha-ownership.md): a check gets a lease row when it is
// created, free (Owner "") and expired at once; Claim takes free or
// expired leases, adding one to their epoch; only the owner renews
// (Renew) or releases; a write fenced with an older epoch, or an epoch
// whose lease was released, is refused with ErrFenced.
type Leaser interface {
	// Renew records r's heartbeat (live until r.Expires) and extends to
	// r.Expires every lease r.ID holds on a live (not retired) check, in
	// one statement. It returns the leases r.ID holds after it, ordered by
	// check id, and the other replicas live at r.Heartbeat.
	Renew(ctx context.Context, r Replica) (held []Lease, others []Replica, err error)
	// Unowned returns up to limit leases of live checks that may be
	// claimed at now (released, never claimed, or expired), oldest expiry
	// first.
	Unowned(ctx context.Context, now time.Time, limit int) ([]Lease, error)
	// Claim takes for owner, until expires, the leases of ids that are
	// still free at now, each with its epoch plus one, and returns the
	// leases it took (a lease another replica claimed or renewed meanwhile
	// is left out). It waits for writes in flight under the old epoch,
	// so that a state read after Claim returns sees all of them.
	Claim(ctx context.Context, owner string, ids []model.CheckID, now, expires time.Time) ([]Lease, error)
	// Release gives up owner's leases of ids at now (the epoch is kept;
	// the lease is free and expired from now): the next Claim takes them.
	Release(ctx context.Context, owner string, ids []model.CheckID, now time.Time) error
	// Leave releases every lease of owner at now and removes its replica
	// row: a clean shutdown, so that its checks are taken over at once.
	Leave(ctx context.Context, owner string, now time.Time) error
}
