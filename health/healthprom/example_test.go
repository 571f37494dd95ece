package healthprom_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/healthprom"
)

func Example() {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	m.Register(health.Check{Name: "db", Checker: health.CheckerFunc(func(context.Context) error { return nil })})

	reg := prometheus.NewRegistry()
	reg.MustRegister(healthprom.New(m, healthprom.Options{}))
	// Serve it with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).

	// Before its first run the check is DOWN, and so is readiness.
	out, _ := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain, "health_check_up", "health_probe_up")
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "#") {
			fmt.Print(line)
		}
	}
	// Output:
	// health_check_up{check="db",critical="true",kind="readiness"} 0
	// health_probe_up{probe="all"} 0
	// health_probe_up{probe="liveness"} 1
	// health_probe_up{probe="readiness"} 0
	// health_probe_up{probe="startup"} 1
}
