package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/model"
)

// Versions are the API versions served, healthchecks.io's: /api/v1/,
// /api/v2/ and /api/v3/ (see docs/api.md for what differs).
var Versions = []int{1, 2, 3}

// request is one routed, authenticated API call.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	v       int // API version: 1, 2 or 3
	access  apikey.Access
	keyName string
	// body is the request body, read once (nil when empty).
	body []byte
}

func (q *request) readOnly() bool { return q.access != apikey.Write }

// Access levels an endpoint needs.
const (
	needRead  = iota // any key
	needWrite        // a read-write key (healthchecks.io's @authorize)
	needNone         // no key (GET /status/)
)

// endpoint is one method on one route.
type endpoint struct {
	method string
	need   int
	serve  func(h *Handler, q *request, args []string) *apiError
}

// route finds the endpoints of path (after the prefix and the version):
// nil when there is no such route. args are the path's variable parts.
func (h *Handler) route(path string) (eps []endpoint, args []string) {
	seg := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, s := range seg {
		if s == "" {
			return nil, nil
		}
	}
	switch {
	case len(seg) == 1 && seg[0] == "checks":
		return []endpoint{{"GET", needRead, (*Handler).listChecks}, {"POST", needWrite, (*Handler).createCheck}}, nil
	case len(seg) == 2 && seg[0] == "checks":
		return []endpoint{
			{"DELETE", needWrite, (*Handler).deleteCheck},
			{"GET", needRead, (*Handler).getCheck},
			{"PATCH", needWrite, (*Handler).updateCheck},
			{"POST", needWrite, (*Handler).updateCheck},
		}, seg[1:]
	case len(seg) == 3 && seg[0] == "checks":
		switch seg[2] {
		case "pause":
			return []endpoint{{"POST", needWrite, (*Handler).pauseCheck}}, seg[1:2]
		case "resume":
			return []endpoint{{"POST", needWrite, (*Handler).resumeCheck}}, seg[1:2]
		case "pings":
			return []endpoint{{"GET", needWrite, (*Handler).listPings}}, seg[1:2]
		case "flips":
			return []endpoint{{"GET", needRead, (*Handler).listFlips}}, seg[1:2]
		}
	case len(seg) == 5 && seg[0] == "checks" && seg[2] == "pings" && seg[4] == "body":
		return []endpoint{{"GET", needWrite, (*Handler).pingBody}}, []string{seg[1], seg[3]}
	case len(seg) == 1 && seg[0] == "channels":
		return []endpoint{{"GET", needWrite, (*Handler).listChannels}}, nil
	case len(seg) == 3 && seg[0] == "channels" && seg[2] == "test" && h.opts.TestChannel != nil:
		return []endpoint{{"POST", needWrite, (*Handler).testChannel}}, seg[1:2]
	case len(seg) == 1 && seg[0] == "badges":
		return []endpoint{{"GET", needRead, (*Handler).listBadges}}, nil
	case len(seg) == 1 && seg[0] == "counts":
		return []endpoint{{"GET", needRead, (*Handler).countChecks}}, nil
	case len(seg) == 1 && seg[0] == "status":
		return []endpoint{{"GET", needNone, (*Handler).status}}, nil
	case len(seg) == 1 && seg[0] == "silences" && h.opts.Silences != nil:
		return []endpoint{{"GET", needRead, (*Handler).listSilences}, {"POST", needWrite, (*Handler).createSilence}}, nil
	case len(seg) == 2 && seg[0] == "silences" && h.opts.Silences != nil:
		return []endpoint{{"DELETE", needWrite, (*Handler).deleteSilence}}, seg[1:]
	}
	return nil, nil
}

// version cuts the API version off path (what follows the prefix): "v1/…"
// is 1 and "…". ok is false for anything else.
func version(path string) (v int, rest string, ok bool) {
	head, rest, found := strings.Cut(path, "/")
	if !found || len(head) != 2 || head[0] != 'v' {
		return 0, "", false
	}
	v = int(head[1] - '0')
	if !slices.Contains(Versions, v) {
		return 0, "", false
	}
	return v, rest, true
}

// ServeHTTP implements http.Handler: it routes, answers CORS preflights,
// authenticates and serves one API request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every endpoint's body is capped, including those that take none.
	if r.Body == nil { // a client-side request handed over directly
		r.Body = http.NoBody
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	q := &request{w: w, r: r}
	if err := h.serve(q); err != nil {
		h.writeError(w, err)
	}
}

