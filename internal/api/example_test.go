package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The daemon mounts the handler under /api/ (it serves /api/v1/, /api/v2/
// and /api/v3/) with its keys; a client
// creates a check with a read-write key.
func Example() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	eng := watchdog.New(st, watchdog.Options{})
	if err := eng.Start(context.Background()); err != nil {
		panic(err)
	}
	defer eng.Close()
	h := api.New(api.Options{
		Engine: eng,
		Store:  st,
		Keys:   []api.Key{{Name: "ops", Secret: "s3cret"}, {Name: "dashboard", Secret: "r3ad", ReadOnly: true}},
	})

	req := httptest.NewRequest("POST", "/api/v1/checks", strings.NewReader(`{"name":"nightly backup","timeout":86400,"grace":3600}`))
	req.Header.Set("X-Api-Key", "s3cret")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	req = httptest.NewRequest("DELETE", "/api/v1/checks/"+eng.List()[0].Check.ID.Secret(), nil)
	req.Header.Set("Authorization", "Bearer r3ad")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 201
	// 401 {"error":"wrong api key","details":["read-only API key: DELETE /checks/{key} needs a read-write key"]}
}
