// Command pingd serves the ping handler over a store, with a set of push
// checks, for the durability test (kill -9 under load) and the ingest
// benchmark (wrk). It is a test harness, not the daemon: `vitals watchdog`
// will serve the same handler.
//
//	pingd -db /tmp/v.db -checks 1000 -ids /tmp/ids.txt
//
// It prints "listening <addr>" on stdout once it serves.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

func main() { os.Exit(run()) }

// CheckID returns the id of the i-th benchmark check (stable across runs).
func CheckID(i int) model.CheckID {
	return model.CheckID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("vitals-pingd-%d", i))))
}

func run() int {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	db := flag.String("db", "", "SQLite file; empty: in-memory store")
	syncMode := flag.String("sync", "FULL", "SQLite store durability: FULL or PIPELINED (durable acks), OFF (baseline)")
	checks := flag.Int("checks", 100, "push checks to create when absent")
	period := flag.Duration("period", time.Hour, "period of the checks")
	grace := flag.Duration("grace", time.Minute, "grace of the checks")
	retention := flag.Int("retention", store.DefaultPingRetention, "pings kept per check")
	ids := flag.String("ids", "", "write the checks' ping paths to this file, one per line")
	maxWait := flag.Duration("max-wait", 0, "SQLite group commit: linger this long for more writes (0: the store default, 1ms)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pingd:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "pingd:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var st store.Store
	if *db == "" {
		st = memstore.New(memstore.Options{PingRetention: *retention})
	} else {
		s, err := sqlite.Open(*db, sqlite.Options{PingRetention: *retention, Synchronous: *syncMode, MaxWait: *maxWait})
		if err != nil {
			fmt.Fprintln(os.Stderr, "pingd:", err)
			return 1
		}
		st = s
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	e := watchdog.New(st, watchdog.Options{Logger: log})
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pingd:", err)
		return 1
	}
	defer e.Close()
	var paths []string
	var all []model.Check
	for i := range *checks {
		c := model.Check{ID: CheckID(i), Name: fmt.Sprintf("bench-%d", i), Kind: model.KindPush,
			Schedule: model.Schedule{Period: *period, Grace: *grace}}
		all = append(all, c)
		paths = append(paths, "/ping/"+c.ID.Secret())
	}
	if _, err := e.Sync(ctx, "pingd", all); err != nil {
		fmt.Fprintln(os.Stderr, "pingd:", err)
		return 1
	}
	if *ids != "" {
		if err := os.WriteFile(*ids, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "pingd:", err)
			return 1
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingd:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("/ping/", ping.New(e, ping.Options{Logger: log}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("listening %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "pingd:", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if s, ok := st.(*sqlite.Store); ok {
		stats := s.Stats()
		b := time.Duration(max(stats.Batches, 1))
		fmt.Fprintf(os.Stderr, "pingd: %d writes in %d batches (%.1f per batch), %v per batch of which %v in COMMIT; %d fsyncs of %v\n", stats.Writes, stats.Batches,
			float64(stats.Writes)/float64(b), stats.CommitTime/b, stats.SyncTime/b, stats.Fsyncs, stats.FsyncTime/time.Duration(max(stats.Fsyncs, 1)))
	}
	return 0
}
