package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
)

// runNotify runs `vitals notify test NOTIFIER`: it loads the config as
// the daemon does, builds the notifier with the daemon's registry, sends
// one test notification through it and prints what the receiver
// answered. Exit 0 sent, 1 failed (or refused: a notifier that restarts
// something is not tested), 2 bad usage.
func runNotify(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	fs := flag.NewFlagSet("vitals notify test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (YAML, docs/config.md); required")
	timeout := fs.Duration("timeout", notify.DefaultTestTimeout, "how long to wait for the receiver")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vitals notify test -config FILE [-timeout 15s] NOTIFIER\n\n"+
			"Sends a test notification (event \"test\", marked as a test) through the notifier\n"+
			"NOTIFIER of the config file, as the watchdog would send it, and prints what the\n"+
			"receiver answered. Notifiers that act (docker, exec, process) are not run.\n"+
			"Exit status: 0 sent, 1 failed or refused, 2 bad usage.\n\nflags:")
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "test" {
		fs.Usage()
		return exitUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if *configPath == "" || fs.NArg() != 1 || *timeout <= 0 {
		fs.Usage()
		return exitUsage
	}
	name := fs.Arg(0)
	cfg, err := loadConfig(*configPath, env, notifiers())
	if err != nil {
		fmt.Fprintf(stderr, "vitals notify test: invalid config:\n")
		for _, e := range model.Flatten(err) {
			fmt.Fprintln(stderr, e)
		}
		return exitFail
	}
	spec, ok := cfg.Actions(config.IDs{}).Notifiers[name]
	if !ok {
		var names []string
		for _, c := range cfg.Channels(config.IDs{}) {
			names = append(names, c.Name)
		}
		fmt.Fprintf(stderr, "vitals notify test: no notifier %q in %s (notifiers: %s)\n", name, *configPath, strings.Join(names, ", "))
		return exitFail
	}
	kind := "?"
	for _, c := range cfg.Channels(config.IDs{}) {
		if c.Name == name {
			kind = c.Kind
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	answers, err := notify.SendTest(ctx, spec, nil, notify.Deps{}, name, *timeout)
	took := time.Since(t0).Round(time.Millisecond)
	what := fmt.Sprintf("notifiers.%s (%s)", name, kind)
	switch {
	case errors.Is(err, notify.ErrActs):
		fmt.Fprintf(stderr, "%s: %v\n", what, err)
		return exitFail
	case err != nil:
		for _, a := range answers {
			fmt.Fprintf(stdout, "%s: receiver answered %s\n", what, a)
		}
		fmt.Fprintf(stderr, "%s: test notification failed after %v: %v\n", what, took, err)
		return exitFail
	case len(answers) == 0:
		fmt.Fprintf(stdout, "%s: test notification sent in %v: the receiver accepted it\n", what, took)
	default:
		for _, a := range answers {
			fmt.Fprintf(stdout, "%s: test notification sent in %v: receiver answered %s\n", what, took, a)
		}
	}
	return exitOK
}
