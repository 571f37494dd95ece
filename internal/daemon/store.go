package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// daemonStore is what the daemon needs of its store: the store, and the
// write probe of its readiness check. Both stores have it.
type daemonStore interface {
	store.Store
	// The API's silences.
	store.SilenceStore
	ProbeWrite(ctx context.Context) error
	// Stats are the group-commit writer's counters, for /metrics.
	Stats() sqlite.Stats
}

// pgStore gives the PostgreSQL store's counters the form /metrics reads
// (metrics.SQLite: vitals_store_commits_total, …; no sync time of its
// own: PostgreSQL's WAL flush is inside its commit).
type pgStore struct{ *postgres.Store }

func (p pgStore) Stats() sqlite.Stats {
	s := p.Store.Stats()
	return sqlite.Stats{Batches: s.Batches, Writes: s.Writes, CommitTime: s.CommitTime}
}

// openStore opens the store cfg chooses: PostgreSQL when store.postgres is
// set, else the SQLite file. It also makes the state directory (the SQLite
// file's, the default one with PostgreSQL), where the silences were kept
// before the store kept them (openSilences imports them).
// Its errors never quote the PostgreSQL DSN.
func openStore(ctx context.Context, cfg *config.Config) (daemonStore, string, error) {
	path := cfg.Store.SQLite.Path
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("store directory: %w", err)
	}
	if pg := cfg.Store.Postgres; pg != nil {
		st, err := postgres.Open(ctx, pg.DSN, postgres.Options{PingRetention: cfg.Retention.Pings})
		if err != nil {
			return nil, "", fmt.Errorf("open store (PostgreSQL): %w", err)
		}
		return pgStore{st}, dir, nil
	}
	st, err := sqlite.Open(path, sqlite.Options{PingRetention: cfg.Retention.Pings})
	if err != nil {
		return nil, "", fmt.Errorf("open store %s: %w", path, err)
	}
	return st, dir, nil
}

// storeName says which store runs, for the start line: the SQLite file,
// or "postgres" (never the DSN, a secret).
func storeName(cfg *config.Config) string {
	if cfg.Store.Postgres != nil {
		return "postgres"
	}
	return cfg.Store.SQLite.Path
}

// openSilences imports the silences.json of earlier versions from
// stateDir into the store (once: the file is renamed) and reads the
// silences into the policy. With PostgreSQL, replicas share them: each
// reads them again every 2 seconds, so that a silence made or deleted on
// one holds or releases alerts on every other within that time.
func (d *Daemon) openSilences(ctx context.Context, cfg *config.Config, stateDir string) error {
	if _, err := policy.ImportSilencesFile(ctx, filepath.Join(stateDir, "silences.json"), d.st, time.Now(), d.log); err != nil {
		return err
	}
	var err error
	if d.silences, err = policy.NewSilences(ctx, d.st, d.sys.Suppression(), policy.SilencesOptions{Logger: d.log}); err != nil {
		return err
	}
	if cfg.Store.Postgres != nil {
		return d.silences.Start()
	}
	return nil
}
