package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitals-go/vitals/internal/config"
)

// newDaemon writes yaml to a config file in a temporary directory (relative
// store paths land there), loads it and builds a daemon logging to log
// (discarded when nil). It does not Run it; see runDaemon.
func newDaemon(t *testing.T, ctx context.Context, yaml string, log *slog.Logger) *Daemon {
	t.Helper()
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := New(ctx, cfg, Options{ConfigPath: file, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runDaemon runs d until the returned stop is called (or the test ends);
// stop cancels it, waits for Run and returns its error.
func runDaemon(t *testing.T, ctx context.Context, d *Daemon) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}
