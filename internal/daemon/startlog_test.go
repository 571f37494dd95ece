package daemon

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/testenv"
)

// TestOneStartLine: starting says so once, with the number of checks the
// watchdog runs once the config is applied (the engine, started on the
// empty store before the config is applied, used to say "checks=0" first).
func TestOneStartLine(t *testing.T) {
	var logs testenv.LogBuffer
	ctx := context.Background()
	d := newDaemon(t, ctx, `server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
checks:
  - {name: a, period: 1h}
  - {name: b, period: 1h}
  - {name: c, tcp: {address: "127.0.0.1:1"}}
`, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err := runDaemon(t, ctx, d)(); err != nil {
		t.Fatal(err)
	}
	var started []map[string]any
	for _, r := range logs.Records(t) {
		if strings.Contains(r["msg"].(string), "started") {
			started = append(started, r)
		}
	}
	if len(started) != 1 || started[0]["msg"] != "vitals watchdog started" || started[0]["checks"] != 3.0 {
		t.Errorf("start lines %v, want one \"vitals watchdog started\" with checks=3", started)
	}
}
