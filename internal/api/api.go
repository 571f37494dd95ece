package api

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Engine is what the API needs of the watchdog engine; *watchdog.Engine
// implements it.
type Engine interface {
	Create(ctx context.Context, c model.Check) (model.Check, error)
	Update(ctx context.Context, c model.Check) (model.Check, error)
	Delete(ctx context.Context, id model.CheckID) error
	Pause(ctx context.Context, id model.CheckID, reason string) (model.State, error)
	Resume(ctx context.Context, id model.CheckID, reason string) (model.State, error)
	Get(id model.CheckID) (model.CheckState, bool)
	List() []model.CheckState
	LookupSlug(pingKey, slug string) []model.CheckID
	// Refs, Ref, Generation and Changes feed the list index
	// (listindex.go).
	Refs() ([]model.CheckRef, uint64)
	Ref(id model.CheckID) (model.CheckRef, bool)
	Generation() uint64
	Changes(since uint64) (ids []model.CheckID, to uint64, ok bool)
}

// History is what the API reads from the store: a check's pings and flips,
// and the outbox rows that tell what became of each flip's actions. Every
// store.Store implements it.
type History interface {
	Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error)
	Flips(ctx context.Context, id model.CheckID, q store.FlipQuery) ([]model.Flip, error)
	Notifications(ctx context.Context, q store.NotificationQuery) ([]model.Notification, error)
}

// Key is one API key: clients send its Secret in X-Api-Key or
// Authorization: Bearer (an empty secret is ignored). ReadOnly keys may
// only GET; they see unique_key instead of a check's UUID, ping key and
// ping URLs.
type Key = apikey.Key

// Options configure a Handler.
type Options struct {
	// Engine is the watchdog engine the checks live in. Required.
	Engine Engine
	// Store is where pings, flips and outbox rows are read from (the
	// engine's store). Required.
	Store History
	// Keys are the accepted API keys. With none, every request is answered
	// 401: the API is closed until a key is configured.
	Keys []Key
	// Prefix is the path the handler is mounted at; the API version
	// follows it ("/api/v1/", "/api/v2/", "/api/v3/"). Default "/api/".
	Prefix string
	// PingURL is the base of the ping URLs shown to read-write keys, such
	// as "https://vitals.example.com/ping/"; its scheme and host are also
	// used for update_url, pause_url and resume_url. A bare path ("/ping/")
	// or "" (default "/ping/") is joined to each request's scheme and Host.
	PingURL string
	// PingKey is the ping key given to checks created through the API
	// without one (slug URLs are /ping/<ping_key>/<slug>). Default "": such
	// checks have no slug URL.
	PingKey string
	// MaxBodyBytes caps request bodies; longer ones are answered 413.
	// Default 64 KiB.
	MaxBodyBytes int64
	// ValidateProbe checks the probe definition of a pull check (the JSON
	// object in "probe"), for the pull scheduler to plug in its parser.
	// Default nil: any JSON object is accepted.
	ValidateProbe func(probe []byte) error
	// Silences keeps the silences served under /silences (GET, POST,
	// DELETE /silences/{id}). Default nil: those endpoints answer 404.
	Silences SilenceBook
	// Channels lists the notification channels (the config's notifiers,
	// healthchecks.io's integrations) for GET /channels/ and for the
	// "channels" field of create and update. Default nil: none.
	Channels func() []model.Channel
	// TestChannel sends a test notification through the configured
	// channel name and reports the outcome, for POST
	// /channels/{id}/test; it must bound its own time. Default nil: that
	// endpoint answers 404.
	TestChannel func(ctx context.Context, name string) ChannelTest
	// BadgeURLs returns the paths of a tag's badges ("*": every check) by
	// format (svg, svg3, json, json3, shields, shields3), for GET
	// /badges/; the API prefixes them with its origin. Default nil: the
	// list is empty.
	BadgeURLs func(tag string) map[string]string
	// CheckBadgeURL returns the path of a check's own badge (the
	// "badge_url" field). Default nil: the field is omitted.
	CheckBadgeURL func(id model.CheckID) string
	// Status reports whether the store answers, for GET /status/.
	// Default nil: always OK.
	Status func(ctx context.Context) error
	// Logger receives store errors. Default slog.Default().
	Logger *slog.Logger
	// Now returns the current time, for the statuses and times shown
	// (grace, ?seconds= of flips). Default time.Now.
	Now func() time.Time
}

// Default limits.
const (
	DefaultMaxBodyBytes = 64 << 10
	// MaxLimit bounds ?limit, the opt-in page size of list endpoints.
	MaxLimit = 1000
	// MaxPings is how many pings GET /pings answers without ?limit (the
	// newest; healthchecks.io's cap too).
	MaxPings = 1000
	// MaxFlips is how many flips GET /flips answers without ?limit (the
	// newest, with next_cursor when there are more).
	MaxFlips = 10_000
)

// Handler serves the JSON API. It is safe for concurrent use.
type Handler struct {
	e    Engine
	st   History
	opts Options
	log  *slog.Logger
	keys *apikey.Set

	// writeMu serialises creates and updates, so that the check for a
	// duplicate slug and the write it guards are atomic among API calls.
	writeMu sync.Mutex

	// ukeys caches unique keys (see keyIndex).
	ukeys keyIndex
	// list orders the checks for the list endpoints (see listIndex).
	list listIndex

	// testMu lets one channel test run at a time (TryLock: a second one
	// is answered 429), so that a client cannot flood a chat room.
	testMu sync.Mutex
}

// New returns a handler. See Options for what is required and the
// defaults. It panics if Engine or Store is nil (a wiring bug).
func New(opts Options) *Handler {
	if opts.Engine == nil || opts.Store == nil {
		panic("api.New: Options.Engine and Options.Store are required")
	}
	if opts.Prefix == "" {
		opts.Prefix = "/api/"
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{e: opts.Engine, st: opts.Store, opts: opts, log: opts.Logger, keys: apikey.NewSet(opts.Keys)}
}
