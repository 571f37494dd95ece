package outbox

import "github.com/vitals-go/vitals/internal/actions/actionstest"

// The shared test support (actionstest), under the names the tests use.
var (
	hooked           = actionstest.Hooked
	testNotification = actionstest.Notification
	testCheck        = actionstest.CheckID
	testFlip         = actionstest.FlipID
	testTime         = actionstest.Time
	routed           = actionstest.Routed
	waitUntil        = actionstest.WaitUntil
)

type recorder = actionstest.Recorder
