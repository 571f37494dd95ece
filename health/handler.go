package health

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Header values shared by every response. Their capacity equals their
// length, so a later Header().Add by a middleware copies instead of writing
// into them.
var (
	hdrJSON       = []string{"application/json"}[:1:1]
	hdrHealthJSON = []string{"application/health+json"}[:1:1]
	hdrNoStore    = []string{"no-store"}[:1:1]
	hdrAllowGet   = []string{"GET, HEAD"}[:1:1]
	hdrAllowPost  = []string{"POST"}[:1:1]
)

const mediaHealthJSON = "application/health+json"

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Mount registers the probe paths, their /<check> forms, the aliases and
// (with AdminOverride) the drain override on mux.
func (m *Monitor) Mount(mux *http.ServeMux) {
	for p := range m.routes {
		mux.Handle(p, m)
		mux.Handle(p+"/", m)
	}
	if m.opts.AdminOverride {
		mux.Handle("/-/drain", m)
		mux.Handle("/-/undrain", m)
	}
}

// ServeHTTP serves GET and HEAD for:
//
//	/livez, /readyz, /startupz, /healthz   the probe: 200 when UP or DEGRADED, 503 when DOWN
//	/<probe>/<check>                       one check of that probe: 200 when UP or DEGRADED, 503 when DOWN
//	any alias from Options.Aliases         as the probe it names
//
// Query parameters: exclude=<check> (repeatable, or comma-separated) leaves
// checks out of the probe; verbose asks for details. Details are given only
// to callers that Options.Authorize allows; others get the status alone.
// Accept: application/health+json selects the IETF draft format.
//
// With Options.AdminOverride, POST /-/drain and POST /-/undrain switch the
// drain for authorised callers.
//
// Every answer carries Cache-Control: no-store. Unknown paths and checks get
// 404, other methods 405, each with a JSON {"error": reason}.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	var kinds Kind
	ok := true
	switch path { // the common paths without a map lookup
	case "/readyz":
		kinds = Readiness
	case "/livez":
		kinds = Liveness
	default:
		kinds, ok = m.routes[path]
	}
	check := ""
	if !ok {
		if m.opts.AdminOverride && (path == "/-/drain" || path == "/-/undrain") {
			m.serveOverride(w, r, path == "/-/drain")
			return
		}
		if i := strings.LastIndexByte(path, '/'); i > 0 {
			kinds, ok = m.routes[path[:i]]
			check = path[i+1:]
		}
		if !ok || check == "" {
			writeError(w, http.StatusNotFound, "no health probe at "+strconv.Quote(path)+": use /livez, /readyz, /startupz or /healthz")
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = hdrAllowGet
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET or HEAD")
		return
	}

	verbose, exclude := parseQuery(r.URL.RawQuery)
	ietf := wantsIETF(r)
	details := (verbose || ietf) && m.opts.Authorize != nil && m.opts.Authorize(r)

	m.refreshOnDemand(r.Context(), kinds)

	if check != "" {
		m.serveCheck(w, r, kinds, check, details, ietf)
		return
	}
	idx := snapIndex(kinds)
	if idx < 0 || len(exclude) > 0 {
		m.mu.Lock()
		rep := m.reportLocked(kinds, exclude, details)
		m.mu.Unlock()
		p := probeSnap{status: rep.Status}
		if details {
			p = encodeProbe(rep, m.opts)
		}
		m.serveProbe(w, r, &p, details, ietf)
		return
	}
	m.serveProbe(w, r, &m.snap.Load().probes[idx], details, ietf)
}

func (m *Monitor) serveProbe(w http.ResponseWriter, r *http.Request, p *probeSnap, details, ietf bool) {
	code := p.status.HTTPCode()
	switch {
	case ietf && details:
		writeBody(w, r, code, hdrHealthJSON, p.ietf)
	case ietf:
		writeBody(w, r, code, hdrHealthJSON, minimalIETF[p.status])
	case details:
		bp := bufPool.Get().(*[]byte)
		*bp = p.appendVerbose((*bp)[:0], m.Uptime())
		writeBody(w, r, code, hdrJSON, *bp)
		bufPool.Put(bp)
	default:
		writeBody(w, r, code, hdrJSON, minimalBodies[p.status])
	}
}

func (m *Monitor) serveCheck(w http.ResponseWriter, r *http.Request, kinds Kind, name string, details, ietf bool) {
	res, ok := m.Result(name)
	if !ok || res.Kinds&kinds == 0 {
		writeError(w, http.StatusNotFound, "no check "+strconv.Quote(name)+" in this probe")
		return
	}
	p := probeSnap{status: res.Status}
	if details {
		p = encodeProbe(Report{Kinds: kinds, Status: res.Status, Checks: []Result{res}}, m.opts)
	}
	m.serveProbe(w, r, &p, details, ietf)
}

func (m *Monitor) serveOverride(w http.ResponseWriter, r *http.Request, drain bool) {
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = hdrAllowPost
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use POST")
		return
	}
	if m.opts.Authorize == nil || !m.opts.Authorize(r) {
		writeError(w, http.StatusForbidden, "not authorised to change the drain state")
		return
	}
	if drain {
		m.Drain()
	} else {
		m.Undrain()
	}
	body, _ := json.Marshal(map[string]bool{"draining": m.Draining()})
	writeBody(w, r, http.StatusOK, hdrJSON, append(body, '\n'))
}

// parseQuery reads the verbose flag and the excluded checks from a raw query
// without building a url.Values map: the verbose path stays cheap. Malformed
// escapes in a value drop that value; unknown parameters are ignored.
func parseQuery(raw string) (verbose bool, exclude []string) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "verbose":
			verbose = true
		case "exclude":
			if strings.ContainsAny(v, "%+") {
				var err error
				if v, err = url.QueryUnescape(v); err != nil {
					continue
				}
			}
			for e := range strings.SplitSeq(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					exclude = append(exclude, e)
				}
			}
		}
	}
	return verbose, exclude
}

func wantsIETF(r *http.Request) bool {
	for _, v := range r.Header["Accept"] {
		if strings.Contains(v, mediaHealthJSON) {
			return true
		}
	}
	return false
}

func writeBody(w http.ResponseWriter, r *http.Request, code int, ctype []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	h["Cache-Control"] = hdrNoStore
	if r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		return
	}
	w.WriteHeader(code)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, reason string) {
	body, _ := json.Marshal(map[string]string{"error": reason})
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(code)
	w.Write(append(body, '\n')) //nolint:errcheck // the client went away
}

// BearerToken returns an authoriser for [Options.Authorize] that allows
// requests carrying "Authorization: Bearer <token>" (the scheme in any
// case, RFC 9110). The token presented is hashed (SHA-256) and the sums
// compared in constant time, so the time taken tells nothing about the
// token's length. An empty token allows nobody. (The watchdog's
// internal/apikey checks keys the same way; this package imports only the
// standard library.)
func BearerToken(token string) func(*http.Request) bool {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) bool {
		scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if token == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
}

// AllowAll is an authoriser for [Options.Authorize] that shows details to
// everyone. Use it only where the health port is not reachable from outside.
func AllowAll(*http.Request) bool { return true }
