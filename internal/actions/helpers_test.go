package actions

import (
	"log/slog"

	"github.com/vitals-go/vitals/internal/actions/actionstest"
)

// The shared test support (actionstest), under the names the tests use.
var (
	hooked    = actionstest.Hooked
	pushCheck = actionstest.PushCheck
	routed    = actionstest.Routed
	waitUntil = actionstest.WaitUntil
	quiet     = slog.New(slog.DiscardHandler)
)

type recorder = actionstest.Recorder
