package api

import (
	"sync"

	"github.com/vitals-go/vitals/internal/model"
)

// uniqueKey returns the check's unique_key (see model.UniqueKey).
func uniqueKey(id model.CheckID) string { return model.UniqueKey(id) }

// keyIndex caches unique keys both ways, so that listing does not hash
// every check on every request and a unique_key is found without a scan.
// It is rebuilt from the engine's list when a lookup misses (which also
// drops deleted checks). Safe for concurrent use.
type keyIndex struct {
	mu    sync.Mutex
	byID  map[model.CheckID]string
	byKey map[string]model.CheckID
}

// key returns id's unique key.
func (x *keyIndex) key(id model.CheckID) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if k, ok := x.byID[id]; ok {
		return k
	}
	k := uniqueKey(id)
	x.addLocked(id, k)
	return k
}

func (x *keyIndex) addLocked(id model.CheckID, k string) {
	if x.byID == nil {
		x.byID = make(map[model.CheckID]string)
		x.byKey = make(map[string]model.CheckID)
	}
	x.byID[id] = k
	x.byKey[k] = id
}

// lookup returns the id whose unique key is k, rebuilding the index from
// ids() once when k is unknown.
func (x *keyIndex) lookup(k string, ids func() []model.CheckID) (model.CheckID, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if id, ok := x.byKey[k]; ok {
		return id, true
	}
	old := x.byID
	x.byID, x.byKey = nil, nil
	for _, id := range ids() {
		uk, ok := old[id]
		if !ok {
			uk = uniqueKey(id)
		}
		x.addLocked(id, uk)
	}
	id, ok := x.byKey[k]
	return id, ok
}
