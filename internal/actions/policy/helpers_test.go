package policy

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// hooked registers planners and listeners with e, not yet started, and
// returns it.
func hooked(e *watchdog.Engine, planners []model.Planner, listeners ...model.Listener) *watchdog.Engine {
	for _, p := range planners {
		if err := e.AddPlanner(p); err != nil {
			panic(err)
		}
	}
	for _, l := range listeners {
		if err := e.AddListener(l); err != nil {
			panic(err)
		}
	}
	return e
}

func pushCheck(i int) model.Check {
	return model.Check{
		ID: model.CheckID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("check", i)))), Name: fmt.Sprintf("job-%d", i),
		Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour},
	}
}

var quiet = slog.New(slog.DiscardHandler)
