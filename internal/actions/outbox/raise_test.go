package outbox

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
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
		flaky := notify.NotifierFunc(func(ctx context.Context, n notify.Notification) error {
			if failOnce.CompareAndSwap(false, true) {
				return errors.New("pager down")
			}
			return alerts.Send(ctx, n)
		})
		ch := notify.Channels{"pager": flaky}
		st := memstore.New(memstore.Options{})
		var w *watchdogUnderTest
		d := notify.Deps{Raise: func(n notify.Notification, chans []string) { w.disp.Raise(n, chans) }}
		spec := &notify.DockerConfig{Container: "api", Restart: restart.Policy{Initial: time.Second, MaxRestarts: 2, Window: time.Hour}, Alert: []string{"pager"}}
		if err := spec.Validate(); err != nil {
			t.Fatal(err)
		}
		g := notify.NewGuard("restart api", notify.RestarterFunc(func(context.Context) error { restarts.Add(1); return nil }), spec.Restart, d.GaveUp(spec.Alert))
		ch["restart"] = g
		c := routed(0, model.Routes{Down: []string{"restart"}})
		w = startWatchdog(t, st, ch, DispatcherOptions{Rand: func() float64 { return 0 }})
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
		got := alerts.Sent()
		if len(got) != 1 || got[0].Event != notify.EventGaveUp || got[0].Channel != "pager" || got[0].CheckID != c.ID {
			t.Fatalf("alerts: %+v", got)
		}
		if got[0].Key == notify.Key(c.ID, got[0].FlipID, "pager") && got[0].FlipID != uuid.Nil {
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
