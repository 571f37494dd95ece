package statuspage_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// listEngine is a fixed list of checks.
type listEngine []store.CheckState

func (l listEngine) List() []store.CheckState { return l }
func (l listEngine) Get(id uuid.UUID) (store.CheckState, bool) {
	for _, c := range l {
		if c.Check.ID == id {
			return c, true
		}
	}
	return store.CheckState{}, false
}

// TestCloseLeavesNoGoroutine runs a page's whole life in a synctest bubble,
// which fails if any goroutine the page started outlives Close. The hub
// runs its warm-up and several scans on the bubble's fake clock meanwhile.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		defer st.Close()
		id := uuid.New()
		now := time.Now()
		c := model.Check{ID: id, Name: "solo", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
		if err := st.CreateCheck(context.Background(), c, model.NewState(id, now)); err != nil {
			t.Fatal(err)
		}
		eng := listEngine{{Check: c, State: model.NewState(id, now)}}
		p := statuspage.New(statuspage.Options{Engine: eng, Store: st})
		time.Sleep(time.Minute) // fake time: the hub scans and warms up
		synctest.Wait()
		var buf bytes.Buffer
		if err := p.Render(context.Background(), &buf, false); err != nil {
			t.Fatal(err)
		}
		p.OnState(c, model.State{CheckID: id, Status: model.StatusUp, LastPing: now})
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
	})
}
