package store

import (
	"context"
	"errors"

	"github.com/vitals-go/vitals/internal/model"
)

// ErrConflict: an Apply with Update.CAS whose Rev is no longer the
// stored state's revision (another replica wrote the check since it was
// read). Nothing was written; the writer re-reads the check and decides
// again (docs/ha-ownership.md).
var ErrConflict = errors.New("conflict: the check's state changed since it was read")

// Feed is what a store shared by several replicas adds (store/postgres
// implements it) so that a write made on any replica is neither lost nor
// doubled by a concurrent write on another, and reaches the check's owner
// at once: revisions of the checks' states (compare-and-set writes, see
// Update.CAS) and notifications of changes. Safe for concurrent use.
type Feed interface {
	// GetCheckRev is GetCheck with the revision of the state returned,
	// for a later Update with CAS.
	GetCheckRev(ctx context.Context, id model.CheckID) (model.Check, model.State, int64, error)
	// Revisions returns the revision of every live check's state, in one
	// statement: the fallback poll that finds the changes whose
	// notification was lost.
	Revisions(ctx context.Context) (map[model.CheckID]int64, error)
	// Listen calls fn with the ids of the checks written with
	// Update.Notify by any replica (this one included), after each such
	// write commits, until ctx ends; then it returns ctx's error. It keeps
	// a connection of its own, reconnecting with backoff when it is lost;
	// after each (re)connection it calls fn with nil: notifications may
	// have been missed meanwhile, the caller catches up (Revisions). fn is
	// called from one goroutine, one call at a time.
	Listen(ctx context.Context, fn func(ids []model.CheckID)) error
}
