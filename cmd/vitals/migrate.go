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
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storecopy"
)

const migrateUsage = `usage: vitals migrate --from sqlite:PATH --to postgres:DSN [flags]

Moves an installation from its SQLite file into PostgreSQL, with its whole
history: checks (live and retired), states, pings (and the ping log a crash
left), flips, uptime rollups, the outbox, the alert policy's state and the
installation secret (derived check ids, and so ping URLs, depend on it).
Stop the watchdog first: the file is refused while another process has it
open. The source is only read. The destination's schema is created or
brought up to date, and refused if it is newer than this vitals.

Each batch is committed with its progress: interrupted, the same command
resumes where it stopped; run again after it finished, it copies nothing.
"postgres:" alone takes the DSN from $VITALS_PG_DSN (keep the password out
of the command line). The DSN is never printed: only host:port/database.
Exit status: 0 copied (or nothing left to copy), 1 failed or interrupted,
2 bad usage. See docs/store.md.

flags:`

// runMigrate is "vitals migrate".
func runMigrate(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	fs := flag.NewFlagSet("vitals migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the source: sqlite:PATH (the watchdog's store.sqlite.path)")
	to := fs.String("to", "", "the destination: postgres:DSN, or postgres: for $VITALS_PG_DSN")
	batch := fs.Int("batch", storecopy.DefaultBatch, "rows per transaction")
	fs.Usage = func() {
		fmt.Fprintln(stderr, migrateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "vitals migrate: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return usage("--from: want sqlite:PATH")
	}
	// Never quote -to: it holds the DSN, a secret.
	dsn, ok := strings.CutPrefix(*to, "postgres:")
	if !ok {
		return usage("--to: want postgres:DSN (or postgres: for $VITALS_PG_DSN)")
	}
	if dsn == "" {
		if dsn, _ = env("VITALS_PG_DSN"); dsn == "" {
			return usage("--to postgres: without a DSN, and $VITALS_PG_DSN is not set")
		}
	}
	if *batch <= 0 {
		return usage("--batch must be positive")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "vitals migrate: %v\n", err)
		return exitFail
	}
	src, err := sqlite.OpenExport(path)
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	where := postgres.Where(dsn)
	dst, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", where, err))
	}
	defer dst.Close()
	fmt.Fprintf(stdout, "migrating %s into postgres %s\n", path, where)
	pr := storecopy.NewPrinter(stderr, isTerminal(stderr))
	start := time.Now()
	rep, err := storecopy.Copy(ctx, src, dst, storecopy.Options{Batch: *batch, Progress: pr.Show})
	var read int64
	finished := true // by an earlier run
	for _, s := range rep.Steps {
		read += s.Read
		finished = finished && s.Skipped
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "\nvitals migrate: interrupted after %d rows copied; what was committed is kept: run the same command to resume\n", rep.Copied())
			return exitFail
		}
		return fail(err)
	}
	if finished {
		fmt.Fprintf(stdout, "nothing to copy: an earlier run finished the migration (%v)\n", took)
	} else {
		fmt.Fprintf(stdout, "copied %d rows (%d already there) in %v\n", rep.Copied(), read-rep.Copied(), took)
	}
	fmt.Fprintln(stdout, "next: point the watchdog's store at PostgreSQL (store.postgres.dsn) and start it; keep the SQLite file until you are satisfied")
	return exitOK
}
