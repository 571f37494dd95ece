package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// hashedKey is a configured key, kept as its SHA-256 so that every
// comparison is between equal-length values.
type hashedKey struct {
	sum      [sha256.Size]byte
	name     string
	readOnly bool
}

func hashKey(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// access is what a request's key allows.
type access int

const (
	accessNone access = iota
	accessRead
	accessWrite
)

// presentedKey returns the key a request carries: X-Api-Key, else
// Authorization: Bearer.
func presentedKey(r *http.Request) (string, bool) {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k, true
	}
	a := r.Header.Get("Authorization")
	if len(a) > len("Bearer ") && strings.EqualFold(a[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(a[len("Bearer "):]), true
	}
	return "", false
}

// authenticate returns what the presented key allows. The presented key is
// hashed and compared with every configured key's hash in constant time,
// without stopping at a match, so neither the time nor the order of the
// keys tells which key matched or how long the keys are.
func (h *Handler) authenticate(secret string) (access, string) {
	sum := hashKey(secret)
	got, name := accessNone, ""
	for i := range h.keys {
		k := &h.keys[i]
		eq := subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1
		if eq && got != accessWrite {
			name = k.name
			if k.readOnly {
				got = accessRead
			} else {
				got = accessWrite
			}
		}
	}
	return got, name
}
