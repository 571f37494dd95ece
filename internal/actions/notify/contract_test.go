package notify

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// hangingListener accepts connections and never answers (until the test
// ends): a peer that is up but stuck.
func hangingListener(t *testing.T, network, addr string) net.Listener {
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l
}

// Every notifier honours its context: against a peer that hangs, Send
// returns an error once the attempt's deadline passes (the Dispatcher's
// AttemptTimeout is only as good as this).
func TestNotifiersHonourTheirContext(t *testing.T) {
	httpHang := hangingListener(t, "tcp", "127.0.0.1:0")
	smtpHang := hangingListener(t, "tcp", "127.0.0.1:0")
	sock := filepath.Join(t.TempDir(), "docker.sock")
	hangingListener(t, "unix", sock)
	slowHTTP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // only then does the server notice the client leaving
		<-r.Context().Done()
	}))
	t.Cleanup(slowHTTP.Close) // parallel subtests run after this function returns

	build := func(s Spec) Notifier {
		t.Helper()
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		n, err := s.Build(Deps{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, n := range map[string]Notifier{
		"webhook (no answer)":    build(&WebhookConfig{URL: "http://" + httpHang.Addr().String() + "/hook"}),
		"webhook (slow handler)": build(&WebhookConfig{URL: slowHTTP.URL}),
		"slack":                  build(&SlackConfig{URL: "http://" + httpHang.Addr().String() + "/services/x"}),
		"pagerduty":              build(&PagerDutyConfig{RoutingKey: "k", URL: "http://" + httpHang.Addr().String() + "/v2/enqueue"}),
		"opsgenie":               build(&OpsgenieConfig{APIKey: "k", URL: slowHTTP.URL}),
		"alertmanager":           build(&AlertmanagerConfig{URLs: []string{"http://" + httpHang.Addr().String(), slowHTTP.URL}}),
		"email":                  build(&EmailConfig{Addr: smtpHang.Addr().String(), From: "v@example.com", To: []string{"o@example.com"}}),
		"docker":                 build(&DockerConfig{Container: "api", Socket: sock}),
		"exec":                   build(&ExecConfig{Command: []string{"sleep", "3600"}, Timeout: time.Hour}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- n.Send(ctx, testNotification("c")) }()
			guard := time.NewTimer(20 * time.Second) // a hang, not a duration assertion
			defer guard.Stop()
			select {
			case err := <-errc:
				if err == nil {
					t.Fatal("Send succeeded against a hanging peer")
				}
			case <-guard.C:
				t.Fatal("Send ignored its context")
			}
		})
	}
}
