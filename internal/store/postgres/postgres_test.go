package postgres_test

import (
	"context"
	"testing"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// open opens a store on dsn, failing the test on error; the suite or the
// test closes it.
func open(t testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Config{
		New: func(t *testing.T) func() store.Store {
			dsn := pgtest.Schema(t)
			return func() store.Store { return open(t, dsn, postgres.Options{PingRetention: 5}) }
		},
		Persistent:    true,
		PingRetention: 5,
	})
}
