package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
)

// runValidate checks each file and prints every error, one per line, as
// file:line: field: message. Exit 0 when all are valid, 1 otherwise.
func runValidate(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	fs := flag.NewFlagSet("vitals validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vitals validate FILE...\n\nChecks watchdog config files as the daemon loads them (${ENV} expanded from\nthe environment). Prints every error as file:line: field: message.\nExit status: 0 all valid, 1 an invalid file, 2 bad usage.")
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	code := exitOK
	for _, file := range fs.Args() {
		cfg, err := loadConfig(file, env, notifiers())
		if err != nil {
			for _, e := range model.Flatten(err) {
				fmt.Fprintln(stderr, e)
			}
			code = exitFail
			continue
		}
		push, pull := 0, 0
		for _, c := range cfg.ModelChecks(config.IDs{}) { // no store: ids are not needed to count
			if c.Kind == model.KindPull {
				pull++
			} else {
				push++
			}
		}
		fmt.Fprintf(stdout, "%s: valid: %d checks (%d push, %d pull)\n", file, push+pull, push, pull)
		for _, w := range append(emptiness(cfg), cfg.Warnings()...) {
			fmt.Fprintf(stdout, "%s: warning: %s\n", file, w)
		}
	}
	return code
}

// emptiness warns about a file without checks or without API keys: valid,
// but most often a file caught half written, which the daemon refuses to
// reload (or to start on, against a store with checks of a config) unless
// it writes the list out empty.
func emptiness(cfg *config.Config) []string {
	var out []string
	noChecks, noKeys := cfg.EmptyOnPurpose()
	switch {
	case noChecks:
		out = append(out, "checks: [] retires every check of the config at the next reload or start (their history is kept for retention.retired_checks)")
	case len(cfg.Checks) == 0:
		out = append(out, "no checks: the watchdog would watch nothing; a running watchdog refuses to reload this file, "+
			"and does not start on it when its store holds checks of a config (write `checks: []` to mean it)")
	}
	switch {
	case noKeys:
		out = append(out, "api_keys: []: the JSON API and POST /-/reload answer 401 to every request")
	case len(cfg.APIKeys) == 0:
		out = append(out, "no api_keys: the JSON API and POST /-/reload would answer 401 to every request; "+
			"a running watchdog with API keys refuses to reload this file (write `api_keys: []` to mean it)")
	}
	return out
}

// loadConfig loads file with variables from env, decoding its notifiers
// with reg.
func loadConfig(file string, env lookupEnv, reg *notify.Registry) (*config.Config, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, &config.Error{File: file, Msg: err.Error()}
	}
	return config.LoadOptions{Notifiers: reg}.Parse(file, data, config.LookupEnv(env))
}
