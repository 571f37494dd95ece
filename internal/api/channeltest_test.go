package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
)

// POST /channels/{id}/test: a read-write key tests a channel by id or
// name; the outcome maps to 200, 502 or 409, one test at a time.
func TestChannelTest(t *testing.T) {
	chans := []model.Channel{
		{ID: uuid.MustParse("5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59"), Name: "ops", Kind: "webhook"},
		{ID: uuid.MustParse("6d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59"), Name: "broken", Kind: "url"},
		{ID: uuid.MustParse("7d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59"), Name: "restart-api", Kind: "docker"},
	}
	entered, release := make(chan struct{}), make(chan struct{})
	f := newFixture(t, api.Options{
		Channels: func() []model.Channel { return chans },
		TestChannel: func(ctx context.Context, name string) api.ChannelTest {
			switch name {
			case "ops":
				return api.ChannelTest{Sent: true, Answers: []string{"POST http://127.0.0.1:1: 200 OK"}}
			case "broken":
				entered <- struct{}{}
				<-release
				return api.ChannelTest{Error: "generic: 503 Service Unavailable"}
			default:
				return api.ChannelTest{Refused: true, Error: "not sent: it restarts the container api"}
			}
		},
	})
	r := f.do(t, "POST", "/api/v3/channels/5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59/test", rwKey, "")
	if r.code != http.StatusOK || !strings.Contains(r.body, `"sent":true`) || !strings.Contains(r.body, `"answers":["POST http://127.0.0.1:1: 200 OK"]`) {
		t.Errorf("ops: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", "/api/v3/channels/restart-api/test", rwKey, ""); r.code != http.StatusConflict || !strings.Contains(r.body, "restarts the container") {
		t.Errorf("restart-api: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", "/api/v3/channels/ops/test", roKey, ""); r.code != http.StatusUnauthorized {
		t.Errorf("read-only key: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", "/api/v3/channels/nope/test", rwKey, ""); r.code != http.StatusNotFound {
		t.Errorf("unknown channel: %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/v3/channels/ops/test", rwKey, ""); r.code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", r.code, r.body)
	}
	done := make(chan reply, 1)
	go func() { done <- f.do(t, "POST", "/api/v3/channels/broken/test", rwKey, "") }()
	<-entered
	if r := f.do(t, "POST", "/api/v3/channels/ops/test", rwKey, ""); r.code != http.StatusTooManyRequests {
		t.Errorf("a second test at once: %d %s", r.code, r.body)
	}
	close(release)
	if r := <-done; r.code != http.StatusBadGateway || !strings.Contains(r.body, "test notification failed: generic: 503") {
		t.Errorf("broken: %d %s", r.code, r.body)
	}
}
