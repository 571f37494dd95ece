package actions

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/restart"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
)

// A docker-style guarded restart routed on a check's down flips: a check
// that keeps flipping down gets MaxRestarts restarts, then the "gave up"
// alert is raised once on the alert channel through Dispatcher.Raise (with
// retries: the alert channel fails once).
func TestGaveUpRaisedOnceThroughDispatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var restarts atomic.Int64
		alerts := &recorder{}
		var failOnce atomic.Bool
		flaky := NotifierFunc(func(ctx context.Context, n Notification) error {
			if failOnce.CompareAndSwap(false, true) {
				return errors.New("pager down")
			}
			return alerts.Send(ctx, n)
		})
		ch := Channels{"pager": flaky}
		st := memstore.New(memstore.Options{})
		var w *watchdogUnderTest
		d := Deps{Raise: func(n Notification, chans []string) { w.disp.Raise(n, chans) }}
		spec := &DockerConfig{Container: "api", Restart: restart.Policy{Initial: time.Second, MaxRestarts: 2, Window: time.Hour}, Alert: []string{"pager"}}
		if err := spec.Validate(); err != nil {
			t.Fatal(err)
		}
		g := NewGuard("restart api", RestarterFunc(func(context.Context) error { restarts.Add(1); return nil }), spec.Restart, d.gaveUp(spec.Alert))
		ch["restart"] = g
		c := pushCheck(0)
		w = startWatchdog(t, st, map[model.CheckID]Rules{c.ID: {Down: []string{"restart"}}}, ch, DispatcherOptions{Rand: func() float64 { return 0 }})
		defer w.stop(t)
		ctx := context.Background()
		w.eng.Create(ctx, c)
		for range 5 {
			w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
			w.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		if restarts.Load() != 2 {
			t.Fatalf("restarts = %d, want 2", restarts.Load())
		}
		got := alerts.sent()
		if len(got) != 1 || got[0].Event != EventGaveUp || got[0].Channel != "pager" || got[0].CheckID != c.ID {
			t.Fatalf("alerts: %+v", got)
		}
		if got[0].Key == Key(c.ID, got[0].FlipID, "pager") && got[0].FlipID != uuid.Nil {
			// its own key: not the key of the down flip's rows
			if rows, _ := st.Notifications(ctx, store.NotificationQuery{}); len(rows) > 0 {
				for _, r := range rows {
					// The gave-up row itself is in the outbox now (durable); only
					// the down flips' rows (channel "restart") must differ.
					if r.FlipID == got[0].FlipID && r.Channel != "pager" {
						t.Fatalf("gave-up alert reuses flip %s of a down row", r.FlipID)
					}
				}
			}
		} else {
			t.Fatalf("gave-up key %q", got[0].Key)
		}
	})
}
