package daemon

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/apikey"
)

// TestKeysAgreeAcrossEntryPoints sends the same table of requests to every
// place of a real daemon that checks an API key (the JSON API, POST
// /-/reload, the status page and /readyz?verbose) and expects each to
// grant the same access: the key is read one way (X-Api-Key, or
// Authorization: Bearer with the scheme in any case) and checked one way
// (hashed, constant-time) everywhere.
func TestKeysAgreeAcrossEntryPoints(t *testing.T) {
	h := start(t, "  - {name: a, period: 1h}\n")
	type header struct{ name, value string }
	requests := []struct {
		name    string
		headers []header
		want    apikey.Access
	}{
		{"no key", nil, apikey.None},
		{"X-Api-Key read-only", []header{{"X-Api-Key", roKey}}, apikey.Read},
		{"X-Api-Key read-write", []header{{"X-Api-Key", rwKey}}, apikey.Write},
		{"Bearer read-write", []header{{"Authorization", "Bearer " + rwKey}}, apikey.Write},
		{"bearer in lower case", []header{{"Authorization", "bearer " + rwKey}}, apikey.Write},
		{"BEARER in upper case", []header{{"Authorization", "BEARER " + roKey}}, apikey.Read},
		{"Bearer with extra spaces", []header{{"Authorization", "Bearer   " + rwKey + " "}}, apikey.Write},
		{"empty X-Api-Key falls back to Bearer", []header{{"X-Api-Key", ""}, {"Authorization", "Bearer " + roKey}}, apikey.Read},
		{"wrong key", []header{{"X-Api-Key", "wrong-key-0123456789abcdef"}}, apikey.None},
		{"a prefix of the key", []header{{"X-Api-Key", rwKey[:len(rwKey)-1]}}, apikey.None},
		{"the key and more", []header{{"X-Api-Key", rwKey + "x"}}, apikey.None},
		{"another scheme", []header{{"Authorization", "Token " + rwKey}}, apikey.None},
		{"Bearer without a key", []header{{"Authorization", "Bearer "}}, apikey.None},
	}
	// Each entry point: the request to send and how to read the access
	// it granted from the answer (up to the highest level it checks).
	entries := []struct {
		name   string
		method string
		path   string
		body   string
		max    apikey.Access
		read   func(code int, body string) apikey.Access
	}{
		{"API read", "GET", "/api/v1/checks", "", apikey.Read, func(code int, _ string) apikey.Access {
			return map[int]apikey.Access{200: apikey.Read, 401: apikey.None}[code]
		}},
		{"API write", "POST", "/api/v1/checks", `{"name": ""}`, apikey.Write, func(code int, body string) apikey.Access {
			// 400: the empty name was refused after the key was accepted;
			// a read-only key is a 401 as in healthchecks.io, which says so.
			if code == 401 && strings.Contains(body, "read-only API key") {
				return apikey.Read
			}
			return map[int]apikey.Access{400: apikey.Write, 401: apikey.None}[code]
		}},
		{"reload", "POST", "/-/reload", "", apikey.Write, func(code int, _ string) apikey.Access {
			return map[int]apikey.Access{200: apikey.Write, 403: apikey.Read, 401: apikey.None}[code]
		}},
		{"status page", "GET", "/status/", "", apikey.Read, func(code int, _ string) apikey.Access {
			return map[int]apikey.Access{200: apikey.Read, 401: apikey.None}[code]
		}},
		{"readyz verbose", "GET", "/readyz?verbose", "", apikey.Read, func(code int, body string) apikey.Access {
			if code == 200 && strings.Contains(body, `"checks"`) {
				return apikey.Read
			}
			return apikey.None
		}},
	}
	for _, e := range entries {
		for _, rq := range requests {
			t.Run(e.name+"/"+rq.name, func(t *testing.T) {
				req, err := http.NewRequest(e.method, h.base+e.path, strings.NewReader(e.body))
				if err != nil {
					t.Fatal(err)
				}
				if e.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				for _, hd := range rq.headers {
					req.Header.Set(hd.name, hd.value)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got := e.read(resp.StatusCode, string(b))
				if want := min(rq.want, e.max); got != want {
					t.Errorf("granted %v, want %v (answer %d %s)", got, want, resp.StatusCode, clipBody(b))
				}
			})
		}
	}
}

func clipBody(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%s…", b[:200])
	}
	return string(b)
}
