package config

import (
	"strings"
	"testing"
	"time"
)

// store.postgres: the DSN from the environment, lease_ttl defaulted and
// parsed; the DSN, a secret, never quoted in an error, even where a value
// is quoted.
func TestStorePostgres(t *testing.T) {
	const dsn = "postgres://vitals:pw-Zq81@127.0.0.1:5432/vitals?sslmode=disable"
	vars := env(map[string]string{"VITALS_PG_DSN": dsn})
	cfg, err := Parse("pg.yaml", []byte("store:\n  postgres:\n    dsn: ${VITALS_PG_DSN}\n"), vars)
	if err != nil {
		t.Fatal(err)
	}
	if pg := cfg.Store.Postgres; pg == nil || pg.DSN != dsn || pg.LeaseTTL.D() != DefaultLeaseTTL {
		t.Fatalf("store.postgres: %+v", pg)
	}
	cfg, err = Parse("pg.yaml", []byte("store:\n  postgres: {dsn: \"${VITALS_PG_DSN}\", lease_ttl: 30s}\n"), vars)
	if err != nil || cfg.Store.Postgres.LeaseTTL.D() != 30*time.Second {
		t.Fatalf("lease_ttl 30s: %+v, %v", cfg, err)
	}
	_, err = Parse("pg.yaml", []byte("store:\n  postgres: {dsn: \"${VITALS_PG_DSN}\", lease_ttl: \"${VITALS_PG_DSN}\"}\n"), vars)
	if err == nil || strings.Contains(err.Error(), "pw-Zq81") || !strings.Contains(err.Error(), "${VITALS_PG_DSN}") {
		t.Fatalf("an error quoting the DSN's value: %v", err)
	}
}
