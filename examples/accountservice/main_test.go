package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/testenv"
)

// TestStartupCheck runs the real service and asks its /startupz for details:
// the startup check that deploy/kubernetes' startupProbe waits for is
// registered as a startup-only check, and it passes once the store is open.
func TestStartupCheck(t *testing.T) {
	const token = "startup-test-token-0123456789"
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg := config{
		addr: addr, dataDir: t.TempDir(), token: token,
		checkInterval: 50 * time.Millisecond, stallAfter: 3 * time.Second, maxInFlight: 16,
		drain: time.Millisecond, // 0 would be the library's default drain
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	var body struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Status string `json:"status"`
			Kinds  string `json:"kinds"`
		} `json:"checks"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, raw := get(t, "http://"+addr+"/startupz?verbose", token)
		if code == http.StatusOK {
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("/startupz?verbose: %v: %s", err, raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/startupz still %d: %s", code, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, ok := body.Checks["store-open"]
	if !ok {
		t.Fatalf("/startupz?verbose has no store-open check (the manifests' startupProbe waits for it): %+v", body)
	}
	if c.Kinds != "startup" || c.Status != "UP" {
		t.Errorf("store-open: kinds %q status %q, want startup UP", c.Kinds, c.Status)
	}
	for name, c := range body.Checks {
		if name != "store-open" {
			t.Errorf("/startupz lists %s (%s): only startup checks belong there", name, c.Kinds)
		}
	}
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestStoreReady: the startup check fails while the store is offline and
// passes once it is open again.
func TestStoreReady(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(ctx, t.TempDir()+"/accounts.db", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.Offline(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err == nil {
		t.Fatal("offline store reported ready")
	}
	if err := s.Online(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("store online again: %v", err)
	}
}
