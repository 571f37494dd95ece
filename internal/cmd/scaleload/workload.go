package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// workload is what a run sends: the checks of the config file, those made
// through the API and by auto-provisioning pings, and which of them are
// left silent on purpose (they go down during the run).
type workload struct {
	dir, config, db string
	pingKey, apiKey string
	addr            string // the daemon's listen address
	target          string // the pull checks' target, host:port

	heartbeat int // heartbeat checks in all (file + API + auto)
	fileHB    int // of them, in the file
	api, auto int // made through the API, by ?create=1 pings
	late      int // of the file's heartbeat checks, pinged once then left silent
	pulls     int
	retention int
}

// slug names heartbeat check i. The file's come first, then the API's,
// then the auto-provisioned ones.
func slug(i int) string { return fmt.Sprintf("hb-%06d", i) }

// isLate reports whether file heartbeat check i is one of the silent
// ones: spread evenly through the file.
func (w *workload) isLate(i int) bool {
	if w.late == 0 || i >= w.fileHB {
		return false
	}
	step := w.fileHB / w.late
	return i%step == 0 && i/step < w.late
}

// writeConfig writes the daemon's config file: heartbeat checks with
// periods of 1 to 60 minutes (the silent ones 1 minute with 10 to 59 s
// of grace, so that they go down during a run of a few minutes), and pull
// checks probing the target every 10 s.
func (w *workload) writeConfig() error {
	f, err := os.Create(w.config)
	if err != nil {
		return err
	}
	b := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(b, `server:
  listen: ["%s"]
  max_connections: 8192
  max_connections_per_client: 4096
store: {sqlite: {path: %q}}
api_keys: [{name: scaleload, key: %s, access: read-write}]
pings: {ping_key: %s, auto_create: true}
retention: {pings: %d}
pull: {max_concurrent: 1024}
checks:
`, w.addr, w.db, w.apiKey, w.pingKey, w.retention)
	for i := range w.fileHB {
		if w.isLate(i) {
			fmt.Fprintf(b, "  - {name: %s, slug: %s, period: 1m, grace: %ds, tags: [hb, late, team%d]}\n", slug(i), slug(i), 10+i%50, i%20)
			continue
		}
		fmt.Fprintf(b, "  - {name: %s, slug: %s, period: %dm, grace: 5m, tags: [hb, team%d]}\n", slug(i), slug(i), 1+i%60, i%20)
	}
	for i := range w.pulls {
		fmt.Fprintf(b, "  - {name: pull-%06d, http: {url: \"http://%s/p%d\"}, interval: 10s, timeout: 5s, tags: [pull, team%d]}\n", i, w.target, i%100, i%20)
	}
	if err := b.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeAddr returns a loopback address with a port the OS chose.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// runTarget is the pull checks' target (-serve): it answers every path
// with a small JSON body, on 127.0.0.1 with a port the OS chose, printed
// first; it exits when its parent closes stdin.
func runTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	body := []byte(`{"status":"UP"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	srv.Serve(ln)
}

// startTarget runs runTarget in a child process, so that its CPU is not
// the watchdog's nor the load's.
func startTarget() (addr string, stop func(), err error) {
	cmd := exec.Command(os.Args[0], "-serve")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	if _, err := fmt.Fscanln(out, &addr); err != nil {
		in.Close()
		cmd.Wait()
		return "", nil, fmt.Errorf("target: %w", err)
	}
	return addr, func() { in.Close(); cmd.Wait() }, nil
}

// buildVitals builds cmd/vitals into dir (run from the module's root).
func buildVitals(dir string) (string, error) {
	bin := filepath.Join(dir, "vitals")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/vitals")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/vitals (run scaleload from the module's root, or give -vitals): %w", err)
	}
	return bin, nil
}
