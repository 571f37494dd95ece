// Package shoutrrr is the "url" notifier kind: any service URL of
// shoutrrr (github.com/nicholas-fedor/shoutrrr, the maintained fork) is a
// channel — Discord, Microsoft Teams, Telegram, Mattermost, Google Chat,
// Rocket.Chat, Matrix, Pushover, Gotify, ntfy, Zulip, generic webhooks and
// the rest:
//
//	notifiers:
//	  chat: {url: "discord://token@channel"}
//
// The dependency stays in this package: the daemon adds the kind to its
// registry with [Register]. The URL is a secret (it holds the service's
// token): it is checked at config load without sending, never logged,
// and cut out of every error (shoutrrr's errors may quote it).
package shoutrrr

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/clip"
)

// Kind is the config key of the kind: `name: {url: "SERVICE://…"}`.
const Kind = "url"

// Register adds the "url" kind to r.
func Register(r *notify.Registry) {
	r.Register(Kind, func() notify.Spec { return new(Config) })
}

// MaxAbandoned bounds the sends of one channel that outlived their
// attempt: shoutrrr's senders take no context, so a send whose attempt
// ended first goes on in the background until the service's own timeout
// ends it. While this many hang, an attempt fails at once (and is retried
// by the outbox) instead of starting another. (The sends still within
// their attempt are bounded by the caller: the dispatcher's PerChannel.)
const MaxAbandoned = 4

// Config configures a shoutrrr channel: the service URL, written as the
// value of the kind key (`url: "gotify://host/token"`). Put it, or its
// token, in ${ENV}.
type Config struct {
	// URL is the shoutrrr service URL (see the list in docs/actions.md).
	// Required.
	URL string `yaml:"-" json:"url"`
	// TextOptions: the notifier's template (`template:` beside the kind).
	notify.TextOptions `yaml:"-" json:"-"`
}

var (
	_ notify.Spec      = (*Config)(nil)
	_ notify.Templater = (*Config)(nil)
	_ yaml.Unmarshaler = (*Config)(nil)
	_ notify.Notifier  = (*Notifier)(nil)
)

// String shows the service only: the URL is a secret (a spec printed
// with %v in a log or an error shows "discord://***").
func (c Config) String() string { return masked(c.URL) }

// MarshalJSON writes the masked URL, never the URL itself.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(masked(c.URL)) }

// masked is raw's service and "://***", or "***".
func masked(raw string) string {
	if s := Service(raw); s != "" {
		return s + "://***"
	}
	return "***"
}

// UnmarshalYAML takes the URL, a string.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" && n.ShortTag() != "!!null" {
		return errors.New(`expected a shoutrrr service URL as a string ("discord://token@channel")`)
	}
	c.URL = n.Value
	return nil
}

// UnmarshalJSON takes the URL, a JSON string.
func (c *Config) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`expected a shoutrrr service URL as a string ("discord://token@channel")`)
	}
	c.URL = s
	return nil
}

// Validate parses the URL with shoutrrr as it would to send, without
// sending (Matrix, which logs in when it is set up, is only parsed).
// Errors never quote the URL.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("required (a shoutrrr service URL)")
	}
	_, err := locate(c.URL, false)
	return err
}

// Build returns the channel c describes, linking to checks with
// d.CheckURL.
func (c *Config) Build(d notify.Deps) (notify.Notifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	texts, err := notify.NewTexts(c.Template, d)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(c.URL)
	return &Notifier{url: c.URL, service: service(u), redact: redactor(c.URL), texts: texts}, nil
}

// Service returns the service a URL names ("discord", "generic", …) or
// "" when it is not a URL.
func Service(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return service(u)
}

func service(u *url.URL) string {
	s, _, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	return s
}

// Services returns the names of the services shoutrrr knows, sorted.
func Services() []string {
	var r router.ServiceRouter
	s := r.ListServices()
	sort.Strings(s)
	return s
}

// locate returns the service for raw, initialised when init is set (or
// when initialising it does no I/O). Its errors never quote raw.
func locate(raw string, init bool) (svc types.Service, err error) {
	redact := redactor(raw)
	defer func() {
		if r := recover(); r != nil { // a service that panics on a strange URL
			svc, err = nil, fmt.Errorf("not a valid service URL: %s", redact(fmt.Sprint(r)))
		}
	}()
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %s", redact(err.Error()))
	}
	name := service(u)
	if name == "" {
		return nil, errors.New(`no service: write SERVICE://… ("discord://token@channel")`)
	}
	var r router.ServiceRouter // no logger: shoutrrr would log the URL
	svc, err = r.NewService(name)
	if err != nil {
		return nil, fmt.Errorf("unknown service %q (known: %s)", clip.Text(name, 40), strings.Join(Services(), ", "))
	}
	if u.Scheme != name {
		cs, ok := svc.(types.CustomURLService)
		if !ok {
			return nil, fmt.Errorf("the %s service takes no custom URL (%s+…)", name, name)
		}
		if u, err = cs.GetConfigURLFromCustom(u); err != nil {
			return nil, fmt.Errorf("not a valid %s URL: %s", name, redact(err.Error()))
		}
	}
	if !init && name == "matrix" {
		if u.Host == "" {
			return nil, errors.New("a matrix URL needs a host")
		}
		return svc, nil
	}
	if err := svc.Initialize(u, nil); err != nil {
		return nil, fmt.Errorf("not a valid %s URL: %s", name, redact(err.Error()))
	}
	return svc, nil
}

