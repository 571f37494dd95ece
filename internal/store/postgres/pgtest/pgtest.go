// Package pgtest gives tests of the PostgreSQL store real databases: a
// fresh schema on the shared server of scripts/services.sh for each test
// ([Schema]), and a private server a test may stop and start ([Start]).
// Only tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/testenv"
)

// Schema creates a schema of its own on the server of
// testenv.PostgresDSN (scripts/services.sh) and returns a DSN whose
// search_path is it; the test's cleanup drops it with everything in it.
// Tests using it may run in parallel. A missing server skips the test, or
// fails it under VITALS_INTEGRATION=1 (testenv.Require).
func Schema(tb testing.TB) string {
	tb.Helper()
	return SchemaOn(tb, testenv.PostgresDSN())
}

// SchemaOn is Schema on the server of dsn.
func SchemaOn(tb testing.TB, dsn string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	testenv.Require(tb, "postgres", err)
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(dsn, name)
}

// WithSearchPath returns dsn (a URL or key=value pairs) with its
// search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Server is a private PostgreSQL server on 127.0.0.1:Port, with its data
// directory under /tmp (kept between runs, so that only the first run pays
// for initdb), controlled with pg_ctl as the postgres user when the tests
// run as root. The test's cleanup stops it.
type Server struct {
	tb   testing.TB
	Port int
	dir  string
	bin  string
	opts string
}

// Start starts a private server on port with the given settings (name =
// value, as postgresql.conf; nil: the fast settings of the shared test
// server, fsync off) and returns it once it accepts connections. A machine
// without PostgreSQL's binaries skips the test, or fails it under
// VITALS_INTEGRATION=1.
func Start(tb testing.TB, port int, settings map[string]string) *Server {
	tb.Helper()
	bin := binDir()
	if bin == "" {
		testenv.Require(tb, "postgres", fmt.Errorf("no PostgreSQL binaries under /usr/lib/postgresql"))
	}
	if settings == nil {
		settings = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
	}
	dir := filepath.Join(os.TempDir(), "vitals-pg-test-"+strconv.Itoa(port))
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	opts := []string{"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(port), "-k " + dir}
	for _, k := range keys {
		opts = append(opts, "-c "+k+"="+settings[k])
	}
	s := &Server{tb: tb, Port: port, dir: dir, bin: bin, opts: strings.Join(opts, " ")}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if os.Getuid() == 0 {
			if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
				tb.Fatalf("chown %s: %v: %s", dir, err, out)
			}
		}
		s.run(30*time.Second, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust",
			"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	}
	// A server left by an interrupted run is stopped first.
	_, _ = s.ctl(30*time.Second, "stop", "-m", "immediate")
	tb.Cleanup(s.Stop)
	s.Start()
	return s
}

func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// run runs a PostgreSQL program, as the postgres user when root, failing
// the test when it fails.
func (s *Server) run(within time.Duration, name string, args ...string) {
	s.tb.Helper()
	if out, err := s.command(within, name, args...); err != nil {
		s.tb.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}

func (s *Server) command(within time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if os.Getuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

func (s *Server) ctl(within time.Duration, args ...string) ([]byte, error) {
	return s.command(within, filepath.Join(s.bin, "pg_ctl"), append([]string{"-D", filepath.Join(s.dir, "data")}, args...)...)
}

// DSN is the URL of the server's postgres database, as the superuser.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
}

// Start starts the server (again) and waits until it accepts connections.
// A start that fails is tried again, up to three times in all: on a loaded
// machine the postmaster of a restart has been seen to exit at once
// (pg_ctl: "stopped waiting") while the previous one's shutdown was still
// being logged; the tests are about the watchdog, not about pg_ctl.
func (s *Server) Start() {
	s.tb.Helper()
	for try := 1; ; try++ {
		out, err := s.ctl(60*time.Second, "start", "-w", "-t", "60", "-l", filepath.Join(s.dir, "log"), "-o", s.opts)
		if err == nil {
			return
		}
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		if try == 3 {
			s.tb.Fatalf("pg_ctl start (try %d): %v\n%s\n%s", try, err, out, tail(log))
		}
		s.tb.Logf("pg_ctl start (try %d, tried again in 1s): %v\n%s\n%s", try, err, out, tail(log))
		time.Sleep(time.Second)
	}
}

// Stop stops the server (fast shutdown: sessions are ended at once) and
// waits until it has exited.
func (s *Server) Stop() {
	s.tb.Helper()
	if out, err := s.ctl(60*time.Second, "stop", "-w", "-m", "fast"); err != nil && !strings.Contains(string(out), "Is server running?") {
		s.tb.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
}

func tail(b []byte) string {
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(len(lines)-30, 0):], "\n")
}
