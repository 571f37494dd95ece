package metrics

import (
	"crypto/sha1"
	"encoding/hex"
	"sync"

	"github.com/google/uuid"
)

// UniqueKey returns a check's unique_key: the hex SHA-1 of its UUID's
// canonical string, as healthchecks.io computes it (and the JSON API shows
// to read-only keys). The UUID itself is the check's ping secret.
func UniqueKey(id uuid.UUID) string {
	sum := sha1.Sum([]byte(id.String()))
	return hex.EncodeToString(sum[:])
}

// keyCache memoises UniqueKey across scrapes. Entries not seen during a
// scrape are dropped at its end, so deleted checks do not accumulate.
// Scrapes using it are serialised (begin locks, end unlocks).
type keyCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[uuid.UUID]cachedKey
}

type cachedKey struct {
	key string
	gen uint64
}

func (k *keyCache) begin() {
	k.mu.Lock()
	k.gen++
	if k.m == nil {
		k.m = make(map[uuid.UUID]cachedKey)
	}
}

// getLocked returns id's unique key, between begin and end.
func (k *keyCache) getLocked(id uuid.UUID) string {
	e, ok := k.m[id]
	if !ok {
		e.key = UniqueKey(id)
	}
	if e.gen != k.gen {
		e.gen = k.gen
		k.m[id] = e
	}
	return e.key
}

func (k *keyCache) end() {
	for id, e := range k.m {
		if e.gen != k.gen {
			delete(k.m, id)
		}
	}
	k.mu.Unlock()
}
