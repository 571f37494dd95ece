package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is a private server process (redis-server, nats-server, ...) that a
// test starts on a port of its own, kills and starts again on the same port:
// a real process death, which [Proxy] only imitates, without touching the
// servers that other tests share. Its output goes to a file in the test's
// temporary directory, shown when it fails to start.
//
// A Server is used from the test's goroutine only; it is killed when the
// test ends.
type Server struct {
	tb   testing.TB
	what string
	addr string
	bin  string
	args []string
	log  string
	cmd  *exec.Cmd
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartServer runs bin with args (which must make it listen on 127.0.0.1:port)
// and waits until the port accepts connections. what names the server for
// [Require]: a missing binary skips the test, or fails it under
// VITALS_INTEGRATION=1.
func StartServer(tb testing.TB, what string, port int, bin string, args ...string) *Server {
	tb.Helper()
	path, err := exec.LookPath(bin)
	Require(tb, what, err)
	s := &Server{
		tb: tb, what: what, bin: path, args: args,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		log:  filepath.Join(tb.TempDir(), filepath.Base(bin)+".log"),
	}
	tb.Cleanup(s.Stop)
	s.Start()
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Start starts the server again (after Stop) and waits, at most 30 seconds,
// until its port accepts connections.
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		return
	}
	out, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("%s: %v", s.what, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for Reachable(s.addr) != nil {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			s.tb.Fatalf("%s did not listen on %s within 30s; output:\n%s", s.what, s.addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: no goodbye to its clients) and waits for
// it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// String returns what the server is and where it listens.
func (s *Server) String() string { return fmt.Sprintf("%s on %s", s.what, s.addr) }
