package api_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

func TestSilences(t *testing.T) {
	sup := policy.NewSuppression(func(model.CheckID) (string, model.Status, bool) { return "", "", false }, 0)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	book, err := policy.NewSilences(context.Background(), st, sup, policy.SilencesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, api.Options{Silences: book})
	c := f.create(t, `{"name":"db backup","timeout":3600,"grace":60}`)
	uk := c["unique_key"].(string)

	// Create with a duration, naming the check by its unique key.
	r := f.do(t, "POST", "/api/v1/silences", rwKey, `{"name":"db upgrade","checks":["`+uk+`"],"duration":3600,"reason":"pg 17"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	s := r.json(t)
	id := s["id"].(string)
	if s["active"] != true || s["created_by"] != "ops" || s["reason"] != "pg 17" {
		t.Errorf("created %v", s)
	}
	if checks := s["checks"].([]any); len(checks) != 1 || checks[0] != uk {
		t.Errorf("checks %v, want the unique key (never the UUID)", checks)
	}
	if strings.Contains(r.body, c["uuid"].(string)) {
		t.Errorf("the answer carries the check's UUID: %s", r.body)
	}

	// Read-only keys list, but cannot write.
	r = f.do(t, "GET", "/api/v1/silences", roKey, "")
	if r.code != 200 || !strings.Contains(r.body, id) {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	if r = f.do(t, "POST", "/api/v1/silences", roKey, `{"duration":60}`); r.code != http.StatusUnauthorized {
		t.Errorf("read-only create: %d %s", r.code, r.body)
	}

	// Kept in the store: a new book over it (a replica) has it.
	book2, err := policy.NewSilences(context.Background(), st, sup, policy.SilencesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := book2.List(context.Background()); err != nil || len(l) != 1 || l[0].ID.String() != id {
		t.Fatalf("another book: %v %v", l, err)
	}

	// Bad input, each with its reason.
	for _, tc := range []struct{ body, want string }{
		{`{"checks":["nope"],"duration":60}`, `checks[0]: no check \"nope\"`},
		{`{"duration":60,"end":"2030-01-01T00:00:00Z"}`, `end and duration: set one or the other`},
		{`{"name":"x"}`, `end or duration: required`},
		{`{"duration":-5}`, `duration: must be between 1 second and a year, in seconds`},
		{`{"end":"2001-01-01T00:00:00Z"}`, `end: must be after start`},
		{`{"start":"2000-01-01T00:00:00Z","end":"2001-01-01T00:00:00Z"}`, `end: must be in the future`},
		{`{"duration":60,"color":"red"}`, `unknown field`},
	} {
		r := f.do(t, "POST", "/api/v1/silences", rwKey, tc.body)
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("POST %s: %d %s, want 400 with %q", tc.body, r.code, r.body, tc.want)
		}
	}

	// Delete, then it is gone.
	if r = f.do(t, "DELETE", "/api/v1/silences/"+id, rwKey, ""); r.code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if r = f.do(t, "DELETE", "/api/v1/silences/"+id, rwKey, ""); r.code != http.StatusNotFound {
		t.Errorf("second delete: %d %s", r.code, r.body)
	}
	if r = f.do(t, "GET", "/api/v1/silences", rwKey, ""); r.body != `{"silences":[]}`+"\n" {
		t.Errorf("after delete: %s", r.body)
	}

	// The store failing is the server's trouble (503), never a 400.
	st.Close()
	if r = f.do(t, "POST", "/api/v1/silences", rwKey, `{"duration":60}`); r.code != http.StatusServiceUnavailable {
		t.Errorf("create, store closed: %d %s", r.code, r.body)
	}
	if r = f.do(t, "GET", "/api/v1/silences", rwKey, ""); r.code != http.StatusServiceUnavailable {
		t.Errorf("list, store closed: %d %s", r.code, r.body)
	}
}

// Without a silence book the endpoints do not exist.
func TestSilencesDisabled(t *testing.T) {
	f := newFixture(t, api.Options{})
	if r := f.do(t, "GET", "/api/v1/silences", rwKey, ""); r.code != http.StatusNotFound {
		t.Errorf("GET /silences without a book: %d %s", r.code, r.body)
	}
}
