package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// benchPGPort is the private server of BenchmarkDurableIngest: durable
// settings, unlike the shared test server's.
const benchPGPort = 25442

// durable are PostgreSQL's defaults for durability, spelled out: every
// commit's WAL flushed to disk before it is answered.
var durable = map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

// BenchmarkDurableIngest measures ping ingest through the engine (1000
// push checks, 32 concurrent pingers, each ping answered once durable):
// the PostgreSQL store on a private server with fsync and
// synchronous_commit on, beside the SQLite store (FULL, its default) in
// the same run. BENCHMARKS.md, "PostgreSQL store".
//
//	go test -run '^$' -bench DurableIngest -benchtime 10s -count 3 ./internal/store/postgres/
func BenchmarkDurableIngest(b *testing.B) {
	srv := pgtest.Start(b, benchPGPort, durable)
	checkDurable(b, srv.DSN())
	for _, kind := range []string{"sqlite-FULL", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var st store.Store
			if kind == "postgres" {
				st = open(b, pgtest.SchemaOn(b, srv.DSN()), postgres.Options{})
			} else {
				s, err := sqlite.Open(filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				st = s
			}
			defer st.Close()
			benchIngest(b, st)
			var writes, batches int64
			switch s := st.(type) {
			case *postgres.Store:
				writes, batches = s.Stats().Writes, s.Stats().Batches
			case *sqlite.Store:
				writes, batches = s.Stats().Writes, s.Stats().Batches
			}
			b.ReportMetric(float64(writes)/float64(max(batches, 1)), "writes/batch")
		})
	}
}

// checkDurable fails the benchmark unless the server of dsn flushes every
// commit.
func checkDurable(b *testing.B, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for name, want := range durable {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil || got != want {
			b.Fatalf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}

func benchIngest(b *testing.B, st store.Store) {
	ctx := context.Background()
	e := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const checks = 1000
	all := make([]model.Check, checks)
	for i := range all {
		all[i] = model.Check{ID: model.NewCheckID(), Name: fmt.Sprintf("bench-%d", i), Kind: model.KindPush,
			Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
	}
	if _, err := e.Sync(ctx, "bench", all); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(16) // 32 pingers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := all[int(next.Add(1))%checks]
			p := model.Ping{Kind: model.PingSuccess, ExitStatus: -1, Method: "POST", Scheme: "http",
				RemoteAddr: "127.0.0.1", UserAgent: "bench", Body: []byte("backup done")}
			if _, err := e.Ping(ctx, c.ID, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
}
