package ping_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/daemon"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/ratelog"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/testenv"
)

// logBuf is a slog destination tests can read while the daemon writes.
type logBuf struct{ testenv.LogBuffer }

// lines returns the logged lines that contain every one of subs.
func (b *logBuf) lines(subs ...string) []string {
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		match := l != ""
		for _, s := range subs {
			match = match && strings.Contains(l, s)
		}
		if match {
			out = append(out, l)
		}
	}
	return out
}

// vitals is a real watchdog daemon on 127.0.0.1:0 with its SQLite store in
// a temp dir, pinged over loopback.
type vitals struct {
	d    *daemon.Daemon
	addr string // host:port
	base string // http://host:port
	log  *logBuf
}

// startDaemon runs a daemon whose config has pings (ping key "pk",
// auto_create on), one API key, and the given checks (YAML list items);
// extra is more top-level YAML. dir holds the store ("" for a temp dir).
// The daemon stops when the test ends.
func startDaemon(t *testing.T, dir, checks, extra string) *vitals {
	t.Helper()
	v, run := newDaemon(t, dir, checks, extra)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return v
}

// newDaemon builds the daemon of startDaemon without serving: run serves
// until its context is done, then stops everything. In a synctest bubble,
// where a goroutine waiting on a socket keeps the clock still, requests go
// to v.d.Handler() and run gets a cancelled context at the end.
func newDaemon(t *testing.T, dir, checks, extra string) (v *vitals, run func(context.Context) error) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfgText := `server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  sqlite: {path: ` + filepath.Join(dir, "vitals.db") + `}
api_keys:
  - {name: rw, key: rw-key-0123456789abcdef, access: read-write}
pings:
  ping_key: pk
  auto_create: true
` + extra + `
checks:
` + checks
	if err := os.WriteFile(file, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuf{}
	var w io.Writer = lb
	if testing.Verbose() {
		w = io.MultiWriter(lb, os.Stderr)
	}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{ConfigPath: file, Logger: slog.New(slog.NewTextHandler(w, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := d.Addrs()[0].String()
	return &vitals{d: d, addr: addr, base: "http://" + addr, log: lb}, d.Run
}

// id returns the id of the check named name.
func (v *vitals) id(t *testing.T, name string) model.CheckID {
	t.Helper()
	for _, cs := range v.d.Engine().List() {
		if cs.Check.Name == name {
			return cs.Check.ID
		}
	}
	t.Fatalf("no check %q", name)
	return model.CheckID{}
}

func (v *vitals) state(t *testing.T, name string) model.State {
	t.Helper()
	cs, _ := v.d.Engine().Get(v.id(t, name))
	return cs.State
}

// pings returns the stored pings of check name, newest first.
func (v *vitals) pings(t *testing.T, name string) []model.Ping {
	t.Helper()
	ps, err := v.d.Store().Pings(context.Background(), v.id(t, name), store.PingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// get sends a request with http.Client and returns the answer.
func (v *vitals) get(t *testing.T, method, path string) reply {
	t.Helper()
	req, err := http.NewRequest(method, v.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

// TestDaemonInvalidSlug: a slug that is not a check's slug (capitals, too
// long) is the client's mistake, answered 400 "invalid url format" with a
// reason, with or without ?create=1, as healthchecks.io answers. It was a
// retriable 503 "not found" (runitor and curl --retry retried it) and an
// ERROR in the daemon's log.
func TestDaemonInvalidSlug(t *testing.T) {
	v := startDaemon(t, "", "  - {name: backup, slug: backup}\n", "")
	long := strings.Repeat("s", model.MaxSlugLen+1)
	for _, path := range []string{
		"/ping/pk/MyJob?create=1", "/ping/pk/MyJob", "/ping/pk/MyJob/start?create=1", "/ping/pk/MyJob/fail",
		"/ping/pk/Backup", "/ping/pk/MyJob/256?create=1", "/ping/pk/" + long + "?create=1", "/ping/pk/" + long,
	} {
		for _, method := range []string{"GET", "POST"} {
			r := v.get(t, method, path)
			if r.code != http.StatusBadRequest || r.body != "invalid url format" ||
				!strings.Contains(r.header.Get(ping.ReasonHeader), "lowercase") || r.header.Get("Retry-After") != "" {
				t.Errorf("%s %s: %d %q (%s), want 400 \"invalid url format\" with a reason", method, path, r.code, r.body, r.header.Get(ping.ReasonHeader))
			}
		}
	}
	if n := len(v.d.Engine().List()); n != 1 {
		t.Errorf("%d checks after the refused pings, want only the configured one", n)
	}
	if got := v.state(t, "backup").NPings; got != 0 {
		t.Errorf("backup recorded %d pings", got)
	}
	// A valid slug is still created, and pinged by its slug afterwards.
	if r := v.get(t, "GET", "/ping/pk/my-job?create=1"); r.code != http.StatusCreated || r.body != "Created" {
		t.Fatalf("valid slug with create: %d %q", r.code, r.body)
	}
	if r := v.get(t, "GET", "/ping/pk/backup"); r.code != http.StatusOK {
		t.Fatalf("configured slug: %d %q", r.code, r.body)
	}
	if lines := v.log.lines("level=ERROR"); len(lines) != 0 {
		t.Errorf("the client's mistakes were logged as errors:\n%s", strings.Join(lines, "\n"))
	}
}

// raw sends req, hand-written HTTP/1.1, over a new TCP connection to addr;
// then, if closeWrite, half-closes the connection (the client sent all it
// will send but still reads). It returns the answer.
func raw(t *testing.T, addr, req string, closeWrite bool) reply {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Close {
		resp.Header.Set("Connection", "close") // ReadResponse moves it to resp.Close
	}
	return reply{resp.StatusCode, string(b), resp.Header}
}

// TestDaemonIncompleteBody: a ping whose body cannot be read to its end is
// not recorded (it was: a fail ping with the partial body, flipping the
// check down), and is answered 400 with a reason while the client still
// listens; a body cut at the body limit is recorded, marked truncated.
func TestDaemonIncompleteBody(t *testing.T) {
	v := startDaemon(t, "", "  - {name: job}\n", "")
	fail := "/ping/" + v.id(t, "job").Secret() + "/fail"
	head := "POST " + fail + " HTTP/1.1\r\nHost: vitals\r\n"
	notRecorded := func(t *testing.T) {
		t.Helper()
		if st := v.state(t, "job"); st.NPings != 0 || st.Status != model.StatusNew {
			t.Fatalf("recorded: %d pings, status %s", st.NPings, st.Status)
		}
		if ps := v.pings(t, "job"); len(ps) != 0 {
			t.Fatalf("stored pings %+v", ps)
		}
	}
	for _, tc := range []struct{ name, req, reason string }{
		{"bad chunk size", head + "Transfer-Encoding: chunked\r\n\r\n7\r\nPARTIAL\r\nzz\r\n", "chunk"},
		{"short Content-Length then close", head + "Content-Length: 100\r\n\r\nPARTIAL", "unexpected EOF"},
		{"chunked body without its last chunk", head + "Transfer-Encoding: chunked\r\n\r\n7\r\nPARTIAL\r\n", "unexpected EOF"},
		{"malformed trailer after the data", head + "Transfer-Encoding: chunked\r\n\r\n7\r\nPARTIAL\r\n0\r\nno colon\r\n\r\n", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := raw(t, v.addr, tc.req, true)
			if r.code != http.StatusBadRequest || r.body != "incomplete body" || !strings.Contains(r.header.Get(ping.ReasonHeader), tc.reason) {
				t.Fatalf("got %d %q (%s), want 400 \"incomplete body\" (…%s…)", r.code, r.body, r.header.Get(ping.ReasonHeader), tc.reason)
			}
			notRecorded(t)
		})
	}

	t.Run("connection reset mid-body", func(t *testing.T) {
		// The daemon's handler behind a server whose connection states the
		// test sees: entered says the handler has the request (its headers
		// and the bytes sent with them), closed that it is done with it.
		entered, closed := make(chan struct{}, 1), make(chan struct{}, 1)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			v.d.Handler().ServeHTTP(w, r)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				closed <- struct{}{}
			}
		}
		srv.Start()
		defer srv.Close()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, head+"Content-Length: 100\r\n\r\nPARTIAL"); err != nil {
			t.Fatal(err)
		}
		<-entered
		c.(*net.TCPConn).SetLinger(0) // Close sends a reset
		c.Close()
		<-closed
		notRecorded(t)
	})

	t.Run("cut at the body limit", func(t *testing.T) {
		logPath := "/ping/" + v.id(t, "job").Secret() + "/log"
		body := strings.Repeat("x", model.DefaultBodyLimit+500)
		r := raw(t, v.addr, "POST "+logPath+" HTTP/1.1\r\nHost: vitals\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body, false)
		if r.code != http.StatusOK {
			t.Fatalf("got %d %q", r.code, r.body)
		}
		// Longer than the bytes discarded past the limit (1 MiB): still
		// recorded, the connection closed after the answer.
		huge := strings.Repeat("y", 2<<20)
		r = raw(t, v.addr, "POST "+logPath+" HTTP/1.1\r\nHost: vitals\r\nTransfer-Encoding: chunked\r\n\r\n"+
			strconv.FormatInt(int64(len(huge)), 16)+"\r\n"+huge+"\r\n0\r\n\r\n", false)
		if r.code != http.StatusOK || r.header.Get("Connection") != "close" {
			t.Fatalf("huge body: %d %q, Connection %q", r.code, r.body, r.header.Get("Connection"))
		}
		ps := v.pings(t, "job")
		if len(ps) != 2 {
			t.Fatalf("%d pings stored, want the 2 truncated ones", len(ps))
		}
		for i, want := range []string{"y", "x"} {
			if p := ps[i]; len(p.Body) != model.DefaultBodyLimit || !p.BodyTruncated || p.Body[0] != want[0] {
				t.Errorf("ping %d: %d bytes of %q, truncated %v", p.N, len(p.Body), p.Body[:1], p.BodyTruncated)
			}
		}
	})
}

// serve sends one request to the daemon's handler, without a socket.
func (v *vitals) serve(method, path string) reply {
	w := httptest.NewRecorder()
	v.d.Handler().ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return reply{w.Code, w.Body.String(), w.Header()}
}

// TestDaemonFinishWithoutRID: through the daemon, on synctest's clock: a
// start with a run id followed by a plain success ends the run, as in
// healthchecks.io; the check stays up when the start's grace time passes
// (it went down: "run … did not finish within the grace time"). A finish
// with the start's run id is timed from that start.
func TestDaemonFinishWithoutRID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, run := newDaemon(t, "", "  - {name: job, period: 1h, grace: 1m}\n", "")
		defer func() {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := run(ctx); err != nil {
				t.Errorf("daemon: %v", err)
			}
		}()
		base := "/ping/" + v.id(t, "job").Secret()
		ping := func(path string) {
			t.Helper()
			if r := v.serve("GET", path); r.code != http.StatusOK {
				t.Fatalf("%s: %d %q", path, r.code, r.body)
			}
		}
		ping(base + "/start?rid=aaaaaaaa-0000-4000-8000-000000000000")
		time.Sleep(10 * time.Second)
		ping(base)
		if st := v.state(t, "job"); len(st.Runs) != 0 || st.Display(time.Now()) != model.StatusUp {
			t.Errorf("after the plain success: runs %+v, %s", st.Runs, st.Display(time.Now()))
		}
		time.Sleep(2 * time.Minute) // past the start's grace time, not the period's
		synctest.Wait()
		if st := v.state(t, "job"); st.Status != model.StatusUp {
			t.Fatalf("status %s after the start's grace time: %s", st.Status, st.LastError)
		}

		// Pairing by run id where both sides carry one.
		ping(base + "/start?rid=bbbbbbbb-0000-4000-8000-000000000000")
		time.Sleep(30 * time.Second)
		ping(base + "?rid=bbbbbbbb-0000-4000-8000-000000000000")
		ps := v.pings(t, "job")
		if finish, start := ps[0], ps[1]; start.Kind != model.PingStart || finish.Duration != finish.Time.Sub(start.Time) || finish.Duration < 30*time.Second {
			t.Fatalf("run time %v, want the %v from its start", finish.Duration, finish.Time.Sub(start.Time))
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		flips, err := v.d.Store().Flips(context.Background(), v.id(t, "job"), store.FlipQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if st := v.state(t, "job"); st.Status != model.StatusUp || len(flips) != 1 {
			t.Fatalf("status %s, flips %+v: want up, with the one flip new → up", st.Status, flips)
		}
	})
}

// tmpfs mounts a tmpfs of size bytes on a new temp dir, unmounted when the
// test ends; it skips the test where mounting is not allowed.
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small file system: mount tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full, and returns a
// func that removes it.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for err == nil {
		_, err = f.Write(buf)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v", dir, err)
	}
	f.Close()
	return func() {
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDaemonFullDisk: with the store's file system full, every ping is
// refused (503, retry) and the daemon logs that at most once per interval,
// with a count (it logged every refused ping: 17,200 lines in 5 s); and
// /readyz turns DOWN (it stayed UP, reading only), so that a load balancer
// sends the pings elsewhere. Both come back when the disk has room again.
func TestDaemonFullDisk(t *testing.T) {
	dir := tmpfs(t, 8<<20)
	synctest.Test(t, func(t *testing.T) {
		v, run := newDaemon(t, dir, "  - {name: job}\n", "")
		free := func() {}
		defer func() {
			free()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := run(ctx); err != nil {
				t.Errorf("daemon: %v", err)
			}
		}()
		base := "/ping/" + v.id(t, "job").Secret()
		if r := v.serve("GET", base); r.code != http.StatusOK {
			t.Fatalf("ping before: %d %q", r.code, r.body)
		}
		time.Sleep(6 * time.Second) // a readiness round
		synctest.Wait()
		if r := v.serve("GET", "/readyz"); r.code != http.StatusOK {
			t.Fatalf("/readyz before: %d %q", r.code, r.body)
		}

		free = fill(t, dir)
		// The pings that still fit in the space SQLite holds already are
		// recorded; then every ping is refused.
		for i := 0; v.serve("POST", base+"/fail").code != http.StatusServiceUnavailable; i++ {
			if i == 1000 {
				t.Fatal("1000 pings recorded on a full disk")
			}
		}
		const pings = 500
		for i := range pings {
			r := v.serve("POST", base+"/fail")
			if r.code != http.StatusServiceUnavailable || r.body != "store unavailable" || r.header.Get("Retry-After") == "" {
				t.Fatalf("ping %d on a full disk: %d %q", i, r.code, r.body)
			}
		}
		// Readiness's write probe fails at one of its next rounds: a tiny
		// write may still fit in space SQLite holds already (its WAL), as a
		// few pings did, but not for long.
		for round := 0; ; round++ {
			time.Sleep(5 * time.Second) // a readiness round
			synctest.Wait()
			r := v.serve("GET", "/readyz")
			if r.code == http.StatusServiceUnavailable {
				break
			}
			if round == 5 {
				t.Fatalf("/readyz on a full disk after %d rounds: %d %q, want 503", round+1, r.code, r.body)
			}
		}
		time.Sleep(ratelog.DefaultInterval) // the count's line
		synctest.Wait()
		lines := v.log.lines("ping not recorded")
		if len(lines) != 2 || !strings.Contains(lines[1], "repeated="+strconv.Itoa(pings)) {
			t.Errorf("%d lines for %d refused pings, want the first and one with repeated=%d:\n%s", len(lines), pings+1, pings, strings.Join(lines, "\n"))
		}
		for _, l := range lines {
			if !strings.Contains(l, "check=job unique_key="+model.UniqueKey(v.id(t, "job"))) || strings.Contains(l, v.id(t, "job").Secret()) {
				t.Errorf("the line names the check by its UUID, or not by name and unique key: %s", l)
			}
		}

		free()
		free = func() {}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if r := v.serve("GET", "/readyz"); r.code != http.StatusOK {
			t.Errorf("/readyz with room again: %d %q", r.code, r.body)
		}
		if r := v.serve("GET", base); r.code != http.StatusOK {
			t.Errorf("ping with room again: %d %q", r.code, r.body)
		}
		if n := len(v.log.lines("level=ERROR")); n > 3 {
			t.Errorf("%d ERROR lines in all", n)
		}
	})
}
