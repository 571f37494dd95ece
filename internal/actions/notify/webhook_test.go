package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWebhookSendsSignedJSON(t *testing.T) {
	secret := []byte("s3cret")
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := VerifyRequest(r, secret, 1<<20, 5*time.Minute)
		if err != nil {
			t.Errorf("VerifyRequest: %v", err)
		}
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: string(secret), Headers: map[string]string{"Authorization": "Bearer t"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification("webhook:ops")
	if err := wh.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	r, body := <-got, <-bodies
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer t" {
		t.Errorf("request: %s %v", r.Method, r.Header)
	}
	if k := r.Header.Get(HeaderIdempotencyKey); k != n.Key || k != testCheck.String()+"/"+testFlip.String()+"/webhook:ops" {
		t.Errorf("Idempotency-Key = %q", k)
	}
	if err := VerifySignature(secret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := VerifySignature([]byte("other"), r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, time.Now(), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"key": n.Key, "event": "down", "check": "api <prod> & co", "check_id": testCheck.Secret(), "flip_id": testFlip.String(),
		"state": "down", "previous": "up", "reason": n.Reason, "time": "2026-11-22T01:02:03Z", "channel": "webhook:ops", "attempt": 1.0,
	} {
		if m[k] != want {
			t.Errorf("body[%q] = %v, want %v", k, m[k], want)
		}
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	for _, tc := range []struct {
		code               int
		wantErr, permanent bool
	}{
		{200, false, false}, {204, false, false}, {400, true, true}, {404, true, true}, {410, true, true},
		{408, true, false}, {429, true, false}, {500, true, false}, {503, true, false},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				io.WriteString(w, "nope")
			}))
			defer srv.Close()
			wh, _ := NewWebhook(WebhookConfig{URL: srv.URL}, nil)
			err := wh.Send(context.Background(), testNotification("w"))
			if (err != nil) != tc.wantErr || errors.Is(err, ErrPermanent) != tc.permanent {
				t.Fatalf("err = %v, want error %v permanent %v", err, tc.wantErr, tc.permanent)
			}
		})
	}
}

func TestWebhookConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	wh, _ := NewWebhook(WebhookConfig{URL: url + "/services/T0/S3CR3T?token=S3CR3T"}, nil)
	err := wh.Send(context.Background(), testNotification("w"))
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	// The error is logged and stored with the outbox row: the URL's path
	// and query (a Slack webhook's secret) are not in it.
	if strings.Contains(err.Error(), "S3CR3T") || !strings.Contains(err.Error(), url+"/…") {
		t.Errorf("err = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"a":1}`)
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign(secret, ts, body)
	for _, tc := range []struct {
		name    string
		sig, ts string
		body    []byte
		now     time.Time
		want    error
	}{
		{"ok", sig, ts, body, now, nil},
		{"rotation list", "v1=00, " + sig, ts, body, now, nil},
		{"tampered body", sig, ts, []byte(`{"a":2}`), now, ErrBadSignature},
		{"tampered ts", sig, strconv.FormatInt(now.Unix()+1, 10), body, now, ErrBadSignature},
		{"stale", sig, ts, body, now.Add(6 * time.Minute), ErrStale},
		{"future", sig, ts, body, now.Add(-6 * time.Minute), ErrStale},
		{"bad ts", sig, "x", body, now, ErrBadSignature},
		{"empty", "", ts, body, now, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifySignature(secret, tc.sig, tc.ts, tc.body, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("v1=abc", "1700000000", []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		err := VerifySignature([]byte("k"), sig, ts, body, now, time.Hour)
		if err == nil && sig != Sign([]byte("k"), ts, body) && !containsSig(sig, Sign([]byte("k"), ts, body)) {
			t.Fatalf("accepted %q for %q", sig, ts)
		}
	})
}

func containsSig(list, sig string) bool {
	for i := 0; i+len(sig) <= len(list); i++ {
		if list[i:i+len(sig)] == sig {
			return true
		}
	}
	return false
}

func TestWebhookConfigValidate(t *testing.T) {
	for _, u := range []string{"", "ftp://x/S3CR3T", "http://", "::S3CR3T", "http://h/%zzS3CR3T"} {
		if err := (&WebhookConfig{URL: u}).Validate(); err == nil || strings.Contains(err.Error(), "S3CR3T") {
			t.Errorf("%q: %v (want an error that does not quote the URL)", u, err)
		}
	}
}

func TestVerifyRequestRejects(t *testing.T) {
	secret := []byte("k")
	body := []byte(`{"event":"down"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req := func(b []byte, sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(string(b)))
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, sig)
		return r
	}
	if _, err := VerifyRequest(req(body, Sign(secret, ts, body)), secret, 10, time.Minute); err == nil || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Errorf("long body: %v", err)
	}
	if _, err := VerifyRequest(req(body, "v1=00"), secret, 1<<10, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}
	if b, err := VerifyRequest(req(body, Sign(secret, ts, body)), secret, 1<<10, time.Minute); err != nil || string(b) != string(body) {
		t.Errorf("good request: %q %v", b, err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"x", 0, false}, {"-1", 0, false},
		{"0", 0, true}, {"120", 2 * time.Minute, true}, {"999999999999", time.Hour, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour, true},
	} {
		at, ok := retryAfter(tc.v, now)
		if ok != tc.ok || (ok && at.Sub(now) != tc.want) {
			t.Errorf("%q: %v %v, want +%v %v", tc.v, at.Sub(now), ok, tc.want, tc.ok)
		}
	}
}

// A 429 with Retry-After is retried then, and counts as an attempt.
func TestWebhookRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	wh, _ := NewWebhook(WebhookConfig{URL: srv.URL}, nil)
	err := wh.Send(context.Background(), testNotification("w"))
	var ra *RetryAtError
	if !errors.As(err, &ra) || !ra.Failed || time.Until(ra.At) > 31*time.Second || time.Until(ra.At) < 0 {
		t.Fatalf("err = %v", err)
	}
}
