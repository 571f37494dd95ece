package checks_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
)

// BenchmarkSQL compares one run of the SQL checker with the bare client call
// it makes (the baseline), on real PostgreSQL and MariaDB servers and on
// SQLite: the checker's own cost is the difference.
func BenchmarkSQL(b *testing.B) {
	ctx := context.Background()
	dbs := []struct {
		name   string
		driver string
		dsn    string
	}{
		{"postgres", "pgx", testenv.PostgresDSN()},
		{"mariadb", "mysql", testenv.MySQLDSN()},
		{"sqlite", "sqlite", "file:" + b.TempDir() + "/bench.db"},
	}
	for _, d := range dbs {
		b.Run(d.name, func(b *testing.B) {
			db, err := sql.Open(d.driver, d.dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(4)
			testenv.Require(b, d.name, db.PingContext(ctx))

			b.Run("ping/client", func(b *testing.B) {
				for b.Loop() {
					if err := db.PingContext(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ping/check", func(b *testing.B) {
				c := checks.NewSQL(db, checks.SQLOptions{})
				for b.Loop() {
					if err := c.Check(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("query/client", func(b *testing.B) {
				for b.Loop() {
					var n int
					if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("query/check", func(b *testing.B) {
				c := checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1", CheckRow: wantInt(1)})
				for b.Loop() {
					if err := c.Check(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
