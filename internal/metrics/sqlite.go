package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// SQLiteStats is what SQLite reads: the embedded store's writer counters.
// *sqlite.Store implements it.
type SQLiteStats interface {
	Stats() sqlite.Stats
}

var _ SQLiteStats = (*sqlite.Store)(nil)

// SQLite returns a collector of the SQLite store's group commits, read
// from st.Stats on each scrape:
//
//	vitals_store_commits_total           transactions committed (group commits)
//	vitals_store_committed_writes_total  writes they carried (writes / commits = mean group size)
//	vitals_store_commit_seconds_total    time spent running and committing batches
//	vitals_store_sync_seconds_total      the part of it spent in COMMIT (WAL write and fsync)
//	vitals_store_wal_truncations_total   resets of the WAL file the writer ran between batches
//	vitals_store_wal_truncations_busy_total  those a reader of the WAL kept from completing
//	vitals_store_wal_truncation_seconds_total  time the writer spent on them
//
// namespace defaults to "vitals". Safe for concurrent use.
func SQLite(st SQLiteStats, namespace string) prometheus.Collector {
	if namespace == "" {
		namespace = "vitals"
	}
	return &sqliteCollector{
		st:      st,
		commits: prometheus.NewDesc(namespace+"_store_commits_total", "Transactions committed by the store's writer (group commits).", nil, nil),
		writes:  prometheus.NewDesc(namespace+"_store_committed_writes_total", "Writes carried by the committed transactions; divided by the commits, the mean group size.", nil, nil),
		commit:  prometheus.NewDesc(namespace+"_store_commit_seconds_total", "Time the store's writer spent running and committing batches.", nil, nil),
		sync:    prometheus.NewDesc(namespace+"_store_sync_seconds_total", "Part of the commit time spent in COMMIT itself (writing the WAL, fsync).", nil, nil),
		truncs:  prometheus.NewDesc(namespace+"_store_wal_truncations_total", "Resets of the WAL file the store's writer ran between batches.", nil, nil),
		busy:    prometheus.NewDesc(namespace+"_store_wal_truncations_busy_total", "WAL resets that a reader of the WAL kept from completing (the WAL grows until one completes).", nil, nil),
		truncT:  prometheus.NewDesc(namespace+"_store_wal_truncation_seconds_total", "Time the store's writer spent resetting the WAL file.", nil, nil),
	}
}

type sqliteCollector struct {
	st                            SQLiteStats
	commits, writes, commit, sync *prometheus.Desc
	truncs, busy, truncT          *prometheus.Desc
}

func (c *sqliteCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.commits
	ch <- c.writes
	ch <- c.commit
	ch <- c.sync
	ch <- c.truncs
	ch <- c.busy
	ch <- c.truncT
}

func (c *sqliteCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stats()
	send(ch, c.commits, prometheus.CounterValue, float64(s.Batches))
	send(ch, c.writes, prometheus.CounterValue, float64(s.Writes))
	send(ch, c.commit, prometheus.CounterValue, s.CommitTime.Seconds())
	send(ch, c.sync, prometheus.CounterValue, s.SyncTime.Seconds())
	send(ch, c.truncs, prometheus.CounterValue, float64(s.Truncates))
	send(ch, c.busy, prometheus.CounterValue, float64(s.TruncatesBusy))
	send(ch, c.truncT, prometheus.CounterValue, s.TruncateTime.Seconds())
}
