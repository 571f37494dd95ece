package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/api"
)

// hcClient speaks healthchecks.io's Management API v3 as its Go clients
// do (typed structs with healthchecks.io's field types; a create that
// always sends "channels" and "methods"). No such client is served by the
// module proxy, so this test carries its own, written from the API's
// documentation.
type hcClient struct {
	base, key string
	c         *http.Client
}

type hcCheck struct {
	Channels string   `json:"channels"`
	Desc     string   `json:"desc,omitempty"`
	Grace    int      `json:"grace,omitempty"`
	Methods  string   `json:"methods"`
	Name     string   `json:"name,omitempty"`
	Slug     string   `json:"slug,omitempty"`
	Schedule string   `json:"schedule,omitempty"`
	Tags     string   `json:"tags,omitempty"`
	Timeout  int      `json:"timeout,omitempty"`
	Timezone string   `json:"tz,omitempty"`
	Unique   []string `json:"unique,omitempty"`
}

type hcCheckResponse struct {
	Channels  string `json:"channels"`
	Desc      string `json:"desc"`
	Grace     int    `json:"grace"`
	LastPing  string `json:"last_ping"`
	Methods   string `json:"methods"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	NextPing  string `json:"next_ping"`
	PauseURL  string `json:"pause_url"`
	Pings     int    `json:"n_pings"`
	PingURL   string `json:"ping_url"`
	Schedule  string `json:"schedule"`
	Status    string `json:"status"`
	Started   bool   `json:"started"`
	Tags      string `json:"tags"`
	Timeout   int    `json:"timeout"`
	Timezone  string `json:"tz"`
	UpdateURL string `json:"update_url"`
	UUID      string `json:"uuid"`
}

type hcChannel struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (c *hcClient) call(method, path string, in, out any) (int, error) {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return 0, err
		}
	}
	req, err := http.NewRequest(method, c.base+path, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Api-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, e.Error)
	}
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

func TestHealthchecksClient(t *testing.T) {
	f := channelsFixture(t, api.Options{})
	c := &hcClient{base: f.srv.URL + "/api/v3", key: rwKey, c: f.srv.Client()}

	var chans struct{ Channels []hcChannel }
	if _, err := c.call("GET", "/channels/", nil, &chans); err != nil || len(chans.Channels) != 5 {
		t.Fatalf("channels: %v %v", chans, err)
	}
	spec := hcCheck{Name: "backups", Tags: "prod www", Timeout: 3600, Grace: 60, Channels: "mail,hook", Unique: []string{"name"}}
	var created hcCheckResponse
	code, err := c.call("POST", "/checks/", spec, &created)
	if err != nil || code != 201 || created.Tags != "prod www" || created.Timeout != 3600 || created.Grace != 60 ||
		created.Channels != chMail.ID.String()+","+chHook.ID.String() && created.Channels != chHook.ID.String()+","+chMail.ID.String() {
		t.Fatalf("create: %d %+v %v", code, created, err)
	}
	spec.Desc = "nightly"
	var again hcCheckResponse
	if code, err := c.call("POST", "/checks/", spec, &again); err != nil || code != 200 || again.UUID != created.UUID || again.Desc != "nightly" {
		t.Fatalf("create again (unique): %d %+v %v", code, again, err)
	}
	var list struct{ Checks []hcCheckResponse }
	if _, err := c.call("GET", "/checks/?tag=prod", nil, &list); err != nil || len(list.Checks) != 1 || list.Checks[0].UUID != created.UUID {
		t.Fatalf("list: %+v %v", list, err)
	}
	var updated hcCheckResponse
	if _, err := c.call("POST", "/checks/"+created.UUID, hcCheck{Schedule: "15 5 * * *", Timezone: "Europe/Riga", Channels: ""}, &updated); err != nil ||
		updated.Schedule != "15 5 * * *" || updated.Timezone != "Europe/Riga" || updated.Channels != "" {
		t.Fatalf("update: %+v %v", updated, err)
	}
	var paused, resumed, deleted hcCheckResponse
	if _, err := c.call("POST", "/checks/"+created.UUID+"/pause", nil, &paused); err != nil || paused.Status != "paused" {
		t.Fatalf("pause: %+v %v", paused, err)
	}
	if _, err := c.call("POST", "/checks/"+created.UUID+"/resume", nil, &resumed); err != nil || resumed.Status != "new" {
		t.Fatalf("resume: %+v %v", resumed, err)
	}
	if _, err := c.call("DELETE", "/checks/"+created.UUID, nil, &deleted); err != nil || deleted.UUID != created.UUID {
		t.Fatalf("delete: %+v %v", deleted, err)
	}
	if code, err := c.call("GET", "/checks/"+created.UUID, nil, nil); code != 404 || !strings.Contains(err.Error(), "check not found") {
		t.Fatalf("get after delete: %d %v", code, err)
	}
}
