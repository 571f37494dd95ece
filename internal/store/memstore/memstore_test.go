package memstore_test

import (
	"testing"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Config{
		New: func(t *testing.T) func() store.Store {
			return func() store.Store { return memstore.New(memstore.Options{PingRetention: 5}) }
		},
		PingRetention: 5,
	})
}
