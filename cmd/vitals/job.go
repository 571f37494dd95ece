package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
)

// pingURLEnv holds the ping URL when --ping-url is not given.
const pingURLEnv = "VITALS_PING_URL"

// runJob runs a command like a cron job under healthchecks.io-style
// monitoring: a start ping with a run id, the command (its output passed
// through and its tail captured), then an exit-status ping with the same
// run id and the output as the body. It exits with the command's code.
func runJob(args []string, stdout, stderr io.Writer, env lookupEnv) int {
	fs := flag.NewFlagSet("vitals run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pingURL := fs.String("ping-url", "", "the check's ping URL, e.g. http://vitals:8000/ping/<uuid> or .../ping/<ping-key>/<slug> (default $"+pingURLEnv+")")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each ping request")
	retries := fs.Int("retries", 3, "attempts per ping on network errors and 5xx answers")
	maxOutput := fs.Int("max-output", model.DefaultBodyLimit, "bytes of output sent with the exit status (the tail)")
	noStart := fs.Bool("no-start", false, "do not send the start ping")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: vitals run [--ping-url URL] [flags] -- COMMAND [ARG...]

Runs COMMAND, pinging URL/start?rid=<id> before and URL/<exit-status>?rid=<id>
after, with the tail of its output (stdout and stderr) as the body. The
command's output is passed through and its exit code is vitals' exit code
(128+N when killed by signal N, 127 when it cannot be started). A ping that
fails is reported on stderr and never changes the exit code.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return exitUsage
	}
	base := *pingURL
	if base == "" {
		base, _ = env(pingURLEnv)
	}
	var p *pinger
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "vitals run: --ping-url %q is not an http(s) URL\n", base)
			return exitUsage
		}
		p = &pinger{base: u, rid: uuid.New(), client: &http.Client{Timeout: *timeout}, retries: max(*retries, 1), stderr: stderr}
	} else {
		fmt.Fprintf(stderr, "vitals run: no --ping-url nor $%s: running without monitoring\n", pingURLEnv)
	}

	if p != nil && !*noStart {
		p.send("start", nil)
	}
	out := &lockedTail{b: pull.TailBuffer{Max: max(*maxOutput, 0)}}
	code, runErr := execute(argv, io.MultiWriter(stdout, out), io.MultiWriter(stderr, out))
	if runErr != nil {
		fmt.Fprintf(stderr, "vitals run: %v\n", runErr)
		fmt.Fprintf(out, "vitals run: %v\n", runErr)
	}
	if p != nil {
		p.send(strconv.Itoa(code), out.bytes())
	}
	return code
}

// execute runs argv with the given outputs, forwarding SIGINT, SIGTERM and
// SIGHUP to it, and returns its exit code: 128+N when killed by signal N,
// 127 when it was not found, 126 when it could not be started otherwise.
func execute(argv []string, stdout, stderr io.Writer) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127, err
		}
		return 126, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	wg.Wait()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 1, err
}

// lockedTail is a TailBuffer shared by the stdout and stderr copiers.
type lockedTail struct {
	mu sync.Mutex
	b  pull.TailBuffer
}

func (l *lockedTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Max == 0 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedTail) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// pinger sends pings of one run.
type pinger struct {
	base    *url.URL
	rid     uuid.UUID
	client  *http.Client
	retries int
	stderr  io.Writer
}

// send POSTs body to base/<suffix>?rid=<rid>, retrying network errors and
// 5xx answers with a short backoff. Failures are reported, not returned.
func (p *pinger) send(suffix string, body []byte) {
	u := *p.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + suffix
	u.RawPath = ""
	q := u.Query()
	q.Set("rid", p.rid.String())
	u.RawQuery = q.Encode()
	var last string
	for attempt := range p.retries {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			last = err.Error()
			break
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		req.Header.Set("User-Agent", "vitals-run/1")
		resp, err := p.client.Do(req)
		if err != nil {
			// A *url.Error names the whole URL, secret included: keep
			// only what went wrong.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			last = err.Error()
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return
		}
		last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
		if r := resp.Header.Get("X-Vitals-Reason"); r != "" {
			last += " (" + r + ")"
		}
		if resp.StatusCode < 500 {
			break
		}
	}
	fmt.Fprintf(p.stderr, "vitals run: %s ping to %s failed: %s\n", suffix, redact(u), last)
}

// redact returns u for messages with its secret parts hidden: the
// check's UUID or ping key after /ping/ becomes "…", and the query (the run
// id) and any userinfo are dropped. It is built by hand because
// url.URL.String would percent-encode the ellipsis.
func redact(u url.URL) string {
	parts := strings.Split(u.EscapedPath(), "/")
	for i := 1; i < len(parts); i++ {
		if parts[i-1] == "ping" {
			parts[i] = "…"
		}
	}
	return u.Scheme + "://" + u.Host + strings.Join(parts, "/")
}
