package sqlite_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Config{
		New: func(t *testing.T) func() store.Store {
			path := filepath.Join(t.TempDir(), "vitals.db")
			return func() store.Store {
				s, err := sqlite.Open(path, sqlite.Options{PingRetention: 5})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		},
		Persistent:    true,
		PingRetention: 5,
	})
}

// Close stops every goroutine the store started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "g.db"), sqlite.Options{CheckpointInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListChecks(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// database/sql's connection openers exit asynchronously after Close.
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
}

func TestOpenErrors(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "SOMETIMES"}); err == nil ||
		!strings.Contains(err.Error(), `synchronous "SOMETIMES"`) {
		t.Fatalf("bad synchronous: %v", err)
	}
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "missing-dir", "x.db"), sqlite.Options{}); err == nil {
		t.Fatal("opened a database in a missing directory")
	}
}
