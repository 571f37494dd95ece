// Command vitals is the watchdog daemon and its command-line tools:
//
//	vitals watchdog [-config FILE]            run the watchdog (pings, probes, API, metrics)
//	vitals validate FILE...                   check config files; every error with file:line
//	vitals check [flags] URL                  probe a target once (exit 0 healthy, 1 not)
//	vitals run [--ping-url URL] -- CMD [ARG]  run a cron job and report it (healthchecks.io protocol)
//	vitals version
//
// See docs/watchdog.md and docs/config.md.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)) }