// Notifier sends each notification to a shoutrrr service: the message's
// body as the message, its title as the "title" parameter when the
// service has one and the URL does not set it. Safe for concurrent use;
// Close waits for the sends still running.
type Notifier struct {
	url     string
	service string
	redact  func(string) string
	texts   notify.Texts
	wg      sync.WaitGroup

	mu sync.Mutex
	// abandoned counts the sends running past their attempt's end.
	abandoned int
}

// ErrHanging is wrapped by Send when MaxAbandoned earlier sends of the
// channel still hang: it starts no other.
var ErrHanging = errors.New("earlier sends still hang")

// Send sends n and returns when the service answered or ctx ended,
// whichever comes first: shoutrrr's senders take no context, so a send
// cut short goes on in the background until the service's own timeout
// ends it, counted against MaxAbandoned. Errors are retried by the
// outbox, except those of a URL the service does not accept.
func (s *Notifier) Send(ctx context.Context, n notify.Notification) error {
	s.mu.Lock()
	hanging := s.abandoned
	s.mu.Unlock()
	if hanging >= MaxAbandoned {
		return fmt.Errorf("%s: %w (%d): not starting another", s.service, ErrHanging, hanging)
	}
	m := s.texts.Message(n)
	var finished, gaveUp bool   // guarded by s.mu
	done := make(chan error, 1) // the send may outlive this call
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.send(m)
		s.mu.Lock()
		finished = true
		if gaveUp {
			s.abandoned--
		}
		s.mu.Unlock()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		if !finished {
			gaveUp = true
			s.abandoned++
		}
		s.mu.Unlock()
		return fmt.Errorf("%s: no answer before the attempt's deadline: %w", s.service, ctx.Err())
	}
}

// send does one send with a fresh service (some of shoutrrr's services
// keep per-send state in their config).
func (s *Notifier) send(m notify.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: panic: %s", s.service, s.redact(fmt.Sprint(r)))
		}
	}()
	svc, err := locate(s.url, true)
	if err != nil {
		return notify.Permanent(err)
	}
	params := types.Params{}
	if m.Title != "" && takesTitle(svc, s.url) {
		params.SetTitle(m.Title)
	}
	if err := svc.Send(m.Body, &params); err != nil {
		return fmt.Errorf("%s: %s", s.service, s.redact(err.Error()))
	}
	return nil
}

// takesTitle reports whether svc has a "title" parameter that the URL
// does not set itself (an operator's ?title= wins).
func takesTitle(svc types.Service, raw string) bool {
	if u, err := url.Parse(raw); err == nil && u.Query().Has("title") {
		return false
	}
	pkr := format.NewPropKeyResolver(format.GetServiceConfig(svc))
	return slices.Contains(pkr.QueryFields(), "title")
}

// String shows the service only (the URL is a secret).
func (s *Notifier) String() string { return "shoutrrr " + s.service }

// Close blocks until every send started has returned.
func (s *Notifier) Close() { s.wg.Wait() }

// Wait is Close with a bound: it reports whether every send returned
// within d.
func (s *Notifier) Wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// minSecret is the shortest part of a URL cut out of errors: shorter
// ones would mangle every message and guard little.
const minSecret = 3

// redactor returns a function that replaces, in an error's text, every
// part of raw that may be a secret (the URL itself, its user and
// password, path segments, query values and fragment, raw and escaped)
// where it stands as a word of its own (not inside a longer word: a
// path's "hook" leaves "webhook" alone). The scheme and host stay: they
// say which server failed.
func redactor(raw string) func(string) string {
	parts := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			parts = append(parts, u.User.String(), u.User.Username())
			if p, ok := u.User.Password(); ok {
				parts = append(parts, p)
			}
		}
		parts = append(parts, u.RawQuery, u.Fragment, u.EscapedPath(), u.Path, u.Opaque)
		parts = append(parts, strings.Split(u.Path, "/")...)
		for _, vs := range u.Query() {
			parts = append(parts, vs...)
		}
	}
	var all []string
	for _, p := range parts {
		for _, v := range []string{p, url.PathEscape(p), url.QueryEscape(p)} {
			if len(v) >= minSecret && v != "/" {
				all = append(all, v)
			}
		}
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	all = slices.Compact(all)
	return func(s string) string {
		for _, v := range all {
			s = replaceWord(s, v, "***")
		}
		return clip.Text(s, 1000)
	}
}

// replaceWord replaces every occurrence of old in s that is not inside a
// longer word (letters and digits on both sides) with repl.
func replaceWord(s, old, repl string) string {
	var b strings.Builder
	for i := 0; ; {
		j := strings.Index(s[i:], old)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		j += i
		end := j + len(old)
		inWord := j > 0 && isWordByte(s[j-1]) && isWordByte(old[0]) || end < len(s) && isWordByte(s[end]) && isWordByte(old[len(old)-1])
		b.WriteString(s[i:j])
		if inWord {
			b.WriteString(old[:1])
			i = j + 1
			continue
		}
		b.WriteString(repl)
		i = end
	}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
}
