package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Engine is what the page reads checks from: *watchdog.Engine satisfies it
// (see its Refs, Ref, Generation and Changes for the contracts). The page
// takes a ref of every check once, at its first render, and then looks up
// only the checks that changed: a create, delete or rename costs the
// checks it changed, never a copy of every check.
type Engine interface {
	// Refs returns a live reference to every check and the generation
	// they were taken at.
	Refs() ([]model.CheckRef, uint64)
	// Ref returns a live reference to check id, if the engine holds it.
	Ref(id model.CheckID) (model.CheckRef, bool)
	// Generation changes whenever a check is added, removed or redefined.
	Generation() uint64
	// Changes returns the checks added, removed or redefined after
	// generation since, up to the current generation to; ok is false when
	// it cannot tell (then the page takes every ref again).
	Changes(since uint64) (ids []model.CheckID, to uint64, ok bool)
}

// History is the part of store.Store the page reads: flips, uptime rollups
// and (for authorised detail pages) pings. Any store.Store satisfies it.
// When many checks are missing from its cache, the page asks UptimeAll once
// instead of Uptime once per check.
type History interface {
	Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error)
	Flips(ctx context.Context, id model.CheckID, q store.FlipQuery) ([]model.Flip, error)
	Uptime(ctx context.Context, id model.CheckID, from, to time.Time) ([]model.UptimeDay, error)
	UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error
}

