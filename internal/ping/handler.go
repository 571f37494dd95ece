package ping

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ratelog"
	"github.com/vitals-go/vitals/internal/store"
)

// Engine is what the handler needs of the watchdog engine
// (*watchdog.Engine implements it).
type Engine interface {
	Ping(ctx context.Context, id model.CheckID, p model.Ping) (model.State, error)
	LookupSlug(pingKey, slug string) []model.CheckID
	Create(ctx context.Context, c model.Check) (model.Check, error)
	Get(id model.CheckID) (model.CheckState, bool)
}

// Options configure a Handler. The zero value is usable.
type Options struct {
	// Prefix is the path the handler is mounted at. Default "/ping/".
	Prefix string
	// BodyLimit is how many bytes of a request body are kept as the ping's
	// log; the rest is read and discarded (up to MaxDiscard) and the ping
	// marked truncated. Default model.DefaultBodyLimit (10 000, as
	// healthchecks.io's PING_BODY_LIMIT); negative keeps nothing.
	BodyLimit int
	// MaxDiscard is how many bytes past BodyLimit are read and thrown away
	// so the connection can be reused; a longer body is still accepted but
	// the connection is closed after the answer. Default 1 MiB.
	MaxDiscard int64
	// AutoProvision, when set, enables ?create=1 on slug URLs: it returns
	// the check to create for an unknown (pingKey, slug), and false when
	// the ping key does not allow auto-provisioning (answered 404).
	// Default nil: ?create=1 is ignored and unknown slugs get 404.
	AutoProvision func(pingKey, slug string) (model.Check, bool)
	// TrustProxyHeaders takes the client address from X-Forwarded-For and
	// the scheme from X-Forwarded-Proto, as healthchecks.io does behind its
	// proxy. Default false: the headers are client-controlled.
	TrustProxyHeaders bool
	// Logger receives store errors. Default slog.Default().
	Logger *slog.Logger
	// ErrorInterval rate-limits the store errors logged (package
	// ratelog): the first is logged at once, the ones that follow within
	// the interval are counted and logged as one line with "repeated"=N,
	// so a full disk that refuses every ping logs one line per interval,
	// not one per ping. The count starts again with each Handler (a
	// reload). Default ratelog.DefaultInterval (10s).
	ErrorInterval time.Duration
}

// Handler serves the ping protocol. It is safe for concurrent use.
type Handler struct {
	e    Engine
	opts Options
	errs *ratelog.Limiter // store errors
	// createMu serialises lookup-then-create of auto-provisioned checks,
	// so two racing ?create=1 pings create one check.
	createMu sync.Mutex
}

// New returns a handler over e. See Options for defaults.
func New(e Engine, opts Options) *Handler {
	if opts.Prefix == "" {
		opts.Prefix = "/ping/"
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = model.DefaultBodyLimit
	}
	if opts.BodyLimit < 0 {
		opts.BodyLimit = 0
	}
	if opts.MaxDiscard <= 0 {
		opts.MaxDiscard = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{e: e, opts: opts, errs: ratelog.New(opts.Logger, ratelog.Options{Interval: opts.ErrorInterval})}
}

// ReasonHeader carries a longer explanation of a 4xx/5xx answer than the
// body, whose text is fixed by the protocol.
const ReasonHeader = "X-Vitals-Reason"

func answer(w http.ResponseWriter, r *http.Request, code int, body, reason string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if reason != "" {
		h.Set(ReasonHeader, reason)
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		hd.Set("Allow", "GET, HEAD, POST")
		answer(w, r, http.StatusMethodNotAllowed, "method not allowed", "ping endpoints take HEAD, GET and POST")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.opts.Prefix)
	if !ok {
		answer(w, r, http.StatusNotFound, "not found", "not a ping URL")
		return
	}
	t, perr := ParsePath(rest)
	switch {
	case errors.Is(perr, ErrNoEndpoint):
		answer(w, r, http.StatusNotFound, "not found", "not a ping URL: want /ping/<uuid>[/start|/fail|/log|/<0-255>] or /ping/<ping-key>/<slug>[/…]")
		return
	case errors.Is(perr, ErrBadSlug): // before any lookup, as healthchecks.io
		answer(w, r, http.StatusBadRequest, "invalid url format", fmt.Sprintf("a slug is 1-%d characters of a-z, 0-9, '-' and '_' (lowercase)", model.MaxSlugLen))
		return
	}

	// The body is read before anything is created or recorded: a ping
	// whose body cannot be read to its end (a broken chunked encoding, a
	// connection closed or reset before Content-Length bytes) is not a
	// ping the client finished sending, and is not recorded.
	body, truncated, err := h.readBody(w, r)
	if err != nil {
		answer(w, r, http.StatusBadRequest, "incomplete body", "the request body could not be read to its end: "+err.Error())
		return
	}

	created := false
	id := t.ID
	if t.BySlug() {
		var ref *refusal
		if id, created, ref = h.resolveSlug(r, t); ref != nil {
			if ref.code == http.StatusServiceUnavailable {
				hd.Set("Retry-After", "1")
			}
			answer(w, r, ref.code, ref.body, ref.reason)
			return
		}
	}
	p := model.Ping{Kind: t.Kind, ExitStatus: t.ExitStatus, Method: r.Method}
	q := r.URL.Query()
	if vals, ok := q["rid"]; ok {
		rid, valid := parseUUID(vals[len(vals)-1])
		if !valid {
			if h.exists(id) {
				answer(w, r, http.StatusBadRequest, "invalid uuid format", "?rid= must be a UUID in canonical form")
			} else {
				answer(w, r, http.StatusNotFound, "not found", "no check with this UUID")
			}
			return
		}
		p.RID = rid
	}
	if perr != nil { // ErrBadExitStatus: as healthchecks.io, an unknown check is answered first
		if h.exists(id) {
			answer(w, r, http.StatusBadRequest, "invalid url format", "exit status must be 0-255")
		} else {
			answer(w, r, http.StatusNotFound, "not found", "no check with this UUID")
		}
		return
	}

	p.Body, p.BodyTruncated = body, truncated
	p.Scheme, p.RemoteAddr = h.client(r)
	p.UserAgent = model.Truncate(r.UserAgent(), model.MaxUserAgentLen)

	if _, err := h.e.Ping(r.Context(), id, p); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			answer(w, r, http.StatusNotFound, "not found", "no check with this UUID")
			return
		}
		cs, _ := h.e.Get(id)
		h.logError(r.Context(), "ping not recorded", cs.Check.Name, id, err)
		hd.Set("Retry-After", "1")
		answer(w, r, http.StatusServiceUnavailable, "store unavailable", "the ping could not be made durable; retry")
		return
	}
	hd.Set("Ping-Body-Limit", strconv.Itoa(h.opts.BodyLimit))
	if created {
		answer(w, r, http.StatusCreated, "Created", "")
		return
	}
	answer(w, r, http.StatusOK, "OK", "")
}

