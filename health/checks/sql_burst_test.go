package checks_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
)

// TestReadyzBurstCausesNoQueries sends a burst of 10,000 requests at /readyz
// backed by an SQL check on a real PostgreSQL server and counts, on the
// server itself (pg_stat_statements, per database), the statements the
// service ran: exactly one per check run, however many probes arrive.
//
// The checker's database is one the test creates, so the count sees nothing
// but the checker's statements, even while other tests use the server.
func TestReadyzBurstCausesNoQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 10,000 requests skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := sql.Open("pgx", testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the database is dropped (cleanups run last first)
	testenv.Require(t, "postgres", admin.PingContext(ctx))
	_, err = admin.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	if err == nil {
		_, err = admin.ExecContext(ctx, "SELECT count(*) FROM pg_stat_statements")
	}
	testenv.Require(t, "postgres with pg_stat_statements (shared_preload_libraries; scripts/services.sh sets it)", err)

	dbName := fmt.Sprintf("vitals_burst_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", dbName, err)
		}
	})
	u, err := url.Parse(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbName
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)

	// statements returns what the server counted in the test's database:
	// the calls of every statement, and their sum.
	statements := func() (int64, map[string]int64) {
		t.Helper()
		rows, err := admin.QueryContext(ctx, `SELECT query, calls FROM pg_stat_statements
			WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`, dbName)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var total int64
		byQuery := map[string]int64{}
		for rows.Next() {
			var q string
			var n int64
			if err := rows.Scan(&q, &n); err != nil {
				t.Fatal(err)
			}
			byQuery[q] += n
			total += n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return total, byQuery
	}

	const interval = 250 * time.Millisecond
	m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var runs atomic.Int64
	m.Subscribe(health.Subscriber{OnResult: func(health.Result) { runs.Add(1) }})
	if err := m.Register(health.Check{
		Name:      "db",
		Checker:   checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1"}),
		Interval:  interval,
		Timeout:   5 * time.Second,
		NoStagger: true,
	}); err != nil {
		t.Fatal(err)
	}
	monitorStart := time.Now()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := m.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
	defer stop()

	srv := httptest.NewServer(m)
	defer srv.Close()
	const workers = 32
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		Timeout:   10 * time.Second,
	}
	defer client.CloseIdleConnections()
	get := func() (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/readyz", nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	testenv.WaitFor(t, "readiness UP after the first check run", 30*time.Second, func() error {
		code, err := get()
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})

	// The burst: 10,000 requests from 32 concurrent clients.
	const requests = 10_000
	start := time.Now()
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= requests {
				code, err := get()
				if err != nil || code != http.StatusOK {
					failures.Add(1)
					firstErr.Do(func() { t.Errorf("request: status %d, error %v", code, err) })
				}
			}
		})
	}
	wg.Wait()
	burst := time.Since(start)
	stop() // waits for the check loop: no run is in flight when the server is asked
	lifetime := time.Since(monitorStart)

	ran := runs.Load()
	total, byQuery := statements()
	t.Logf("burst of %d requests in %v (%.0f req/s), %d check runs, statements counted by PostgreSQL: %d %v",
		requests, burst.Round(time.Millisecond), requests/burst.Seconds(), ran, total, byQuery)
	if failures.Load() > 0 {
		t.Errorf("%d of %d requests failed", failures.Load(), requests)
	}
	if total != ran {
		t.Errorf("PostgreSQL counted %d statements for %d check runs; the burst must add none", total, ran)
	}
	// The runs follow the schedule, not the requests.
	if limit := int64(lifetime/interval) + 1; ran > limit {
		t.Errorf("%d check runs, more than the schedule allows (%d)", ran, limit)
	}
}
