package daemon

import (
	"context"
	"time"

	"github.com/vitals-go/vitals/internal/cluster"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/store"
)

// newCluster returns this replica's membership when the store is shared
// (store.postgres): the engine then runs only the checks whose lease it
// holds (docs/ha-ownership.md). Nil with SQLite: one process owns every
// check.
func (d *Daemon) newCluster(cfg *config.Config) *cluster.Cluster {
	pg := cfg.Store.Postgres
	leaser, ok := d.st.(store.Leaser)
	if pg == nil || !ok {
		return nil
	}
	addr := ""
	if len(d.lns) > 0 {
		addr = d.lns[0].Addr().String()
	}
	return cluster.New(leaser, d.eng, cluster.Options{ID: d.replica, TTL: pg.LeaseTTL.D(), Address: addr, Logger: d.log, Now: d.opts.Now})
}

// leased reports whether cfg makes this process one replica among several.
func leased(cfg *config.Config) bool { return cfg.Store.Postgres != nil }

// feedOf returns st's change feed, nil when it has none (SQLite).
func feedOf(st store.Store) store.Feed {
	f, _ := st.(store.Feed)
	return f
}

// follow makes the engine follow the writes other replicas make of the
// checks it owns (watchdog.Engine.Follow: LISTEN/NOTIFY and a poll), until
// closeCluster.
func (d *Daemon) follow() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.eng.Follow(ctx, 0); ctx.Err() == nil {
			// Not at close: the replica cannot see the others' writes.
			d.log.Error("cluster: following the other replicas' writes stopped", "err", err)
		}
	}()
	d.stopFollow = func() {
		cancel()
		<-done
	}
}

// closeCluster gives this replica's leases up (a clean shutdown: the
// others take its checks over at once), before the engine stops.
func (d *Daemon) closeCluster(ctx context.Context) error {
	if d.cl == nil {
		return nil
	}
	if d.stopFollow != nil {
		d.stopFollow()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return d.cl.Close(ctx)
}
