package postgres

import (
	"fmt"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// fenceCTE is the head of applySQL: the checks a batch may write. $1 are
// the batch's distinct checks; $42, $43 and $44 their fences (owner,
// epoch, and whether the write is fenced at all). fenced locks the lease
// rows the batch's fenced writes hold, in check order (as every statement
// locking several lease rows does, so that none deadlocks another), FOR
// SHARE until the commit: a Claim's FOR UPDATE waits for the batch, and a
// batch that comes after a Claim re-reads the lease row and finds the new
// epoch (READ COMMITTED re-checks a locked row's condition on its newest
// version). live is the checks not retired whose write is unfenced or
// fenced with the current lease.
const fenceCTE = `fence AS (
	SELECT * FROM unnest($1::uuid[], $42::text[], $43::int8[], $44::bool[]) AS f(id, owner, epoch, fenced)
), fenced AS (
	SELECT l.check_id FROM leases l JOIN fence f ON l.check_id = f.id
	WHERE f.fenced AND l.owner = f.owner AND l.epoch = f.epoch
	ORDER BY l.check_id
	FOR SHARE OF l
), live AS (
	SELECT c.id FROM checks c JOIN fence f ON c.id = f.id
	WHERE c.retired IS NULL AND (NOT f.fenced OR c.id IN (SELECT check_id FROM fenced))
)`

// fenceResult ends applySQL: every live check of the batch, with whether
// its fence held and whether the batch wrote it (fence held, not written:
// its compare-and-set failed).
const fenceResult = `SELECT c.id, c.id IN (SELECT id FROM live), c.id IN (SELECT id FROM st)
	FROM checks c WHERE c.id = ANY($1::uuid[]) AND c.retired IS NULL`

// fences are the fence columns of applySQL, one row per check of the
// batch.
type fences struct {
	fOwner []string
	fEpoch []int64
	fOn    []bool
}

func (f *fences) add(fc store.Fence) {
	f.fOwner, f.fEpoch, f.fOn = append(f.fOwner, txt(fc.Owner)), append(f.fEpoch, fc.Epoch), append(f.fOn, !fc.IsZero())
}

// set replaces the fence of row i: the last write of a check in a batch
// decides (the engine never has two writes of one check in flight).
func (f *fences) set(i int, fc store.Fence) {
	f.fOwner[i], f.fEpoch[i], f.fOn[i] = txt(fc.Owner), fc.Epoch, !fc.IsZero()
}

// fenced is the answer to a write whose fence did not hold.
func fenced(id model.CheckID, f store.Fence) error {
	// The id is the ping secret: errors name the check by its unique key.
	return fmt.Errorf("check %s: write at epoch %d of %q: %w", model.UniqueKey(id), f.Epoch, f.Owner, store.ErrFenced)
}
