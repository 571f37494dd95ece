package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A test notification goes through the real notifier, marked, and what
// the receiver answered comes back; notifiers that act are not run.
func TestSendTest(t *testing.T) {
	got := make(chan Notification, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notification
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Error(err)
		}
		got <- n
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	spec := &WebhookConfig{URL: srv.URL + "/hook/s3cret"}
	answers, err := SendTest(context.Background(), spec, nil, Deps{}, "ops", 0)
	if err != nil || len(answers) != 1 || answers[0] != "POST "+srv.URL+": 202 Accepted" {
		t.Fatalf("answers %q, err %v", answers, err)
	}
	if tn := <-got; !tn.Test || tn.Event != EventTest || tn.Channel != "ops" || tn.Check != TestCheckName {
		t.Errorf("sent %+v", tn)
	}
	m := (Texts{}).Message(TestNotification("ops", testTime))
	if m.Title != `[TEST] "vitals test": test notification` || !strings.Contains(m.Body, `notifier "ops"`) {
		t.Errorf("message %+v", m)
	}

	for _, spec := range []Spec{&DockerConfig{Container: "api"}, &ExecConfig{Command: []string{"/usr/local/bin/restart-api"}}, &ProcessConfig{Name: "worker"}} {
		called := false
		n := NotifierFunc(func(context.Context, Notification) error { called = true; return nil })
		_, err := SendTest(context.Background(), spec, n, Deps{}, "x", time.Second)
		if !errors.Is(err, ErrActs) || called {
			t.Errorf("%T: %v (called %v)", spec, err, called)
		}
	}
}
