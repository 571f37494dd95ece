package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// api is the accounts HTTP API.
type api struct {
	store *Store
	// failing holds the names of the routes that answer 500: the TEST-ONLY
	// "bug" fault (routeNames).
	failing sync.Map
}

// routeNames are the API's routes by the names the bug fault takes.
var routeNames = []string{"list", "create", "get", "deposit"}

// routes registers the API on mux, each handler wrapped by wrap (the load
// shedding and passive health middleware: the probes themselves are not
// counted as load).
func (a *api) routes(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET /accounts", wrap(a.bug("list", a.list)))
	mux.Handle("POST /accounts", wrap(a.bug("create", a.create)))
	mux.Handle("GET /accounts/{id}", wrap(a.bug("get", a.get)))
	mux.Handle("POST /accounts/{id}/deposit", wrap(a.bug("deposit", a.deposit)))
}

// bug answers 500 instead of calling h while the route is failing.
func (a *api) bug(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, failing := a.failing.Load(route); failing {
			writeErr(w, http.StatusInternalServerError, errors.New("injected bug: route "+route+" fails"))
			return
		}
		h(w, r)
	})
}

// setFailing makes route answer 500 (or stop doing so).
func (a *api) setFailing(route string, fail bool) error {
	if !slices.Contains(routeNames, route) {
		return fmt.Errorf("unknown route %q: want one of %v", route, routeNames)
	}
	if fail {
		a.failing.Store(route, true)
	} else {
		a.failing.Delete(route)
	}
	return nil
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	accts, err := a.store.List(r.Context(), 100)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, accts)
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Owner string `json:"owner"`
	}
	if err := decodeBody(r, &in); err != nil || in.Owner == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`body must be {"owner": "<name>"}`))
		return
	}
	acct, err := a.store.Create(r.Context(), in.Owner)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusCreated, acct)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, errors.New("account id must be an integer"))
		return
	}
	acct, err := a.store.Get(r.Context(), id)
	a.answer(w, acct, err)
}

func (a *api) deposit(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, errors.New("account id must be an integer"))
		return
	}
	var in struct {
		Cents int64 `json:"cents"`
	}
	if err := decodeBody(r, &in); err != nil || in.Cents == 0 {
		writeErr(w, http.StatusBadRequest, errors.New(`body must be {"cents": <non-zero integer>}`))
		return
	}
	acct, err := a.store.Deposit(r.Context(), id, in.Cents)
	a.answer(w, acct, err)
}

func (a *api) answer(w http.ResponseWriter, acct Account, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeErr(w, http.StatusNotFound, err)
	case errors.Is(err, errInsufficient):
		writeErr(w, http.StatusConflict, err)
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, err)
	default:
		writeJSON(w, http.StatusOK, acct)
	}
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