// Options configure a Page. Engine and Store are required; the zero value of
// every other field is usable.
type Options struct {
	// Engine lists the checks and their current states. Required.
	Engine Engine
	// Store gives the history (flips, uptime, pings). Required.
	Store History
	// Public lets anonymous visitors see the read-only public view.
	// Default false: every request must pass Authorize.
	Public bool
	// PublicTag, when set, limits the public view to checks carrying this
	// tag. Default "": the public view lists every check.
	PublicTag string
	// Authorize reports whether a request may see everything (the
	// daemon's API-key check). A browser's HTTP Basic password is
	// presented to it as the X-Api-Key header. Default nil: nobody is
	// authorised (only the public view, if Public, is served).
	Authorize func(*http.Request) bool
	// Title heads the page. Default "Status".
	Title string
	// Channels returns the configured channels (the daemon's notifiers),
	// asked at each render: the authorised view shows each check's
	// channels and warns where a check has none or names one that is
	// not configured (model.Check.RouteWarnings). The public view never
	// shows channels. Default nil: the page shows no channels.
	Channels func() []model.Channel
	// MaxClients bounds the live-update streams open at once; one more is
	// answered 503. Default 100.
	MaxClients int
	// FlushInterval is the least time between two batches of live
	// updates: changes within it are coalesced. Default 1s.
	FlushInterval time.Duration
	// ScanInterval is how often, while a live stream is open, the page
	// looks for changes that no event announces (a check entering its
	// grace time). Default 5s.
	ScanInterval time.Duration
	// Logger receives store errors. Default slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Page serves the status page. It is an http.Handler and a
// model.Listener (with the StateListener and CheckListener optional
// interfaces): register it with the engine for live updates. It is safe for
// concurrent use.
//
// Lifecycle: New starts one goroutine (the live-update hub); Close stops it,
// ends every open live stream and blocks until they have returned. After
// Close, pages are still served but live streams are refused (503). Close
// the page before shutting the HTTP server down (or from
// http.Server.RegisterOnShutdown): Shutdown waits for open streams, which
// only Close ends.
type Page struct {
	opts   Options
	tmpl   *template.Template
	assets map[string]*asset
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // capacity 1: "something is pending"

	// lmu guards what the engine's listeners write; they hold the engine's
	// check locks, so lmu is only ever held briefly.
	lmu        sync.Mutex
	spark      map[model.CheckID]*ring
	pending    map[model.CheckID]struct{} // checks to push to live streams
	upDirty    map[model.CheckID]struct{} // checks whose rollups changed
	flipsDirty bool
	structural bool            // checks created, deleted or renamed
	seedQ      []model.CheckID // sparklines to seed from stored pings (seedSparkLocked)
	// seedMu: one seedQueued at a time (the page's goroutine, Settle), so
	// that Settle returns only once the seeds queued before it are done.
	seedMu  sync.Mutex
	changed map[model.CheckID]struct{} // checks to fetch again at the next sync
	created map[string]model.CheckID   // hid → id of checks created since the last render
	clients map[*client]struct{}
	closed  bool

	// rmu guards the render cache; renders are serialised by it.
	rmu     sync.Mutex
	rows    map[model.CheckID]*row
	hids    map[string]model.CheckID
	order   []*row // sorted by name; nil until the first sync
	uptime  map[model.CheckID]*uptime
	flips   []model.Flip // recent flips of every check, newest first
	flipsOK bool
	gen     uint64  // rebuilds of the index (rebuildLocked)
	engGen  uint64  // the engine's Generation the index is up to date with
	due     dueHeap // rows that turn late at their due time
	chanSig string  // the channel names the rows' warnings were computed with
	// ver is bumped whenever a row's status, failing or warning, any
	// check's tags or the order change: the caches below are of a ver.
	ver     uint64
	ovCache [2]struct {
		ver uint64
		ok  bool
		o   overview
	} // by view.auth
	// warmDirty, while warm scans the rollups without rmu, collects the
	// checks whose rollups were invalidated meanwhile.
	warmDirty map[model.CheckID]struct{}
	warmed    atomic.Bool
	pubRows   []*row // the rows of the public view, in order, of pubVer
	pubVer    uint64
	pubOK     bool
}

var (
	_ http.Handler        = (*Page)(nil)
	_ model.Listener      = (*Page)(nil)
	_ model.StateListener = (*Page)(nil)
	_ model.CheckListener = (*Page)(nil)
)

// New returns a Page serving opts.Engine's checks and starts its live-update
// goroutine; call Close to stop it.
func New(opts Options) *Page {
	if opts.Title == "" {
		opts.Title = "Status"
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 100
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Page{
		opts:    opts,
		tmpl:    templates,
		assets:  assets,
		ctx:     ctx,
		cancel:  cancel,
		wake:    make(chan struct{}, 1),
		spark:   make(map[model.CheckID]*ring),
		pending: make(map[model.CheckID]struct{}),
		upDirty: make(map[model.CheckID]struct{}),
		changed: make(map[model.CheckID]struct{}),
		created: make(map[string]model.CheckID),
		clients: make(map[*client]struct{}),
		rows:    make(map[model.CheckID]*row),
		hids:    make(map[string]model.CheckID),
		uptime:  make(map[model.CheckID]*uptime),
	}
	p.wg.Add(1)
	go p.hub()
	return p
}

// Close ends every live stream, stops the page's goroutine and blocks until
// they have returned. It is idempotent and always returns nil.
func (p *Page) Close() error {
	p.lmu.Lock()
	p.closed = true
	p.lmu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

// ServeHTTP serves, relative to where the page is mounted:
//
//	GET /               the overview (?q= ?tag= ?status= ?page=)
//	GET /checks.json    rows of the overview's list (?q= ?tag= ?status= ?offset= ?limit=)
//	GET /check/{id}     one check (id is the page's opaque id, not the UUID)
//	GET /events         the live-update stream (text/event-stream)
//	GET /status.json    the overview's data as JSON
//	GET /login          asks the browser for an API key (HTTP Basic)
//	GET /static/{file}  the embedded CSS, JS and icon
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := r.URL.Path
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	if name, ok := cutPrefix(path, "static/"); ok {
		p.serveAsset(w, r, name)
		return
	}
	auth := p.authorized(r)
	if path == "login" {
		if !auth {
			challenge(w)
			return
		}
		// Relative, so that it works under any mount prefix.
		w.Header().Set("Location", "./")
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if !auth && !p.opts.Public {
		challenge(w)
		return
	}
	v := view{auth: auth}
	switch {
	case path == "":
		p.serveOverview(w, r, v)
	case path == "events":
		p.serveEvents(w, r, v)
	case path == "status.json":
		p.serveJSON(w, r, v)
	case path == "checks.json":
		p.serveRows(w, r, v)
	default:
		hid, ok := cutPrefix(path, "check/")
		if !ok {
			notFound(w)
			return
		}
		p.serveDetail(w, r, v, hid)
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// view is who is looking: the authorised view or the public one.
type view struct{ auth bool }

// The two views, for messages meant for one of them.
var authView, publicView = view{auth: true}, view{auth: false}

// visible reports whether check c is shown to v.
func (p *Page) visible(v view, c *model.Check) bool {
	if v.auth || p.opts.PublicTag == "" {
		return true
	}
	for _, t := range c.Tags {
		if t == p.opts.PublicTag {
			return true
		}
	}
	return false
}

// authorized asks opts.Authorize, presenting an HTTP Basic password (what
// a browser sends after /login) as the X-Api-Key header.
func (p *Page) authorized(r *http.Request) bool {
	if p.opts.Authorize == nil {
		return false
	}
	if _, pw, ok := r.BasicAuth(); ok && r.Header.Get("X-Api-Key") == "" {
		r2 := r.Clone(r.Context())
		r2.Header.Set("X-Api-Key", pw)
		r2.Header.Del("Authorization")
		return p.opts.Authorize(r2)
	}
	return p.opts.Authorize(r)
}

func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Vitals status (password: an API key)", charset="UTF-8"`)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "an API key is required (HTTP Basic password, X-Api-Key or Authorization: Bearer)", http.StatusUnauthorized)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "not found", http.StatusNotFound)
}

// CheckPath is the path of a check's page relative to where the page is
// mounted ("check/<hid>"): what a notification links to. It does not
// contain the check's UUID.
func CheckPath(id model.CheckID) string { return "check/" + hid(id) }

// hid is a check's id on the page: a hash of its UUID, because the UUID is
// the secret of its ping URL and must not appear on a public page.
func hid(id model.CheckID) string {
	h := sha256.Sum256(append([]byte("vitals-statuspage\x00"), id[:]...))
	return hex.EncodeToString(h[:6])
}

// errClosed is returned to live streams opened after Close.
var errClosed = errors.New("status page closed")
