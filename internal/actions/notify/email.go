package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// Email sends each notification as a plain-text e-mail over SMTP (net/smtp:
// STARTTLS when the server offers it, or implicit TLS; PLAIN auth when a
// username is set). Build it with [NewEmail] or from config (kind "email").
type Email struct {
	cfg   EmailConfig
	from  *mail.Address
	to    []*mail.Address
	now   func() time.Time
	texts Texts
}

var _ Notifier = (*Email)(nil)

// EmailConfig configures an Email notifier (config kind "email").
type EmailConfig struct {
	// Addr is the SMTP server, host:port (587 submission, 465 with TLS, 25).
	// Required.
	Addr string `yaml:"addr" json:"addr"`
	// From is the sender address. Required.
	From string `yaml:"from" json:"from"`
	// To are the recipients. At least one.
	To []string `yaml:"to" json:"to"`
	// Username and Password enable AUTH PLAIN (only over TLS or to
	// localhost, as net/smtp insists). Default: no auth.
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"password,omitempty"`
	// TLS uses implicit TLS from the first byte (port 465). Default false:
	// plain, upgraded with STARTTLS when the server offers it.
	TLS bool `yaml:"tls" json:"tls,omitempty"`
	// RequireTLS fails instead of sending in clear text when the server
	// does not offer STARTTLS. Default false.
	RequireTLS bool `yaml:"require_tls" json:"require_tls,omitempty"`
	// SubjectPrefix starts every subject. Default "[vitals] ".
	SubjectPrefix *string `yaml:"subject_prefix" json:"subject_prefix,omitempty"`
	// TLSConfig is for tests and embedding (custom roots); not in config.
	TLSConfig *tls.Config `yaml:"-" json:"-"`
	// TextOptions: the notifier's template (`template:` beside the kind).
	TextOptions `yaml:"-" json:"-"`
}

// Validate reports every problem of c, naming the fields.
func (c *EmailConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %q is not host:port", c.Addr))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("from: %w", err))
	}
	if len(c.To) == 0 {
		errs = append(errs, errors.New("to: at least one recipient required"))
	}
	for i, t := range c.To {
		if _, err := mail.ParseAddress(t); err != nil {
			errs = append(errs, fmt.Errorf("to[%d]: %w", i, err))
		}
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("password: set without username"))
	}
	return errors.Join(errs...)
}

// Build returns the Email notifier c describes, linking to checks with
// d.CheckURL.
func (c *EmailConfig) Build(d Deps) (Notifier, error) {
	e, err := NewEmail(*c)
	if err != nil {
		return nil, err
	}
	e.texts.Link = d.CheckURL
	return e, nil
}

// NewEmail returns an Email notifier for c (without links to checks).
func NewEmail(c EmailConfig) (*Email, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	texts, err := NewTexts(c.Template, Deps{})
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	e := &Email{cfg: c, now: time.Now, texts: texts}
	e.from, _ = mail.ParseAddress(c.From)
	for _, t := range c.To {
		a, _ := mail.ParseAddress(t)
		e.to = append(e.to, a)
	}
	return e, nil
}

// Send delivers n to every recipient in one SMTP transaction. The context's
// deadline bounds the whole conversation. 5xx replies are permanent.
func (e *Email) Send(ctx context.Context, n Notification) error {
	err := e.send(ctx, n)
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	return fmt.Errorf("email: %w", err)
}

func (e *Email) send(ctx context.Context, n Notification) error {
	host, _, _ := net.SplitHostPort(e.cfg.Addr)
	tlsConf := e.cfg.TLSConfig.Clone()
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if e.cfg.TLS {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if !e.cfg.TLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return err
			}
		} else if e.cfg.RequireTLS {
			return Permanent(fmt.Errorf("%s does not offer STARTTLS and require_tls is set", e.cfg.Addr))
		}
	}
	if e.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return err
	}
	for _, t := range e.to {
		if err := c.Rcpt(t.Address); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(e.message(n)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// noCRLF keeps header values on one line whatever a check's name holds.
var noCRLF = strings.NewReplacer("\r", " ", "\n", " ")

// message renders n as an RFC 5322 message, body quoted-printable.
func (e *Email) message(n Notification) []byte {
	prefix := "[vitals] "
	if e.cfg.SubjectPrefix != nil {
		prefix = *e.cfg.SubjectPrefix
	}
	var b bytes.Buffer
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, noCRLF.Replace(v)) }
	hdr("From", e.from.String())
	hdr("To", strings.Join(to, ", "))
	m := e.texts.Message(n)
	hdr("Subject", mime.QEncoding.Encode("utf-8", noCRLF.Replace(prefix+m.Title)))
	hdr("Date", e.now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+strings.ReplaceAll(n.Key, "/", ".")+"@vitals>")
	hdr("X-Vitals-Key", n.Key)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	io.WriteString(qp, strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	io.WriteString(qp, "\r\n")
	if n.Digest != nil { // one line per check digested
		io.WriteString(qp, "\r\n")
		for _, e := range n.Digest.Entries {
			fmt.Fprintf(qp, "%s  %-8s %q: %s\r\n", e.Time.UTC().Format(time.RFC3339), e.Event, noCRLF.Replace(e.Check), noCRLF.Replace(e.Reason))
		}
	}
	qp.Close()
	return b.Bytes()
}
