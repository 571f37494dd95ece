package sqlite_test

import (
	"path/filepath"
	"testing"

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