// logError logs a store error about check id, rate-limited. The check is
// named by name and unique key: its UUID is the ping secret, and is taken
// out of the error's text too.
func (h *Handler) logError(ctx context.Context, msg, name string, id model.CheckID, err error) {
	key := model.UniqueKey(id)
	h.errs.Error(ctx, msg, "check", name, "unique_key", key, "err", strings.ReplaceAll(err.Error(), id.Secret(), key))
}

// exists reports whether check id exists, for the error paths that must
// answer an unknown check before a malformed request (healthchecks.io's
// order).
func (h *Handler) exists(id model.CheckID) bool {
	_, ok := h.e.Get(id)
	return ok
}

// refusal is an error answer: its code, its body (fixed by the protocol)
// and the longer reason for ReasonHeader.
type refusal struct {
	code         int
	body, reason string
}

// resolveSlug finds (or, with ?create=1, creates) the check of a slug URL.
// A non-nil refusal is the answer to give instead.
func (h *Handler) resolveSlug(r *http.Request, t Target) (model.CheckID, bool, *refusal) {
	ids := h.e.LookupSlug(t.PingKey, t.Slug)
	switch {
	case len(ids) == 1:
		return ids[0], false, nil
	case len(ids) > 1:
		return model.CheckID{}, false, &refusal{http.StatusConflict, "ambiguous slug", strconv.Itoa(len(ids)) + " checks have this ping key and slug"}
	}
	if r.URL.Query().Get("create") != "1" || h.opts.AutoProvision == nil {
		return model.CheckID{}, false, &refusal{http.StatusNotFound, "not found", "no check with this ping key and slug"}
	}
	h.createMu.Lock()
	defer h.createMu.Unlock()
	if ids := h.e.LookupSlug(t.PingKey, t.Slug); len(ids) == 1 { // created meanwhile
		return ids[0], false, nil
	}
	c, ok := h.opts.AutoProvision(t.PingKey, t.Slug)
	if !ok {
		return model.CheckID{}, false, &refusal{http.StatusNotFound, "not found", "no check with this ping key and slug, and the key does not allow ?create=1"}
	}
	c.PingKey, c.Slug = t.PingKey, t.Slug
	if c.Name == "" {
		c.Name = t.Slug
	}
	if c.Kind == "" {
		c.Kind = model.KindPush
	}
	if c.Source == "" {
		c.Source = model.SourceAuto
	}
	c, err := h.e.Create(r.Context(), c)
	switch { // c is the zero Check on error
	case errors.Is(err, model.ErrInvalidCheck):
		// What the URL names cannot be a check: the client's to fix, not
		// to retry.
		return model.CheckID{}, false, &refusal{http.StatusBadRequest, "invalid url format", "the check cannot be created: " + err.Error()}
	case err != nil:
		// Not created: no UUID to hide, and the slug names it.
		h.errs.Error(r.Context(), "auto-provisioning failed", "slug", t.Slug, "err", err)
		return model.CheckID{}, false, &refusal{http.StatusServiceUnavailable, "store unavailable", "the check could not be created; retry"}
	}
	return c.ID, true, nil
}

// readBody keeps the first BodyLimit bytes and discards the rest, up to
// MaxDiscard bytes past the limit; it reports whether bytes were cut. A
// body longer than that is not read to its end (the connection is closed
// after the answer) and counts as read. Any error reading the body is
// returned: the ping is then not recorded.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	limit := int64(h.opts.BodyLimit)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit))
	if err != nil {
		return nil, false, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, h.opts.MaxDiscard+1))
	if err != nil {
		return nil, false, err
	}
	if n > h.opts.MaxDiscard {
		w.Header().Set("Connection", "close") // stop reading an endless body
	}
	if len(body) == 0 {
		body = nil
	}
	return body, n > 0, nil
}

// client returns the request's scheme and client address.
func (h *Handler) client(r *http.Request) (scheme, addr string) {
	scheme = "http"
	if r.TLS != nil {
		scheme = "https"
	}
	addr = r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if h.opts.TrustProxyHeaders {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			addr = strings.TrimSpace(strings.Split(xff, ",")[0])
			if strings.Contains(addr, ".") && strings.Contains(addr, ":") { // ipv4:port
				addr = addr[:strings.IndexByte(addr, ':')]
			}
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
	}
	return scheme, model.Truncate(addr, model.MaxRemoteAddrLen)
}
