package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/model"
)

const importUsage = `usage: vitals import healthchecks [flags]

Copies a healthchecks.io project (hosted or self-hosted) into a Vitals
watchdog through the Management API v3 of both: every check keeps its UUID,
so its ping URL keeps working once DNS points at Vitals. Channels are mapped
by name onto the watchdog's notifiers. A second run changes nothing; nothing
is ever deleted. Keys: $HC_API_KEY and $VITALS_API_KEY (read-write keys).
Exit status: 0 every check imported (or owned by the watchdog's config),
1 a check failed or cannot be imported, 2 bad usage. See docs/import.md.

flags:`

// runImport is "vitals import healthchecks".
func runImport(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	if len(args) == 0 || args[0] != "healthchecks" {
		if len(args) > 0 && args[0] != "-h" && args[0] != "-help" && args[0] != "--help" {
			fmt.Fprintf(stderr, "vitals import: unknown source %q (known: healthchecks)\n\n", args[0])
		}
		fmt.Fprintln(stderr, "usage: vitals import healthchecks [flags]   (vitals import healthchecks -h: the flags)")
		return exitUsage
	}
	fs := flag.NewFlagSet("vitals import healthchecks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "https://healthchecks.io", "the healthchecks.io site to copy from (self-hosted: its SITE_ROOT)")
	fromKey := fs.String("from-key", "", "its read-write API key (default $HC_API_KEY)")
	to := fs.String("to", "", "the Vitals watchdog to copy into (default: server.public_url of -config, else http://"+config.DefaultListen+")")
	toKey := fs.String("to-key", "", "its read-write API key (default $VITALS_API_KEY)")
	configPath := fs.String("config", "", "the watchdog's config file, for its address")
	var cmap multiFlag
	fs.Var(&cmap, "channel-map", `map a healthchecks.io channel (name or id) onto a Vitals notifier: 'hc name=vitals name' (repeatable)`)
	dryRun := fs.Bool("dry-run", false, "print the plan (create, update with the changed fields, unchanged, skip) and write nothing")
	rate := fs.Int("rate", 100, "requests a minute to each side, at most (healthchecks.io asks for 100); 0: unpaced")
	timeout := fs.Duration("timeout", hcimport.DefaultTimeout, "bound on each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, importUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "vitals import healthchecks: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *rate < 0 || *timeout <= 0 {
		return usage("-rate must be 0 or more, -timeout positive")
	}
	channelMap := map[string]string{}
	for _, m := range cmap {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" || v == "" {
			return usage("-channel-map %q: want 'healthchecks.io name=Vitals name'", m)
		}
		channelMap[k] = v
	}
	keyOr := func(flagValue, name string) string {
		if flagValue != "" {
			return flagValue
		}
		if v, ok := env(name); ok {
			return v
		}
		return ""
	}
	srcKey, dstKey := keyOr(*fromKey, "HC_API_KEY"), keyOr(*toKey, "VITALS_API_KEY")
	if srcKey == "" {
		return usage("no key for %s: set $HC_API_KEY or -from-key (a read-write key: read-only keys do not show the checks' UUIDs)", *from)
	}
	if dstKey == "" {
		return usage("no key for the watchdog: set $VITALS_API_KEY or -to-key (a read-write key of its api_keys)")
	}
	if *to == "" {
		var err error
		if *to, err = watchdogURL(*configPath, env); err != nil {
			fmt.Fprintf(stderr, "vitals import healthchecks: -config: %v\n", err)
			return exitFail
		}
	}

	opts := hcimport.ClientOptions{Timeout: *timeout}
	if *rate > 0 {
		opts.Interval = time.Minute / time.Duration(*rate)
	}
	src, err := hcimport.NewClient(*from, srcKey, opts)
	if err != nil {
		return usage("-from: %v", err)
	}
	dst, err := hcimport.NewClient(*to, dstKey, opts)
	if err != nil {
		return usage("-to: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "importing %s into %s\n", src.URL(), dst.URL())
	plan, err := hcimport.Load(ctx, src, dst, channelMap)
	if err != nil {
		fmt.Fprintf(stderr, "vitals import healthchecks: %v\n", err)
		return exitFail
	}
	if *dryRun {
		hcimport.PrintPlan(stdout, plan)
		hcimport.PrintSummary(stdout, plan, nil)
		if plan.Count(hcimport.OpSkip) > 0 {
			return exitFail
		}
		return exitOK
	}
	var progress *hcimport.Progress
	if isTerminal(stderr) {
		progress = hcimport.NewProgress(stderr, true)
	} else {
		progress = hcimport.NewProgress(stdout, false)
	}
	report := hcimport.Apply(ctx, dst, plan, progress.Step)
	hcimport.PrintSummary(stdout, plan, &report)
	if !report.OK() {
		return exitFail
	}
	return exitOK
}

// watchdogURL is where the watchdog of the config file at path (none:
// every default) serves: its server.public_url, with an unspecified host
// (":8000", "0.0.0.0") replaced by the loopback address.
func watchdogURL(path string, env lookupEnv) (string, error) {
	if path == "" {
		return "http://" + config.DefaultListen, nil
	}
	cfg, err := loadConfig(path, env, notifiers())
	if err != nil {
		var lines []string
		for _, e := range model.Flatten(err) {
			lines = append(lines, e.Error())
		}
		return "", fmt.Errorf("%s", strings.Join(lines, "\n"))
	}
	u, err := url.Parse(cfg.Server.PublicURL)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return u.String(), nil // no port: as written
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		u.Host = net.JoinHostPort("127.0.0.1", port)
	}
	return u.String(), nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
