// Package apikey checks the API keys that requests present. It is the one
// implementation behind every place the watchdog checks a key: the JSON
// API, POST /-/reload, the status page and the details of the health
// endpoints (?verbose), so that they all accept the same requests.
//
// A request presents its key in the X-Api-Key header or as
// "Authorization: Bearer <key>" (the scheme in any case, RFC 9110
// §11.1). Configured keys are kept as SHA-256 sums, and a presented key is
// hashed and compared with every one of them in constant time, without
// stopping at a match: neither the time an answer takes nor the order of
// the keys tells which key matched, or how long the keys are.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Key is one configured key.
type Key struct {
	// Name identifies the key in logs (never the secret). Optional.
	Name string
	// Secret is the key's value. An empty secret is ignored: it matches
	// nothing.
	Secret string
	// ReadOnly keys allow Read; the others allow Write.
	ReadOnly bool
}

// Access is what a key allows. The levels are ordered: Write includes
// Read.
type Access int

// Access levels.
const (
	// None: no key, or one that is not configured.
	None Access = iota
	// Read: a read-only key.
	Read
	// Write: a read-write key.
	Write
)

// Allows reports whether a grants need (None is never granted).
func (a Access) Allows(need Access) bool { return need > None && a >= need }

// String returns "none", "read-only" or "read-write".
func (a Access) String() string {
	switch a {
	case Read:
		return "read-only"
	case Write:
		return "read-write"
	}
	return "none"
}

type hashed struct {
	sum    [sha256.Size]byte
	name   string
	access Access
}

// Set is an immutable set of keys, safe for concurrent use. A nil *Set
// holds no key.
type Set struct {
	keys []hashed
}

// NewSet returns the set of keys (those with an empty Secret left out).
func NewSet(keys []Key) *Set {
	s := &Set{keys: make([]hashed, 0, len(keys))}
	for _, k := range keys {
		if k.Secret == "" {
			continue
		}
		a := Write
		if k.ReadOnly {
			a = Read
		}
		s.keys = append(s.keys, hashed{sum: sha256.Sum256([]byte(k.Secret)), name: k.Name, access: a})
	}
	return s
}

// Len returns the number of keys in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Lookup returns what secret allows and the name of its key (None and ""
// when it is not in s). When several keys have the same secret, the
// highest access wins. The time taken depends only on the number of keys.
func (s *Set) Lookup(secret string) (Access, string) {
	if s == nil || secret == "" {
		return None, ""
	}
	sum := sha256.Sum256([]byte(secret))
	got, name := None, ""
	for i := range s.keys { // no early exit, see the package doc
		k := &s.keys[i]
		if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 && k.access > got {
			got, name = k.access, k.name
		}
	}
	return got, name
}

// Check returns what the key r presents allows, and the key's name.
func (s *Set) Check(r *http.Request) (Access, string) {
	secret, ok := FromRequest(r)
	if !ok {
		return None, ""
	}
	return s.Lookup(secret)
}

// Allows reports whether r presents a key of s that allows need.
func (s *Set) Allows(r *http.Request, need Access) bool {
	a, _ := s.Check(r)
	return a.Allows(need)
}

// Authorizer returns a func reporting whether a request presents a key of
// s that allows need, for health.Options.Authorize and
// statuspage.Options.Authorize.
func (s *Set) Authorizer(need Access) func(*http.Request) bool {
	return func(r *http.Request) bool { return s.Allows(r, need) }
}

// FromRequest returns the key r presents: the X-Api-Key header when it is
// not empty, else the credentials of "Authorization: Bearer <key>" (the
// scheme matched in any case, the key trimmed of spaces). ok is false when
// r presents none.
func FromRequest(r *http.Request) (key string, ok bool) {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k, true
	}
	return Bearer(r)
}

// Bearer returns the credentials of r's "Authorization: Bearer <token>"
// header, the scheme matched in any case; ok is false without one.
func Bearer(r *http.Request) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}
