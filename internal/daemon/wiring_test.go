package daemon

import (
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/badge"
	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The engine is what each part the daemon wires declares it needs of it.
// The guards live here, in the composition root, so that no part imports
// the engine.
var (
	_ ping.Engine       = (*watchdog.Engine)(nil)
	_ api.Engine        = (*watchdog.Engine)(nil)
	_ badge.Engine      = (*watchdog.Engine)(nil)
	_ metrics.Source    = (*watchdog.Engine)(nil)
	_ metrics.Reporter  = (*watchdog.Engine)(nil)
	_ statuspage.Engine = (*watchdog.Engine)(nil)
	_ pull.Engine       = (*watchdog.Engine)(nil)
	_ pull.Engine       = timedReports{}
)

// The hooks the daemon registers with the engine.
var (
	_ store.UpdatePlanner = (*outbox.Planner)(nil)
	_ model.Listener      = (*outbox.Dispatcher)(nil)
	_ model.Listener      = (*pull.Scheduler)(nil)
	_ model.Listener      = (*statuspage.Page)(nil)
)
