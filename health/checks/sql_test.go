package checks_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
	"github.com/vitals-go/vitals/internal/testenv/checkrun"
)

// sqlServer is a real database server reached through a testenv.Proxy.
type sqlServer struct {
	name   string
	driver string
	// addr returns the server's host:port from its DSN.
	addr func(dsn string) (string, error)
	// via returns the DSN with its address replaced by addr.
	via func(dsn, addr string) (string, error)
	dsn func() string
	// selectArg selects its one argument as an integer.
	selectArg string
}

var sqlServers = []sqlServer{
	{
		name: "postgres", driver: "pgx", dsn: testenv.PostgresDSN, selectArg: "SELECT $1::int",
		addr: func(dsn string) (string, error) {
			u, err := url.Parse(dsn)
			if err != nil {
				return "", err
			}
			return u.Host, nil
		},
		via: func(dsn, addr string) (string, error) {
			u, err := url.Parse(dsn)
			if err != nil {
				return "", err
			}
			u.Host = addr
			return u.String(), nil
		},
	},
	{
		name: "mariadb", driver: "mysql", dsn: testenv.MySQLDSN, selectArg: "SELECT ?",
		addr: func(dsn string) (string, error) {
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				return "", err
			}
			return cfg.Addr, nil
		},
		via: func(dsn, addr string) (string, error) {
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				return "", err
			}
			cfg.Addr = addr
			return cfg.FormatDSN(), nil
		},
	},
}

// openVia opens the server's database through a new proxy. It skips (or fails
// under VITALS_INTEGRATION=1) when the server does not answer.
func (s sqlServer) openVia(t *testing.T) (*sql.DB, *testenv.Proxy) {
	t.Helper()
	dsn := s.dsn()
	addr, err := s.addr(dsn)
	if err != nil {
		t.Fatalf("%s DSN: %v", s.name, err)
	}
	testenv.Require(t, s.name, testenv.Reachable(addr))
	p := testenv.NewProxy(t, addr)
	viaDSN, err := s.via(dsn, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(s.driver, viaDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	testenv.Require(t, s.name, db.PingContext(ctx))
	return db, p
}

func checkWithin(c health.Checker, d time.Duration) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return c.Check(ctx)
	}
}

// TestSQLServerDownAndBack runs the SQL checker against real PostgreSQL and
// MariaDB servers: it passes, fails when the server goes away or stops
// answering, and passes again when the server is back, on the same *sql.DB.
func TestSQLServerDownAndBack(t *testing.T) {
	for _, s := range sqlServers {
		t.Run(s.name, func(t *testing.T) {
			db, proxy := s.openVia(t)
			for _, opts := range []struct {
				name string
				opts checks.SQLOptions
			}{
				{"ping", checks.SQLOptions{}},
				{"query", checks.SQLOptions{Query: "SELECT 1", CheckRow: wantInt(1)}},
			} {
				t.Run(opts.name, func(t *testing.T) {
					check := checkWithin(checks.NewSQL(db, opts.opts), 2*time.Second)
					if err := check(); err != nil {
						t.Fatalf("server up: %v", err)
					}

					proxy.Down()
					testenv.WaitFor(t, "check fails while the server is down", 30*time.Second, testenv.Not(check))
					proxy.Up()
					testenv.WaitFor(t, "check passes once the server is back", 30*time.Second, check)

					// A server that accepts but never answers: the check ends
					// with its context's deadline.
					proxy.Hang()
					ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
					err := checks.NewSQL(db, opts.opts).Check(ctx)
					cancel()
					if err == nil {
						t.Fatal("check passed while the server hangs")
					}
					if ctx.Err() == nil {
						t.Fatalf("check failed before its deadline while the server hangs: %v", err)
					}
					proxy.Up()
					testenv.WaitFor(t, "check passes once the server answers again", 30*time.Second, check)
				})
			}
		})
	}
}

// TestSQLQueryOnServers runs queries with row checks on the real servers.
func TestSQLQueryOnServers(t *testing.T) {
	for _, s := range sqlServers {
		t.Run(s.name, func(t *testing.T) {
			db, _ := s.openVia(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			if err := checks.NewSQL(db, checks.SQLOptions{Query: s.selectArg, Args: []any{7}, CheckRow: wantInt(7)}).Check(ctx); err != nil {
				t.Errorf("%s with 7: %v", s.selectArg, err)
			}
			if s.name == "postgres" {
				err := checks.NewSQL(db, checks.SQLOptions{Query: "SELECT pg_is_in_recovery()", CheckRow: func(scan func(...any) error) error {
					var standby bool
					if err := scan(&standby); err != nil {
						return err
					}
					if standby {
						return errors.New("server is a standby")
					}
					return nil
				}}).Check(ctx)
				if err != nil {
					t.Errorf("primary check: %v", err)
				}
			}

			err := checks.NewSQL(db, checks.SQLOptions{Query: "SELECT nosuchcolumn FROM nosuchtable"}).Check(ctx)
			wantErr(t, err, nil, "sql query", "nosuchtable")
		})
	}
}

func wantInt(want int64) func(scan func(...any) error) error {
	return func(scan func(...any) error) error {
		var got int64
		if err := scan(&got); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("got %d, want %d", got, want)
		}
		return nil
	}
}

