// Package hcimporttest serves healthchecks.io's Management API v3 from
// memory, over a real loopback listener, for the tests of the importer:
// seeded with the answers of healthchecks.io's documentation, it stands in
// for hosted healthchecks.io as a source, and for a compatible destination
// (with Vitals' "uuid" on create, and 409 to updates of checks it owns).
// Only tests import it.
package hcimporttest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/model"
)

// Server is the API at URL (the site's root). Its methods are safe for
// concurrent use.
type Server struct {
	URL string
	// Key is the read-write key, ReadOnlyKey the read-only one.
	Key, ReadOnlyKey string

	// mu guards the fields below.
	mu       sync.Mutex
	checks   []hcimport.Check
	channels []hcimport.Channel
	owned    map[model.CheckID]bool
	faults   []fault
	writes   []string
	requests int
}

type fault struct {
	status     int
	retryAfter string
}

// New starts a server with no checks and no channels, closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{Key: "rw-hcimporttest-0123456789", ReadOnlyKey: "ro-hcimporttest-0123456789", owned: map[model.CheckID]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SeedFiles adds the checks and channels of two answers of the API
// ({"checks": [...]} and {"channels": [...]}), such as testdata files.
func (s *Server) SeedFiles(t testing.TB, checksFile, channelsFile string) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	checks, err := hcimport.DecodeChecks(read(checksFile))
	if err != nil {
		t.Fatalf("%s: %v", checksFile, err)
	}
	channels, err := hcimport.DecodeChannels(read(channelsFile))
	if err != nil {
		t.Fatalf("%s: %v", channelsFile, err)
	}
	s.Seed(checks, channels)
}

// Seed adds checks and channels.
func (s *Server) Seed(checks []hcimport.Check, channels []hcimport.Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, checks...)
	s.channels = append(s.channels, channels...)
}

// Own makes updates of check id answer 409, as Vitals does for a check
// its config file owns.
func (s *Server) Own(id model.CheckID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owned[id] = true
}

// Fail makes the next n requests answer status, with Retry-After
// retryAfter unless it is "".
func (s *Server) Fail(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status, retryAfter})
	}
}

// Checks returns the checks, in order of creation.
func (s *Server) Checks() []hcimport.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checks)
}

