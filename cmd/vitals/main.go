// Command vitals is the watchdog daemon and its command-line tools:
//
//	vitals watchdog [-config FILE]            run the watchdog (pings, probes, API, metrics)
//	vitals validate FILE...                   check config files; every error with file:line
//	vitals check [flags] URL                  probe a target once (exit 0 healthy, 1 not)
//	vitals run [--ping-url URL] -- CMD [ARG]  run a cron job and report it (healthchecks.io protocol)
//	vitals import healthchecks [flags]        copy a healthchecks.io project into the watchdog
//	vitals migrate --from sqlite:PATH --to postgres:DSN   move an installation into PostgreSQL
//	vitals notify test -config FILE NOTIFIER   send a test notification, print the answer
//	vitals version
//
// See docs/watchdog.md, docs/config.md and docs/import.md.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)) }