// openSQLite opens a SQLite database file in a temporary directory; SQLite
// needs no server, so these tests always run.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteChecks(t *testing.T) {
	db := openSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE TABLE jobs (id INTEGER)"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		opts  checks.SQLOptions
		parts []string // empty: the check passes
		is    error
	}{
		{name: "ping", opts: checks.SQLOptions{}},
		{name: "query", opts: checks.SQLOptions{Query: "SELECT 1"}},
		{name: "row", opts: checks.SQLOptions{Query: "SELECT 1", CheckRow: wantInt(1)}},
		{name: "args", opts: checks.SQLOptions{Query: "SELECT ?", Args: []any{42}, CheckRow: wantInt(42)}},
		{name: "no rows without row check", opts: checks.SQLOptions{Query: "SELECT id FROM jobs"}},
		{
			name:  "no rows with row check",
			opts:  checks.SQLOptions{Query: "SELECT id FROM jobs", CheckRow: wantInt(1)},
			parts: []string{`sql query "SELECT id FROM jobs"`, "no rows"},
			is:    sql.ErrNoRows,
		},
		{
			name:  "row check fails",
			opts:  checks.SQLOptions{Query: "SELECT 2", CheckRow: wantInt(1)},
			parts: []string{"got 2, want 1"},
		},
		{
			name:  "bad query",
			opts:  checks.SQLOptions{Query: "SELEC 1"},
			parts: []string{`sql query "SELEC 1"`, "syntax error"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checks.NewSQL(db, tc.opts).Check(ctx)
			if len(tc.parts) == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, tc.is, tc.parts...)
		})
	}
}

func TestSQLClosedDB(t *testing.T) {
	db := openSQLite(t)
	db.Close()
	err := checks.NewSQL(db, checks.SQLOptions{}).Check(context.Background())
	wantErr(t, err, nil, "sql ping", "closed")
}

// TestSQLPoolSaturation holds connections of a real pool and reads the
// observation the Monitor records.
func TestSQLPoolSaturation(t *testing.T) {
	db := openSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hold := func(n int) func() {
		var conns []*sql.Conn
		for range n {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		return func() {
			for _, c := range conns {
				c.Close()
			}
		}
	}

	// No limit: the count of connections in use.
	release := hold(3)
	r := checkrun.Once(t, checks.NewSQL(db, checks.SQLOptions{}), 0)
	release()
	if r.Status != health.StatusUp || r.Observation == nil || *r.Observation != (health.Observation{Value: 3, Unit: "connections"}) {
		t.Errorf("unlimited pool: status %v, observation %+v, error %q; want UP and 3 connections", r.Status, r.Observation, r.Error)
	}

	// A limit: the percentage in use, before the check's own connection.
	db.SetMaxOpenConns(4)
	release = hold(2)
	r = checkrun.Once(t, checks.NewSQL(db, checks.SQLOptions{MaxPoolSaturation: 75}), 0)
	if r.Status != health.StatusUp || r.Observation == nil || *r.Observation != (health.Observation{Value: 50, Unit: "percent"}) {
		t.Errorf("half-used pool: status %v, observation %+v, error %q; want UP and 50 percent", r.Status, r.Observation, r.Error)
	}
	release()

	// At or above MaxPoolSaturation the check fails at once, without
	// waiting for a connection.
	release = hold(3)
	defer release()
	err := checks.NewSQL(db, checks.SQLOptions{MaxPoolSaturation: 75}).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "sql pool: connections in use is 75.0% (3 of 4", "want below 75%")
	if !strings.Contains(err.Error(), "waits") {
		t.Errorf("error %q does not report the pool's waits", err)
	}
}

func ExampleNewSQL() {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()

	m := health.New(health.Options{})
	m.Register(health.Check{
		Name:    "db",
		Checker: checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1"}),
		Timeout: 2 * time.Second,
	})
	fmt.Println(checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1"}).Check(context.Background()))
	// Output: <nil>
}

// TestSQLOutageThroughMonitor: through a real Monitor, the check turns DOWN
// on the failure threshold's run and UP on the success threshold's run.
func TestSQLOutageThroughMonitor(t *testing.T) {
	for _, s := range sqlServers {
		t.Run(s.name, func(t *testing.T) {
			db, proxy := s.openVia(t)
			checkrun.Outage(t, checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1"}), proxy.Down, proxy.Up)
		})
	}
}

// TestSQLSlowDatabase covers two rows of the decision matrix on a real
// PostgreSQL server made slow by the proxy: a slow answer under the check's
// timeout keeps the check UP; one over it takes the check DOWN.
func TestSQLSlowDatabase(t *testing.T) {
	db, proxy := sqlServers[0].openVia(t)
	c := checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1", CheckRow: wantInt(1)})

	proxy.Delay(50 * time.Millisecond) // a round trip costs at least 100 ms
	if r := checkrun.Once(t, c, 5*time.Second); r.Status != health.StatusUp {
		t.Errorf("slow under the timeout: status %v, error %q; want UP", r.Status, r.Error)
	}
	if r := checkrun.Once(t, c, 20*time.Millisecond); r.Status != health.StatusDown {
		t.Errorf("slower than the timeout: status %v; want DOWN", r.Status)
	} else {
		t.Logf("slower than the timeout: %s", r.Error)
	}
	proxy.Delay(0)
	testenv.WaitFor(t, "check passes once the database is fast again", 30*time.Second, checkWithin(c, 2*time.Second))
}
