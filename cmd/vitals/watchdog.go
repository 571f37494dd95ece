package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/daemon"
	"github.com/vitals-go/vitals/internal/model"
)

// runWatchdog runs the daemon until SIGINT or SIGTERM; SIGHUP reloads the
// config file.
func runWatchdog(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	fs := flag.NewFlagSet("vitals watchdog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (YAML, docs/config.md); default: none, every default (listen "+config.DefaultListen+", SQLite under "+config.DefaultSQLitePath()+")")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vitals watchdog [-config FILE] [-log-level LEVEL] [-log-format text|json]\n\nRuns the watchdog. SIGHUP (or POST /-/reload with a read-write API key)\nreloads the config; SIGTERM or SIGINT shuts down gracefully.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vitals watchdog: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "vitals watchdog: -log-level: %v\n", err)
		return exitUsage
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, hopts)
	case "json":
		h = slog.NewJSONHandler(stderr, hopts)
	default:
		fmt.Fprintf(stderr, "vitals watchdog: -log-format: %q is not text or json\n", *logFormat)
		return exitUsage
	}
	log := slog.New(h)

	// One notifier registry: the config is validated with the kinds the
	// daemon builds its channels with, at start and on every reload.
	reg := notifiers()
	var cfg *config.Config
	var err error
	if *configPath != "" {
		cfg, err = loadConfig(*configPath, env, reg)
	} else {
		cfg, err = config.LoadOptions{Notifiers: reg}.Parse("", nil, config.LookupEnv(env))
	}
	if err != nil {
		fmt.Fprintf(stderr, "vitals watchdog: invalid config:\n")
		for _, e := range model.Flatten(err) {
			fmt.Fprintln(stderr, e)
		}
		return exitFail
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: *configPath, Logger: log, Version: version(), Notifiers: reg})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFail
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		for {
			select {
			case <-done:
				return
			case <-hup:
				log.Info("SIGHUP: reloading the config")
				d.Reload(ctx) // logs the outcome and every error itself
			}
		}
	}()
	err = d.Run(ctx)
	close(done)
	<-reloaded
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", "err", err)
		return exitFail
	}
	return exitOK
}

// readFile reads a config file, refusing huge ones.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > config.MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", config.MaxFileSize)
	}
	return b, nil
}
