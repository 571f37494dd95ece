package watchdogtest_test

import (
	"fmt"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog/watchdogtest"
)

// TestSQLite: every check is created and sent its pings.
func TestSQLite(t *testing.T) {
	e, _ := watchdogtest.SQLite(t, 50, func(i int) model.Check {
		return model.Check{Name: fmt.Sprintf("c%d", i), Kind: model.KindPush}
	}, func(i int) []model.PingKind {
		if i%2 == 0 {
			return []model.PingKind{model.PingSuccess, model.PingFail}
		}
		return nil
	})
	all := e.List()
	down := 0
	for _, cs := range all {
		if cs.State.Status == model.StatusDown {
			down++
		}
	}
	if len(all) != 50 || down != 25 {
		t.Errorf("%d checks, %d down; want 50, 25", len(all), down)
	}
}
