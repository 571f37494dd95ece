package badge

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// Engine is what the badges need of the watchdog engine: the checks and
// their states in memory. *watchdog.Engine implements it.
type Engine interface {
	Get(id model.CheckID) (model.CheckState, bool)
	List() []model.CheckState
	// Len is how many checks there are (cheap: no copy).
	Len() int
}

// Options configure a Handler.
type Options struct {
	// Engine holds the checks whose status the badges show. Required.
	Engine Engine
	// Secret is the installation secret the keys are derived from
	// (store.Store.InstallationSecret). Required.
	Secret []byte
	// Label is the label of the badge of every check (healthchecks.io's
	// MASTER_BADGE_LABEL). Default "Vitals".
	Label string
	// Now is the clock that tells a check in its grace time. Default
	// time.Now; pass the engine's.
	Now func() time.Time
}

// DefaultLabel is the default Options.Label.
const DefaultLabel = "Vitals"

// Handler serves the badges: GET (and HEAD) of the paths that Keys makes,
// with no API key (badges are meant to be embedded in READMEs and status
// pages: their URLs are the secret), and OPTIONS for CORS preflights.
// Every answer allows any origin and must not be cached, as
// healthchecks.io's. A path that is not a badge, or whose key or
// signature is wrong, is 404. It is safe for concurrent use.
type Handler struct {
	e     Engine
	keys  *Keys
	label string
	now   func() time.Time

	// mu guards the index of check keys (see check) and when it was last
	// rebuilt.
	mu      sync.Mutex
	byKey   map[string]model.CheckID
	keyOf   map[model.CheckID]string
	rebuilt time.Time
}

// rebuildEvery bounds how often a key missing from the index rebuilds it
// while the number of checks is unchanged: per-check badges need no API
// key, so without it anyone could make every request a pass over every
// check with forged keys. A new check changes the number and is indexed at
// once; one that replaced a deleted check within this time may answer 404
// for that long.
const rebuildEvery = time.Second

// New returns a handler. It panics if Engine or Secret is missing (a
// wiring bug).
func New(opts Options) *Handler {
	if opts.Engine == nil || len(opts.Secret) == 0 {
		panic("badge.New: Options.Engine and Options.Secret are required")
	}
	if opts.Label == "" {
		opts.Label = DefaultLabel
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{e: opts.Engine, keys: NewKeys(opts.Secret), label: opts.Label, now: opts.Now}
}

// Keys returns the keys the handler checks requests against (and whose
// BadgeURLs and CheckBadgeURL give its paths).
func (h *Handler) Keys() *Keys { return h.keys }

// allowed are the methods the badges answer.
const allowed = "GET, HEAD, OPTIONS"

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Allow-Methods", allowed)
	hd.Set("Access-Control-Max-Age", "600")
	hd.Set("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private")
	hd.Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hd.Set("Allow", allowed)
		http.Error(w, "method not allowed: badges answer GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	req, ok := ParsePath(r.URL.Path)
	if !ok {
		notFound(w)
		return
	}
	now := h.now()
	t, label := NewTally(), ""
	if req.Check {
		cs, ok := h.check(req.Key)
		if !ok {
			notFound(w)
			return
		}
		label = cs.Check.Name
		t.Add(cs.State, now, req.States)
	} else {
		if !h.keys.validProject(req.Key) || !h.keys.validSignature(req.Tag, req.Signature) {
			notFound(w)
			return
		}
		label = req.Tag
		if req.Tag == AllTags {
			label = h.label
		}
		for _, cs := range h.e.List() {
			if req.Tag == AllTags || slices.Contains(cs.Check.Tags, req.Tag) {
				t.Add(cs.State, now, req.States)
			}
		}
	}
	switch req.Format {
	case FormatSVG:
		hd.Set("Content-Type", "image/svg+xml")
		w.Write(SVG(label, t.Status))
	case FormatJSON:
		writeJSON(w, t)
	case FormatShields:
		writeJSON(w, NewShields(label, t.Status))
	}
}

func notFound(w http.ResponseWriter) {
	http.Error(w, "badge not found: unknown badge key, signature or format", http.StatusNotFound)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// check returns the check whose key is key. The index from keys to checks
// is rebuilt from the engine's list when a key is not in it (a check
// created since), reusing the keys already computed — at once when the
// number of checks changed, else at most once per rebuildEvery: forged
// keys cost a map lookup, not a pass over the checks.
func (h *Handler) check(key string) (model.CheckState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id, ok := h.byKey[key]; ok {
		if cs, ok := h.e.Get(id); ok {
			return cs, true
		}
	}
	now := time.Now()
	if h.e.Len() == len(h.keyOf) && !h.rebuilt.IsZero() && now.Sub(h.rebuilt) < rebuildEvery {
		return model.CheckState{}, false
	}
	h.rebuilt = now
	list := h.e.List()
	byKey := make(map[string]model.CheckID, len(list))
	keyOf := make(map[model.CheckID]string, len(list))
	for _, cs := range list {
		id := cs.Check.ID
		k, ok := h.keyOf[id]
		if !ok {
			k = h.keys.CheckKey(id)
		}
		byKey[k], keyOf[id] = id, k
	}
	h.byKey, h.keyOf = byKey, keyOf
	id, ok := byKey[key]
	if !ok {
		return model.CheckState{}, false
	}
	return h.e.Get(id)
}
