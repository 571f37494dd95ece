package cluster

import "github.com/vitals-go/vitals/internal/model"

// Preferred returns the replica of ids that check id prefers: the one
// with the highest rendezvous score (highest random weight hashing).
// Every replica computes the same answer from the same list, whatever its
// order; when a replica leaves, only its checks move (each to the next in
// its own order), and a replica that joins takes about 1/N of the checks
// from each of the others. "" if ids is empty.
func Preferred(id model.CheckID, ids []string) string {
	best, bestScore := "", uint64(0)
	for _, r := range ids {
		if s := score(id, r); best == "" || s > bestScore || s == bestScore && r > best {
			best, bestScore = r, s
		}
	}
	return best
}

// score is the rendezvous weight of (check, replica): FNV-1a over both,
// finished by splitmix64's mixer so that close inputs spread.
func score(id model.CheckID, replica string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, b := range id {
		h = (h ^ uint64(b)) * prime
	}
	h = (h ^ 0xff) * prime // separator
	for i := 0; i < len(replica); i++ {
		h = (h ^ uint64(replica[i])) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
