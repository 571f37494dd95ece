package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// TestCompactionMovesTheLog writes more than two compaction chunks of
// log rows over 30 checks with no compaction running, then compacts:
// the compactor reads the log through an open cursor while it inserts
// into pings, updates states and prunes, in the same transaction, chunk
// after chunk. Every ping readable before (merged from the log) is
// readable after, the retention is applied, each check's state is its
// newest, and the log is empty. A log row whose check id does not parse
// (only a damaged file holds one) is dropped and counted.
func TestCompactionMovesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	const retention, perCheck, chunk = 25, 30, 400 // 900 rows: two chunks and a part
	opts := sqlite.Options{Synchronous: "OFF", PingRetention: retention, CompactInterval: time.Hour}
	st, err := sqlite.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]model.CheckID, 30)
	for i := range ids {
		c := storetest.SampleCheck(i)
		ids[i] = c.ID
		if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	// One writer per check, in ping order; the checks interleave in the
	// log, so its order is not the checks'.
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			for k := int64(1); k <= perCheck; k++ {
				at := t0.Add(time.Duration(k)*time.Second + time.Duration(i)*time.Millisecond)
				s := model.NewState(id, at)
				s.Status, s.Underlying, s.LastPing, s.NPings = model.StatusUp, model.StatusUp, at, k
				p := model.Ping{CheckID: id, N: k, Kind: model.PingSuccess, ExitStatus: -1, Time: at,
					Method: "POST", Scheme: "http", RemoteAddr: "127.0.0.1", UserAgent: "compact-test",
					Body: []byte{byte(i), byte(k)}}
				if err := st.Apply(ctx, store.Update{CheckID: id, State: s, Ping: &p}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := st.Stats().LogRows; got != int64(len(ids))*perCheck {
		t.Fatalf("log rows before compaction: %d, want %d (did a compaction run?)", got, len(ids)*perCheck)
	}
	read := func(st *sqlite.Store, id model.CheckID) []model.Ping {
		t.Helper()
		ps, err := st.Pings(ctx, id, store.PingQuery{Limit: 2 * perCheck})
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	before := make([][]model.Ping, len(ids))
	for i, id := range ids {
		before[i] = read(st, id)
	}
	if err := sqlite.Compact(st, chunk); err != nil {
		t.Fatal(err)
	}
	if got := st.Stats().LogRows; got != 0 {
		t.Errorf("log rows after compaction: %d, want 0", got)
	}
	for i, id := range ids {
		after := read(st, id)
		if len(after) != retention || after[0].N != perCheck || after[retention-1].N != perCheck-retention+1 {
			t.Errorf("check %d: %d pings after compaction, newest %d; want %d, newest %d", i, len(after), after[0].N, retention, perCheck)
		}
		eq := len(before[i]) >= retention && slices.EqualFunc(before[i][:retention], after, func(a, b model.Ping) bool {
			return a.N == b.N && a.Time.Equal(b.Time) && string(a.Body) == string(b.Body) && a.UserAgent == b.UserAgent
		})
		if !eq {
			t.Errorf("check %d: the pings read from the log differ from those compacted", i)
		}
		if _, s, err := st.GetCheck(ctx, id); err != nil || s.NPings != perCheck {
			t.Errorf("check %d: state after compaction has %d pings (%v), want %d", i, s.NPings, err, perCheck)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The retention was applied to the table, not only hidden by reads
	// (the writer deletes once retention/8 rows are past it).
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var most int
	if err := db.QueryRow(`SELECT max(c) FROM (SELECT count(*) AS c FROM pings GROUP BY check_id)`).Scan(&most); err != nil || most < retention || most > retention+retention/8 {
		t.Errorf("pings table: at most %d rows of a check (%v), want %d to %d", most, err, retention, retention+retention/8)
	}

	// A damaged row: a check id that does not parse.
	_, err = db.Exec(`INSERT INTO ping_log(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated, state)
		VALUES('not-an-id', 1, 'success', -1, '', 0, 0, '', '', '', '', NULL, 0, '{}')`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := sqlite.Compact(st, chunk); err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.LogRows != 0 || s.LogRowsDropped != 1 {
		t.Errorf("after compacting a damaged row: %d log rows, %d dropped; want 0, 1", s.LogRows, s.LogRowsDropped)
	}
	if got := read(st, ids[0]); len(got) != retention {
		t.Errorf("check 0 after the damaged row: %d pings, want %d", len(got), retention)
	}
}
