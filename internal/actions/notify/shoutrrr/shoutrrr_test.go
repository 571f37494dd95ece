package shoutrrr

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// serverCert is a certificate for 127.0.0.1 signed by a CA that TestMain
// adds to the system roots (SSL_CERT_FILE, read once per process), so the
// services that only speak https (Rocket.Chat) reach
// a local receiver through their own HTTP clients.
var serverCert tls.Certificate

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shoutrrr-test")
	if err != nil {
		panic(err)
	}
	caPEM, cert, err := testCA()
	if err != nil {
		panic(err)
	}
	serverCert = cert
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600); err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", filepath.Join(dir, "ca.pem"))
	os.Setenv("SSL_CERT_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testCA() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vitals test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// received is one request a receiver got.
type received struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// receiver is a local server that records each request, lets check decide
// the answer, and answers it.
func receiver(t *testing.T, tlsOn bool, answer func(w http.ResponseWriter, r received)) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc := received{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: b}
		select {
		case got <- rc:
		default:
		}
		answer(w, rc)
	}))
	if tlsOn {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, got
}

func hostOf(srv *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
}

var (
	testCheck = model.CheckID(uuid.MustParse("0b7e2f7c-58a3-4f9a-9e59-2c1c0c7b9d10"))
	testTime  = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
)

func down() notify.Notification {
	return notify.Notification{Event: notify.EventDown, CheckID: testCheck, Check: "api", State: model.StatusDown, Previous: model.StatusUp,
		Reason: "3 consecutive failures: connection refused", Time: testTime, Channel: "chat", Attempt: 1}
}

func build(t *testing.T, raw, tmpl string) *Notifier {
	t.Helper()
	c := &Config{URL: raw}
	c.SetTemplate(tmpl)
	n, err := c.Build(notify.Deps{CheckURL: func(id model.CheckID) string { return "https://status.example.com/status/check/" + model.UniqueKey(id) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.(*Notifier).Close)
	return n.(*Notifier)
}

func send(t *testing.T, n *Notifier, notif notify.Notification) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return n.Send(ctx, notif)
}

func jsonBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, b)
	}
	return m
}

