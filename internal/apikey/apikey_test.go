package apikey

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name, xAPIKey, authorization string
		want                         string
		ok                           bool
	}{
		{"none", "", "", "", false},
		{"X-Api-Key", "k1", "", "k1", true},
		{"X-Api-Key wins", "k1", "Bearer k2", "k1", true},
		{"Bearer", "", "Bearer k2", "k2", true},
		{"bearer", "", "bearer k2", "k2", true},
		{"BeArEr", "", "BeArEr k2", "k2", true},
		{"spaces", "", "  Bearer   k2  ", "k2", true},
		{"empty token", "", "Bearer ", "", false},
		{"no space", "", "Bearerk2", "", false},
		{"Basic", "", "Basic azI=", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			if tc.xAPIKey != "" {
				r.Header.Set("X-Api-Key", tc.xAPIKey)
			}
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			got, ok := FromRequest(r)
			if got != tc.want || ok != tc.ok {
				t.Errorf("FromRequest = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s := NewSet([]Key{{Name: "ro", Secret: "read-only-secret", ReadOnly: true}, {Name: "rw", Secret: "read-write-secret"}, {Name: "empty"}})
	if s.Len() != 2 {
		t.Errorf("Len %d: the empty secret is left out", s.Len())
	}
	for secret, want := range map[string]Access{"read-only-secret": Read, "read-write-secret": Write, "": None, "read-only-secre": None, "read-only-secrett": None} {
		if got, _ := s.Lookup(secret); got != want {
			t.Errorf("Lookup(%q) = %v, want %v", secret, got, want)
		}
	}
	if _, name := s.Lookup("read-write-secret"); name != "rw" {
		t.Errorf("name %q", name)
	}
	// The same secret twice: the highest access wins, whatever the order.
	dup := NewSet([]Key{{Name: "a", Secret: "same-secret-value", ReadOnly: true}, {Name: "b", Secret: "same-secret-value"}, {Name: "c", Secret: "same-secret-value", ReadOnly: true}})
	if a, name := dup.Lookup("same-secret-value"); a != Write || name != "b" {
		t.Errorf("duplicate: %v %q", a, name)
	}
	var none *Set
	if a, _ := none.Lookup("x"); a != None || none.Len() != 0 {
		t.Error("a nil set holds a key")
	}
	if !Write.Allows(Read) || Read.Allows(Write) || Write.Allows(None) || None.Allows(None) {
		t.Error("Allows")
	}
}

// TestAllows: a request is allowed what its key allows, through either
// header, and the Authorizer says the same.
func TestAllows(t *testing.T) {
	s := NewSet([]Key{{Name: "ro", Secret: "read-only-secret", ReadOnly: true}, {Name: "rw", Secret: "read-write-secret"}})
	req := func(h, v string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if h != "" {
			r.Header.Set(h, v)
		}
		return r
	}
	for _, tt := range []struct {
		r           *http.Request
		read, write bool
	}{
		{req("", ""), false, false},
		{req("X-Api-Key", "wrong-secret"), false, false},
		{req("X-Api-Key", "read-only-secret"), true, false},
		{req("Authorization", "bearer read-write-secret"), true, true},
	} {
		if s.Allows(tt.r, Read) != tt.read || s.Allows(tt.r, Write) != tt.write ||
			s.Authorizer(Read)(tt.r) != tt.read || s.Authorizer(Write)(tt.r) != tt.write {
			t.Errorf("%v: want read %v, write %v", tt.r.Header, tt.read, tt.write)
		}
	}
	var none *Set
	if none.Allows(req("X-Api-Key", "read-only-secret"), Read) {
		t.Error("a nil set allows a key")
	}
}

func BenchmarkLookup(b *testing.B) {
	s := NewSet([]Key{{Secret: "read-only-secret", ReadOnly: true}, {Secret: "read-write-secret"}})
	for b.Loop() {
		s.Lookup("read-write-secret")
	}
}