// Writes returns the writes served, one line each: "create <name>",
// "update <name>: <fields, sorted>", "pause <name>", "resume <name>".
func (s *Server) Writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Requests returns how many requests were served (faults included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		answer(w, f.status, map[string]string{"error": "injected fault"})
		return
	}
	readonly := false
	switch r.Header.Get("X-Api-Key") {
	case s.Key:
	case s.ReadOnlyKey:
		readonly = true
	default:
		answer(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid API key"})
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v3/")
	if !ok {
		answer(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	if readonly && r.Method != http.MethodGet {
		answer(w, http.StatusUnauthorized, map[string]string{"error": "API key is read-only"})
		return
	}
	switch {
	case path == "checks/" && r.Method == http.MethodGet:
		list := make([]any, len(s.checks)) // [] when empty, as healthchecks.io
		for i, c := range s.checks {
			list[i] = show(c, readonly)
		}
		answer(w, http.StatusOK, map[string]any{"checks": list})
	case path == "channels/" && r.Method == http.MethodGet:
		answer(w, http.StatusOK, map[string]any{"channels": append([]hcimport.Channel{}, s.channels...)})
	case path == "checks/" && r.Method == http.MethodPost:
		s.create(w, r)
	case strings.HasPrefix(path, "checks/") && r.Method == http.MethodPost:
		s.change(w, r, strings.TrimPrefix(path, "checks/"))
	default:
		answer(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

// show is a check as the API shows it: to a read-only key without its
// UUID and channels, with its unique_key.
func show(c hcimport.Check, readonly bool) map[string]any {
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if readonly {
		delete(m, "uuid")
		delete(m, "channels")
		m["unique_key"] = c.UUID.UniqueKey()
	}
	return m
}

func (s *Server) find(id model.CheckID) int {
	return slices.IndexFunc(s.checks, func(c hcimport.Check) bool { return c.UUID == id })
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	body, ok := decode(w, r)
	if !ok {
		return
	}
	var id model.CheckID
	if err := json.Unmarshal(body["uuid"], &id); err != nil || id.IsZero() {
		answer(w, http.StatusBadRequest, map[string]string{"error": "uuid: want a UUID"})
		return
	}
	if s.find(id) >= 0 {
		answer(w, http.StatusConflict, map[string]string{"error": "a check with this uuid exists"})
		return
	}
	c := hcimport.Check{UUID: id, Status: "new", Grace: 3600, Timeout: 86400}
	if errMsg := s.apply(&c, body); errMsg != "" {
		answer(w, http.StatusBadRequest, map[string]string{"error": errMsg})
		return
	}
	s.checks = append(s.checks, c)
	s.writes = append(s.writes, "create "+c.Name)
	answer(w, http.StatusCreated, show(c, false))
}

func (s *Server) change(w http.ResponseWriter, r *http.Request, rest string) {
	idText, verb, _ := strings.Cut(rest, "/")
	id, err := model.ParseCheckID(idText)
	i := s.find(id)
	if err != nil || i < 0 {
		answer(w, http.StatusNotFound, map[string]string{"error": "check not found"})
		return
	}
	c := &s.checks[i]
	switch verb {
	case "pause":
		c.Status = "paused"
		s.writes = append(s.writes, "pause "+c.Name)
	case "resume":
		c.Status = "new"
		s.writes = append(s.writes, "resume "+c.Name)
	case "":
		body, ok := decode(w, r)
		if !ok {
			return
		}
		if s.owned[id] {
			answer(w, http.StatusConflict, map[string]string{"error": "this check is defined in the config file " + id.Secret()})
			return
		}
		next := *c
		if errMsg := s.apply(&next, body); errMsg != "" {
			answer(w, http.StatusBadRequest, map[string]string{"error": errMsg})
			return
		}
		delete(body, "api_key")
		fields := make([]string, 0, len(body))
		for k := range body {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		s.writes = append(s.writes, "update "+c.Name+": "+strings.Join(fields, ", "))
		*c = next
	default:
		answer(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	answer(w, http.StatusOK, show(*c, false))
}

// apply sets the fields of body on c, as healthchecks.io's _update does.
func (s *Server) apply(c *hcimport.Check, body map[string]json.RawMessage) string {
	set := func(field string, dst any) bool {
		raw, ok := body[field]
		if !ok {
			return false
		}
		return json.Unmarshal(raw, dst) == nil
	}
	for field, dst := range map[string]any{
		"name": &c.Name, "slug": &c.Slug, "tags": &c.Tags, "desc": &c.Desc, "grace": &c.Grace,
		"manual_resume": &c.ManualResume, "methods": &c.Methods, "start_kw": &c.StartKW,
		"success_kw": &c.SuccessKW, "failure_kw": &c.FailureKW, "filter_subject": &c.FilterSubject,
		"filter_body": &c.FilterBody, "filter_http_body": &c.FilterHTTPBody, "filter_default_fail": &c.FilterDefaultFail,
	} {
		if _, ok := body[field]; ok && !set(field, dst) {
			return field + ": wrong type"
		}
	}
	var schedule, tz string
	var timeout hcimport.Seconds
	if set("schedule", &schedule) && schedule != "" {
		c.Schedule, c.Timeout = schedule, 0
		if c.TZ == "" {
			c.TZ = "UTC"
		}
	} else if set("timeout", &timeout) {
		c.Timeout, c.Schedule, c.TZ = timeout, "", ""
	}
	if set("tz", &tz) && c.Schedule != "" {
		c.TZ = tz
	}
	var spec string
	if set("channels", &spec) {
		var ids []string
		for _, e := range strings.Split(spec, ",") {
			if e == "" {
				continue
			}
			j := slices.IndexFunc(s.channels, func(ch hcimport.Channel) bool { return ch.ID == e || ch.Name == e })
			if j < 0 {
				return "invalid channel identifier: " + e
			}
			ids = append(ids, s.channels[j].ID)
		}
		c.Channels = strings.Join(ids, ",")
	}
	return ""
}

func decode(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil || body == nil {
		answer(w, http.StatusBadRequest, map[string]string{"error": "could not parse request body"})
		return nil, false
	}
	return body, true
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