// Each service's request, as its server documents it, reaches a local
// receiver with the message (the default text, with its link) and the
// title where the service has one.
func TestServices(t *testing.T) {
	const gotifyToken = "AbCdEfGhIjKlMnO" // 15 characters, starting with A
	for _, tc := range []struct {
		name  string
		tls   bool
		url   func(host string) string
		check func(t *testing.T, r received)
		reply func(w http.ResponseWriter, r received)
	}{
		{
			name: "generic webhook, JSON", url: func(h string) string { return "generic://" + h + "/hook/s3cr3t-path?template=json&disabletls=yes" },
			check: func(t *testing.T, r received) {
				m := jsonBody(t, r.body)
				if r.method != "POST" || r.path != "/hook/s3cr3t-path" || m["title"] != `"api" is DOWN` || !strings.Contains(m["message"].(string), "went DOWN") {
					t.Errorf("%s %s %v", r.method, r.path, m)
				}
			},
		},
		{
			name: "generic webhook, plain text", url: func(h string) string { return "generic+http://" + h + "/plain" },
			check: func(t *testing.T, r received) {
				if r.path != "/plain" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || !strings.HasPrefix(string(r.body), `Check "api" went DOWN`) {
					t.Errorf("%s %s %q", r.path, r.header.Get("Content-Type"), r.body)
				}
			},
		},
		{
			// https://gotify.net/api-docs: POST /message, the app token in
			// ?token= or X-Gotify-Key, a JSON message.
			name: "gotify", url: func(h string) string { return "gotify://" + h + "/" + gotifyToken + "?disabletls=yes&priority=8" },
			check: func(t *testing.T, r received) {
				m := jsonBody(t, r.body)
				token := r.header.Get("X-Gotify-Key")
				if token == "" {
					token = strings.TrimPrefix(r.query, "token=")
				}
				if r.method != "POST" || r.path != "/message" || token != gotifyToken || m["title"] != `"api" is DOWN` || m["priority"] != 8.0 ||
					!strings.Contains(m["message"].(string), "connection refused") {
					t.Errorf("%s %s ?%s %v", r.method, r.path, r.query, m)
				}
			},
			reply: func(w http.ResponseWriter, r received) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":1,"appid":1,"message":"x","title":"x","priority":8,"date":"2026-11-22T01:02:03Z"}`)
			},
		},
		{
			// https://docs.ntfy.sh/publish/: POST /<topic>, the message as
			// the body, the title in the Title header.
			name: "ntfy", url: func(h string) string { return "ntfy://user:pa55word@" + h + "/alerts?scheme=http&priority=5" },
			check: func(t *testing.T, r received) {
				u, p, _ := (&http.Request{Header: r.header}).BasicAuth()
				if r.method != "POST" || r.path != "/alerts" || r.header.Get("Title") != `"api" is DOWN` || !strings.EqualFold(r.header.Get("Priority"), "max") || u != "user" || p != "pa55word" ||
					!strings.Contains(string(r.body), "went DOWN") {
					t.Errorf("%s %s %v %q", r.method, r.path, r.header, r.body)
				}
			},
			reply: func(w http.ResponseWriter, r received) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":"x1","time":1,"event":"message","topic":"alerts","message":"m"}`)
			},
		},
		{
			// https://developers.mattermost.com/integrate/webhooks/incoming/:
			// POST /hooks/<token>, JSON with "text".
			name: "mattermost", url: func(h string) string { return "mattermost://vitals@" + h + "/hooktoken123/ops?disabletls=yes" },
			check: func(t *testing.T, r received) {
				m := jsonBody(t, r.body)
				if r.method != "POST" || r.path != "/hooks/hooktoken123" || m["channel"] != "ops" || m["username"] != "vitals" || !strings.Contains(m["text"].(string), "went DOWN") {
					t.Errorf("%s %s %v", r.method, r.path, m)
				}
			},
		},
		{
			// https://docs.rocket.chat/: incoming integrations, POST
			// /hooks/<id>/<token> over https, JSON with "text".
			name: "rocketchat", tls: true, url: func(h string) string { return "rocketchat://" + h + "/tokenA/tokenB" },
			check: func(t *testing.T, r received) {
				m := jsonBody(t, r.body)
				if r.method != "POST" || r.path != "/hooks/tokenA/tokenB" || !strings.Contains(m["text"].(string), "went DOWN") {
					t.Errorf("%s %s %v", r.method, r.path, m)
				}
			},
		},
		{
			// signal-cli-rest-api (https://bbernhard.github.io/signal-cli-rest-api/):
			// POST /v2/send, JSON with message, number and recipients.
			name: "signal", url: func(h string) string {
				host, port, _ := net.SplitHostPort(h)
				return "signal://" + host + ":" + port + "/+15550001111/+15550002222?disabletls=yes"
			},
			check: func(t *testing.T, r received) {
				m := jsonBody(t, r.body)
				rc, _ := m["recipients"].([]any)
				if r.method != "POST" || r.path != "/v2/send" || m["number"] != "+15550001111" || len(rc) != 1 || rc[0] != "+15550002222" ||
					!strings.Contains(m["message"].(string), "went DOWN") {
					t.Errorf("%s %s %v", r.method, r.path, m)
				}
			},
			reply: func(w http.ResponseWriter, r received) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"timestamp":"1700000000000"}`)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := tc.reply
			if reply == nil {
				reply = func(w http.ResponseWriter, r received) { io.WriteString(w, "ok") }
			}
			srv, got := receiver(t, tc.tls, reply)
			n := build(t, tc.url(hostOf(srv)), "")
			if err := send(t, n, down()); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				tc.check(t, r)
			default:
				t.Fatal("the receiver got nothing")
			}
		})
	}
}

// A template renders the message; a service that answers an error fails
// the attempt (to be retried), without the URL's secrets in the error.
func TestTemplateAndErrors(t *testing.T) {
	srv, got := receiver(t, false, func(w http.ResponseWriter, r received) {
		if strings.Contains(string(r.body), "please-fail") {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	})
	n := build(t, "generic+http://"+hostOf(srv)+"/hook/topsecret?template=json", `{{define "title"}}{{upper .Status}}: {{.Check}}{{end}}{{.Check}} {{.Reason}} {{.Link}}`)
	if err := send(t, n, down()); err != nil {
		t.Fatal(err)
	}
	m := jsonBody(t, (<-got).body)
	if m["title"] != "DOWN: api" || m["message"] != "api 3 consecutive failures: connection refused https://status.example.com/status/check/"+model.UniqueKey(testCheck) {
		t.Errorf("%v", m)
	}
	f := down()
	f.Reason = "please-fail"
	err := send(t, n, f)
	if err == nil || errors.Is(err, notify.ErrPermanent) || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
}

// Errors that quote the URL (a refused connection names it) keep its host
// and lose its secrets.
func TestErrorsAreRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	n := build(t, "generic+http://user:hunter2pass@"+addr+"/hook/tok3n-path?apikey=k3yvalue&template=json", "")
	err = send(t, n, down())
	if err == nil {
		t.Fatal("sent to a closed port")
	}
	for _, secret := range []string{"hunter2pass", "tok3n-path", "k3yvalue"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "generic") {
		t.Errorf("error does not say which service: %v", err)
	}
	r := redactor("discord://t0kenvalue@123456789")
	if got := r("bad request for discord://t0kenvalue@123456789 (token t0kenvalue)"); strings.Contains(got, "t0kenvalue") {
		t.Errorf("redacted: %q", got)
	}
}

// A service that never answers: Send returns at the attempt's deadline,
// and at most MaxAbandoned sends run on in the background; past them an
// attempt fails at once.
func TestSendHonoursItsContext(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var n int
	srv, _ := receiver(t, false, func(w http.ResponseWriter, r received) {
		mu.Lock()
		n++
		mu.Unlock()
		<-release
	})
	defer close(release) // before the server's Close (cleanups run after)
	nt := build(t, "generic+http://"+hostOf(srv)+"/slow", "")
	for i := range MaxAbandoned + 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := nt.Send(ctx, down())
		cancel()
		if want := i < MaxAbandoned; want != errors.Is(err, context.DeadlineExceeded) || !want && !errors.Is(err, ErrHanging) {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if nt.Wait(0) {
		t.Fatal("the hung sends ended on their own")
	}
	mu.Lock()
	defer mu.Unlock()
	if n > MaxAbandoned {
		t.Errorf("%d sends reached the receiver, at most %d may hang", n, MaxAbandoned)
	}
}

func TestConfig(t *testing.T) {
	r := notify.NewRegistry()
	Register(r)
	for _, tc := range []struct{ yaml, wantErr string }{
		{`"discord://token@channel"`, ""},
		{`"telegram://123456:ABC-DEF@telegram?chats=@vitals"`, ""},
		{`"ntfy://ntfy.sh/alerts"`, ""},
		{`"gotify://gotify.example.com/AbCdEfGhIjKlMnO"`, ""},
		{`"pushover://shoutrrr:apptoken@userkey/"`, ""},
		{`"matrix://user:password@matrix.example.com/?rooms=!room:example.com"`, ""},
		{`"generic+https://example.com/hook?template=json"`, ""},
		{`"teams+https://example.webhook.office.com/webhookb2/11111111-1111-1111-1111-111111111111@22222222-2222-2222-2222-222222222222/IncomingWebhook/33333333333333333333333333333333/44444444-4444-4444-4444-444444444444/V2abc"`, ""},
		{`"teams+https://example.webhook.office.com/webhookb2/x"`, "not a valid teams URL: invalid webhook URL"},
		{`"nosuch://s3cret@host"`, `unknown service "nosuch"`},
		{`"no scheme at all"`, "no service"},
		{`""`, "required"},
		{`{url: x}`, "expected a shoutrrr service URL as a string"},
		{`[1]`, "expected a shoutrrr service URL as a string"},
	} {
		_, err := r.Decode(Kind, func(v any) error {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				return err
			}
			return n.Content[0].Decode(v)
		})
		if (tc.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the secret: %v", tc.yaml, err)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`"ntfy://ntfy.sh/x"`), &c); err != nil || c.URL != "ntfy://ntfy.sh/x" {
		t.Errorf("JSON: %v %+v", err, c)
	}
	c = Config{URL: "discord://t0ken@12345"}
	if b, _ := json.Marshal(c); fmt.Sprintf("%v %+v %s", c, &c, b) != `discord://*** discord://*** "discord://***"` {
		t.Errorf("printed: %v %+v %s", c, &c, b)
	}
	if s := Service("generic+https://x/y"); s != "generic" {
		t.Errorf("Service = %q", s)
	}
	if all := strings.Join(Services(), ","); !strings.Contains(all, "discord,generic,googlechat,gotify") || !strings.Contains(all, "zulip") {
		t.Errorf("Services = %s", all)
	}
}

