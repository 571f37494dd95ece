package api

import (
	"net/http"

	"github.com/vitals-go/vitals/internal/apikey"
)

// authenticate returns what the key r presents allows and the key's name,
// and whether r presents one at all. Keys are checked by the apikey
// package, as everywhere else in the daemon.
func (h *Handler) authenticate(r *http.Request) (acc apikey.Access, name string, presented bool) {
	secret, ok := apikey.FromRequest(r)
	if !ok {
		return apikey.None, "", false
	}
	acc, name = h.keys.Lookup(secret)
	return acc, name, true
}
