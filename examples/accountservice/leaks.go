package main

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// leaks are the TEST-ONLY memory and goroutine leak faults: real
// allocations and real goroutines, owned here so that their removal frees
// and stops every one of them.
type leaks struct {
	mu     sync.Mutex
	stop   chan struct{} // closed to end the leaked goroutines and the grower
	wg     sync.WaitGroup
	memory [][]byte
}

// maxLeakMiB and maxLeakGoroutines bound what a caller may ask for.
const maxLeakMiB, maxLeakGoroutines = 4096, 100000

// leakMemory grows the heap by 2 MiB every 100 ms (20 MiB/s), every page
// written so that it counts in the cgroup's working set, up to mib MiB.
func (l *leaks) leakMemory(mib int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stop := l.stopLocked()
	l.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for grown := 0; grown < mib; grown += 2 {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			b := make([]byte, 2<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			l.mu.Lock()
			l.memory = append(l.memory, b)
			l.mu.Unlock()
		}
	})
}

// leakGoroutines starts n goroutines that block until the fault is removed.
func (l *leaks) leakGoroutines(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stop := l.stopLocked()
	for range n {
		l.wg.Go(func() { <-stop })
	}
}

func (l *leaks) stopLocked() chan struct{} {
	if l.stop == nil {
		l.stop = make(chan struct{})
	}
	return l.stop
}

// remove ends every leak: stops the goroutines and the grower, waits for
// them, frees the memory and returns it to the system.
func (l *leaks) remove() {
	l.mu.Lock()
	if l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.mu.Lock()
	l.memory = nil
	l.mu.Unlock()
	debug.FreeOSMemory()
}

// intParam reads a bounded integer query parameter, def when absent.
func intParam(r *http.Request, name string, def, max int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, max)
}

// fillDisk writes dir/fill until the file system is full or max bytes are
// written (the TEST-ONLY disk full fault); removeFill deletes it.
func fillDisk(dir string, max int64) error {
	f, err := os.OpenFile(filepath.Join(dir, "fill"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for written := int64(0); written < max; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			break // ENOSPC: full, as asked
		}
	}
	f.Sync()
	return nil
}

func removeFill(dir string) error {
	err := os.Remove(filepath.Join(dir, "fill"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