// Whatever the URL, validating it neither panics nor quotes its password.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"discord://token@channel", "generic+https://u:p@x/y?z=1", "matrix://u:p@h/", "%zz", "teams+https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := (&Config{URL: raw}).Validate()
		u, perr := url.Parse(raw)
		if err == nil || perr != nil || u.User == nil {
			return
		}
		if p, ok := u.User.Password(); ok && len(p) >= 8 && strings.Contains(err.Error(), p) {
			t.Fatalf("error quotes the password: %v", err)
		}
	})
}

// Matrix (https://spec.matrix.org/v1.11/client-server-api/): the service
// logs in with the password flow, joins the room of the URL and sends an
// m.text event with the access token it got.
func TestMatrix(t *testing.T) {
	var mu sync.Mutex
	var sent []received
	srv, _ := receiver(t, false, func(w http.ResponseWriter, r received) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.method == "GET" && r.path == "/_matrix/client/r0/login":
			io.WriteString(w, `{"flows":[{"type":"m.login.token"},{"type":"m.login.password"}]}`)
		case r.method == "POST" && r.path == "/_matrix/client/r0/login":
			var req struct {
				Type       string `json:"type"`
				Identifier struct{ Type, User string }
				Password   string `json:"password"`
			}
			if json.Unmarshal(r.body, &req) != nil || req.Type != "m.login.password" || req.Identifier.Type != "m.id.user" || req.Identifier.User != "vitals" || req.Password != "pa55word" {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"Invalid password"}`)
				return
			}
			io.WriteString(w, `{"access_token":"syt_token_1","home_server":"local","user_id":"@vitals:local","device_id":"D"}`)
		case r.method == "POST" && r.path == "/_matrix/client/r0/join/#ops:local":
			io.WriteString(w, `{"room_id":"!room1:local"}`)
		case r.method == "POST" && r.path == "/_matrix/client/r0/rooms/!room1:local/send/m.room.message":
			mu.Lock()
			sent = append(sent, r)
			mu.Unlock()
			io.WriteString(w, `{"event_id":"$e1"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"errcode":"M_UNRECOGNIZED","error":"`+r.method+" "+r.path+`"}`)
		}
	})
	n := build(t, "matrix://vitals:pa55word@"+hostOf(srv)+"/?rooms=%23ops:local&disableTLS=yes", "")
	if err := send(t, n, down()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 1 {
		t.Fatalf("%d messages sent", len(sent))
	}
	var ev struct{ MsgType, Body string }
	m := jsonBody(t, sent[0].body)
	ev.MsgType, _ = m["msgtype"].(string)
	ev.Body, _ = m["body"].(string)
	if !strings.Contains(sent[0].query, "access_token=syt_token_1") || ev.MsgType != "m.text" || !strings.Contains(ev.Body, "went DOWN") {
		t.Errorf("?%s %v", sent[0].query, m)
	}
}
