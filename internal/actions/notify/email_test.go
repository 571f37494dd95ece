package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vitals-go/vitals/internal/model"
)

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on a
// loopback port: the notifier speaks the protocol over TCP to it, STARTTLS
// and AUTH included.
type smtpServer struct {
	mu   sync.Mutex
	msgs []smtpMsg
	auth []string
	addr string
	// rejectRcpt answers 550 to RCPT TO.
	rejectRcpt bool
}

type smtpMsg struct {
	from string
	to   []string
	data []byte
	tls  bool
}

type smtpSession struct {
	s   *smtpServer
	c   *smtp.Conn
	msg smtpMsg
}

func (se *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (se *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		se.s.mu.Lock()
		defer se.s.mu.Unlock()
		se.s.auth = append(se.s.auth, user+":"+pass)
		if pass != "pw" {
			return errors.New("bad password")
		}
		return nil
	}), nil
}
func (se *smtpSession) Mail(from string, _ *smtp.MailOptions) error { se.msg.from = from; return nil }
func (se *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.s.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	se.msg.to = append(se.msg.to, to)
	return nil
}
func (se *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, se.msg.tls = se.c.TLSConnectionState()
	se.msg.data = b
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, se.msg)
	se.s.mu.Unlock()
	return nil
}
func (se *smtpSession) Reset()        { se.msg = smtpMsg{} }
func (se *smtpSession) Logout() error { return nil }

// startSMTP starts the server; with tlsOn it offers STARTTLS with the
// httptest certificate (valid for 127.0.0.1) and returns the client's roots.
func startSMTP(t *testing.T, tlsOn bool) (*smtpServer, *x509.CertPool) {
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = !tlsOn
	var roots *x509.CertPool
	if tlsOn {
		hs := httptest.NewTLSServer(http.NotFoundHandler())
		srv.TLSConfig = &tls.Config{Certificates: hs.TLS.Certificates}
		roots = x509.NewCertPool()
		roots.AddCert(hs.Certificate())
		hs.Close()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s, roots
}

func TestEmailOverSTARTTLSWithAuth(t *testing.T) {
	s, roots := startSMTP(t, true)
	e, err := NewEmail(EmailConfig{
		Addr: s.addr, From: "Vitals <vitals@example.com>", To: []string{"ops@example.com", "Jo <jo@example.com>"},
		Username: "vitals", Password: "pw", RequireTLS: true, TLSConfig: &tls.Config{RootCAs: roots},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification("email")
	n.Check = "api\r\nBcc: evil@example.com" // header injection attempt
	if err := e.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) != 1 || len(s.auth) != 1 || s.auth[0] != "vitals:pw" {
		t.Fatalf("messages %d, auth %v", len(s.msgs), s.auth)
	}
	m := s.msgs[0]
	if !m.tls || m.from != "vitals@example.com" || strings.Join(m.to, ",") != "ops@example.com,jo@example.com" {
		t.Fatalf("envelope: %+v", m)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != `[vitals] "api\r\nBcc: evil@example.com" is DOWN` || msg.Header.Get("Bcc") != "" {
		t.Errorf("subject %q, bcc %q", subj, msg.Header.Get("Bcc"))
	}
	if msg.Header.Get("X-Vitals-Key") != n.Key || !strings.HasPrefix(msg.Header.Get("Message-Id"), "<"+testCheck.String()) {
		t.Errorf("headers: %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "Reason: 3 consecutive failures: connection refused") {
		t.Errorf("body: %s", body)
	}
}

func TestEmailPlainLocalhost(t *testing.T) {
	s, _ := startSMTP(t, false)
	e, err := NewEmail(EmailConfig{Addr: s.addr, From: "v@example.com", To: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Send(context.Background(), testNotification("email")); err != nil {
		t.Fatal(err)
	}
	e2, _ := NewEmail(EmailConfig{Addr: s.addr, From: "v@example.com", To: []string{"ops@example.com"}, RequireTLS: true})
	if err := e2.Send(context.Background(), testNotification("email")); !errors.Is(err, ErrPermanent) {
		t.Fatalf("require_tls without STARTTLS: %v", err)
	}
	s.rejectRcpt = true
	if err := e.Send(context.Background(), testNotification("email")); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "550") {
		t.Fatalf("550: %v", err)
	}
}

func TestEmailServerDownIsRetryable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	e, _ := NewEmail(EmailConfig{Addr: addr, From: "v@example.com", To: []string{"ops@example.com"}})
	if err := e.Send(context.Background(), testNotification("email")); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
}

func TestEmailConfigValidate(t *testing.T) {
	err := (&EmailConfig{Addr: "x", From: "nope", To: []string{"bad"}, Password: "p"}).Validate()
	for _, want := range []string{"addr:", "from:", "to[0]:", "password:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}

// A template sets the subject (its title, kept on one line whatever the
// check's name holds) and the body.
func TestEmailTemplate(t *testing.T) {
	s, _ := startSMTP(t, false)
	c := EmailConfig{Addr: s.addr, From: "v@example.com", To: []string{"ops@example.com"}}
	c.SetTemplate("{{define \"title\"}}{{upper .Status}}: {{.Check}}{{end}}{{.Check}} went {{.Status}}.\n{{.Link}}")
	sp := &c
	n, err := sp.Build(Deps{CheckURL: func(id model.CheckID) string { return "https://status.example.com/status/check/x" }})
	if err != nil {
		t.Fatal(err)
	}
	nt := testNotification("email")
	nt.Check = "api\r\nBcc: evil@example.com"
	if err := n.Send(context.Background(), nt); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, err := mail.ReadMessage(bytes.NewReader(s.msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if subj != "[vitals] DOWN: api Bcc: evil@example.com" || msg.Header.Get("Bcc") != "" ||
		string(body) != "api\r\nBcc: evil@example.com went down.\r\nhttps://status.example.com/status/check/x\r\n" {
		t.Errorf("subject %q, body %q", subj, body)
	}
}
