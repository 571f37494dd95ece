package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Exit codes shared by the subcommands.
const (
	exitOK    = 0
	exitFail  = 1 // unhealthy, invalid config, daemon error
	exitUsage = 2 // bad invocation
)

const usageText = `usage: vitals <command> [arguments]

commands:
  watchdog [-config FILE]            run the watchdog daemon
  validate FILE...                   check config files (exit 0 valid, 1 invalid)
  check [flags] URL                  probe a target once (exit 0 healthy, 1 unhealthy)
  run [--ping-url URL] -- CMD [ARG]  run a job, reporting start, exit status and output
  import healthchecks [flags]        copy a healthchecks.io project into the watchdog (same UUIDs)
  migrate --from sqlite:PATH --to postgres:DSN
                                     move an installation and its history into PostgreSQL
  notify test -config FILE NOTIFIER  send a test notification through a notifier, print the answer
  version                            print the version

"vitals <command> -h" shows a command's flags. Documentation: docs/watchdog.md.
`

// lookupEnv is os.LookupEnv, injected for tests.
type lookupEnv func(string) (string, bool)

func run(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "watchdog":
		return runWatchdog(rest, stdout, stderr, env)
	case "validate":
		return runValidate(rest, stdout, stderr, env)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "run":
		return runJob(rest, stdout, stderr, env)
	case "import":
		return runImport(rest, stdout, stderr, env)
	case "migrate":
		return runMigrate(rest, stdout, stderr, env)
	case "notify":
		return runNotify(rest, stdout, stderr, env)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "vitals", version())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "vitals: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