func (h *Handler) serve(q *request) *apiError {
	rest, ok := strings.CutPrefix(q.r.URL.Path, h.opts.Prefix)
	var path string
	if ok {
		q.v, path, ok = version(rest)
	}
	var eps []endpoint
	var args []string
	if ok {
		eps, args = h.route(path)
	}
	if eps == nil {
		return errorf(http.StatusNotFound, "no such endpoint: "+clipPath(q.r.URL.Path))
	}
	// healthchecks.io's cors decorator: every answer of a route says which
	// methods a browser may use, and OPTIONS is the preflight.
	methods := []string{}
	for _, ep := range eps {
		methods = append(methods, ep.method)
	}
	hdr := q.w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Allow-Headers", "X-Api-Key, Authorization, Content-Type")
	hdr.Set("Access-Control-Allow-Methods", strings.Join(append(slices.Clone(methods), http.MethodOptions), ", "))
	hdr.Set("Access-Control-Max-Age", "600")
	if q.r.Method == http.MethodOptions {
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	method := q.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	i := slices.IndexFunc(eps, func(ep endpoint) bool { return ep.method == method })
	if i < 0 {
		var allow []string
		for _, m := range methods {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allow = append(allow, http.MethodOptions)
		slices.Sort(allow)
		e := errorf(http.StatusMethodNotAllowed, "method "+clipPath(q.r.Method)+" not allowed", "allowed: "+strings.Join(allow, ", "))
		e.Allow = strings.Join(allow, ", ")
		return e
	}
	ep := eps[i]
	// Every body is read (and capped) before anything else; a POST body
	// may carry the API key, so it is parsed before the key is checked,
	// as healthchecks.io's authorize does.
	body, err := h.readBody(q.w, q.r)
	if err != nil {
		return err
	}
	q.body = body
	if ep.need == needNone {
		return ep.serve(h, q, args)
	}
	var bodyKey string
	if body != nil && (method == http.MethodPost || method == http.MethodPatch) {
		obj, err := parseObject(body)
		if err != nil {
			return err
		}
		if raw, ok := obj["api_key"]; ok {
			_ = json.Unmarshal(raw, &bodyKey) // a non-string is no key
		}
	}
	if err := h.authenticate(q, bodyKey); err != nil {
		return err
	}
	if ep.need == needWrite && q.readOnly() {
		return errorf(http.StatusUnauthorized, "wrong api key", "read-only API key: "+method+" "+endpointName(path)+" needs a read-write key")
	}
	return ep.serve(h, q, args)
}

// endpointName names a route for messages without its variable parts
// (which may be a check's UUID).
func endpointName(path string) string {
	seg := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(seg) > 1 {
		seg[1] = "{key}"
	}
	if len(seg) > 3 {
		seg[3] = "{n}"
	}
	return "/" + strings.Join(seg, "/")
}

// clipPath bounds a client's path or method echoed in an error.
func clipPath(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// authenticate sets q's access from the key it presents: X-Api-Key or
// Authorization: Bearer, else bodyKey (the "api_key" of a POST body).
func (h *Handler) authenticate(q *request, bodyKey string) *apiError {
	secret, ok := apikey.FromRequest(q.r)
	if !ok {
		secret, ok = bodyKey, bodyKey != ""
	}
	if !ok {
		return errorf(http.StatusUnauthorized, "missing api key",
			"send the API key in the X-Api-Key header, as Authorization: Bearer, or as api_key in a POST body")
	}
	acc, name := h.keys.Lookup(secret)
	if acc == apikey.None {
		return errorf(http.StatusUnauthorized, "wrong api key")
	}
	q.access, q.keyName = acc, name
	return nil
}

// parseObject parses a body as one JSON object, with healthchecks.io's
// errors: "could not parse request body" for what is not JSON, "json
// validation error: value is not an object" for other JSON values.
func parseObject(body []byte) (map[string]json.RawMessage, *apiError) {
	if !json.Valid(body) {
		return nil, errorf(http.StatusBadRequest, "could not parse request body", jsonSyntaxDetail(body))
	}
	var obj map[string]json.RawMessage
	if firstByte(body) != '{' || json.Unmarshal(body, &obj) != nil {
		return nil, errorf(http.StatusBadRequest, "json validation error: value is not an object",
			"expected a JSON object, got "+jsonKind(body))
	}
	return obj, nil
}

// jsonSyntaxDetail explains why body is not one JSON value.
func jsonSyntaxDetail(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonError(err)
	}
	return "invalid JSON: data after the value"
}

// resolve finds the check named by key: its canonical UUID, or its
// unique_key.
func (h *Handler) resolve(key string) (model.CheckState, *apiError) {
	notFound := errorf(http.StatusNotFound, "check not found")
	switch len(key) {
	case 36:
		id, err := model.ParseCheckID(key)
		if err != nil {
			return model.CheckState{}, notFound
		}
		cs, ok := h.e.Get(id)
		if !ok {
			return model.CheckState{}, notFound
		}
		return cs, nil
	case 40:
		id, ok := h.ukeys.lookup(strings.ToLower(key), func() []model.CheckID {
			refs, _ := h.e.Refs()
			ids := make([]model.CheckID, len(refs))
			for i, r := range refs {
				ids[i] = r.Load().Check.ID
			}
			return ids
		})
		if !ok {
			return model.CheckState{}, notFound
		}
		if cs, ok := h.e.Get(id); ok {
			return cs, nil
		}
	}
	return model.CheckState{}, notFound
}

// urls returns the origin (scheme://host) of the URLs in answers and the
// base of ping URLs (ending in "/"): from Options.PingURL when it is
// absolute, else from the scheme and Host of the request (and PingURL as a
// path, default "/ping/").
func (h *Handler) urls(r *http.Request) (origin, pingBase string) {
	pingBase = h.opts.PingURL
	if u, err := url.Parse(pingBase); err == nil && u.Scheme != "" && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
		if pingBase == "" {
			pingBase = "/ping/"
		}
		pingBase = origin + "/" + strings.TrimPrefix(pingBase, "/")
	}
	if !strings.HasSuffix(pingBase, "/") {
		pingBase += "/"
	}
	return origin, pingBase
}

// apiBase returns the absolute base of q's API version, ending in "/":
// "https://vitals.example.com/api/v3/".
func (h *Handler) apiBase(q *request) string {
	origin, _ := h.urls(q.r)
	return origin + h.opts.Prefix + "v" + strconv.Itoa(q.v) + "/"
}
