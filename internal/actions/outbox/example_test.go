package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The daemon's wiring: channels built through the registry, a Planner that
// writes outbox rows in the flip's transaction, a Dispatcher that delivers
// them and wakes on every committed flip.
func Example() {
	got := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &n)
		got <- fmt.Sprintf("%s is %s (%s), key check/flip/channel: %v", n.Check, n.State, n.Reason,
			r.Header.Get(notify.HeaderIdempotencyKey) == n.Key)
	}))
	defer receiver.Close()

	// Config: notifiers: {ops: {webhook: {url: …}}}
	spec, err := notify.NewRegistry().Decode("webhook", func(v any) error {
		v.(*notify.WebhookConfig).URL = receiver.URL
		return nil
	})
	if err != nil {
		panic(err)
	}
	channels, err := notify.Build(map[string]notify.Spec{"ops": spec}, notify.Deps{})
	if err != nil {
		panic(err)
	}

	// The check names its channels: its flips to down, and back up, go to
	// "ops".
	check := model.Check{ID: model.NewCheckID(), Name: "backup", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute},
		Routes: model.Routes{Down: []string{"ops"}, Up: []string{"ops"}}}

	quiet := slog.New(slog.DiscardHandler)
	st := memstore.New(memstore.Options{}) // sqlite in the daemon
	defer st.Close()
	dispatcher := outbox.NewDispatcher(st, channels, outbox.DispatcherOptions{Logger: quiet})
	engine := watchdog.New(st, watchdog.Options{Logger: quiet})
	// The planner and the dispatcher are the engine's hooks, registered
	// before it starts.
	if err := engine.AddPlanner(outbox.NewPlanner(outbox.PlannerOptions{})); err != nil {
		panic(err)
	}
	if err := engine.AddListener(dispatcher); err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := engine.Start(ctx); err != nil {
		panic(err)
	}
	defer engine.Close()
	dispatcher.Start(ctx)
	defer dispatcher.Stop()

	engine.Create(ctx, check)
	engine.Ping(ctx, check.ID, model.Ping{Kind: model.PingSuccess})
	engine.Ping(ctx, check.ID, model.Ping{Kind: model.PingExitStatus, ExitStatus: 2})
	fmt.Println(strings.TrimSpace(<-got))
	// Output:
	// backup is down (exit status 2), key check/flip/channel: true
}
