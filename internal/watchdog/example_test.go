package watchdog_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// A heartbeat check goes up on its first ping and down on a fail ping;
// a listener hears each flip with its reason.
func Example() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{}) // sqlite.Open(path, sqlite.Options{}) in the daemon
	defer st.Close()
	e := watchdog.New(st, watchdog.Options{})
	// Hooks are registered before Start.
	if err := e.AddListener(model.ListenerFunc(func(t model.Transition) {
		fmt.Printf("%s: %s -> %s (%s)\n", t.Check.Name, t.Flip.From, t.Flip.To, t.Flip.Reason)
	})); err != nil {
		panic(err)
	}
	if err := e.Start(ctx); err != nil {
		panic(err)
	}
	defer e.Close()

	c, err := e.Create(ctx, model.Check{
		ID:       model.CheckID(uuid.MustParse("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278")),
		Name:     "nightly backup",
		Kind:     model.KindPush,
		Schedule: model.Schedule{Cron: "0 3 * * *", TZ: "Europe/Paris", Grace: 30 * time.Minute},
	})
	if err != nil {
		panic(err)
	}
	e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
	e.Ping(ctx, c.ID, model.Ping{Kind: model.PingExitStatus, ExitStatus: 2})
	// Output:
	// nightly backup: new -> up (success ping)
	// nightly backup: up -> down (exit status 2)
}
