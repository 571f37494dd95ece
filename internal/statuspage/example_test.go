package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The daemon builds the engine, then the page over it, registers the page
// as the engine's listener before starting the engine, and mounts the page
// under a prefix. Anonymous visitors get the public view.
func Example() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{}) // sqlite.Open(path, ...) in the daemon
	defer st.Close()
	eng := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	page := statuspage.New(statuspage.Options{
		Engine:    eng,
		Store:     st,
		Public:    true,
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == "secret" },
		Title:     "ACME status",
	})
	if err := eng.AddListener(page); err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close()

	mux := http.NewServeMux()
	mux.Handle("/status/", http.StripPrefix("/status", page))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Close the page before the server: it ends the live streams, which a
	// server's Close or Shutdown would otherwise wait for. With an
	// http.Server: srv.RegisterOnShutdown(func() { page.Close() }).
	defer page.Close()

	c, _ := eng.Create(ctx, model.Check{Name: "nightly backup", Kind: model.KindPush,
		Schedule: model.Schedule{Period: 24 * time.Hour, Grace: time.Hour}})
	eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})

	res, err := http.Get(srv.URL + "/status/status.json")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var out struct {
		Title  string
		Checks []struct{ Name, Status, Days string }
	}
	json.NewDecoder(res.Body).Decode(&out)
	fmt.Println(res.StatusCode, out.Title)
	for _, c := range out.Checks {
		fmt.Println(c.Name, c.Status, "today:", string(c.Days[len(c.Days)-1]))
	}
	// Output:
	// 200 ACME status
	// nightly backup up today: a
}
