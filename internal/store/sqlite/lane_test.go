package sqlite

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/storetest"
)

// laneStore opens a store whose writer commits at most maxBatch writes
// together and never compacts on its own, with checks created.
func laneStore(t *testing.T, maxBatch int, noLane bool, checks int) (*Store, []model.CheckID) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "lane.db"), Options{Synchronous: "OFF", MaxBatch: maxBatch, CompactInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.noLane = noLane
	ids := make([]model.CheckID, checks)
	for i := range ids {
		c := storetest.SampleCheck(i)
		ids[i] = c.ID
		if err := s.CreateCheck(context.Background(), c, model.NewState(c.ID, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	return s, ids
}

// blockWriter makes the writer run a write that waits for the returned
// release; it returns once the writer runs it.
func blockWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(context.Context, *writer) error {
			close(running)
			<-unblock
			return nil
		})
	}()
	<-running
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(release) // before Close, on a failure
	return release
}

// waitQueued waits until the writer's queues hold reqs + urgent requests
// (sent by other goroutines), and fails unless they are in that split.
func waitQueued(t *testing.T, s *Store, reqs, urgent int) {
	t.Helper()
	for len(s.reqs)+len(s.urgent) < reqs+urgent {
		runtime.Gosched()
	}
	if len(s.reqs) != reqs || len(s.urgent) != urgent {
		t.Fatalf("queued: %d normal, %d urgent; want %d, %d", len(s.reqs), len(s.urgent), reqs, urgent)
	}
}

func pingUpdate(id model.CheckID, n int64) store.Update {
	now := time.Now()
	st := model.NewState(id, now)
	st.Status, st.Underlying, st.LastPing, st.NPings = model.StatusUp, model.StatusUp, now, n
	return store.Update{CheckID: id, State: st, Ping: &model.Ping{CheckID: id, N: n, Kind: model.PingSuccess, ExitStatus: -1, Time: now}}
}

func flipUpdate(id model.CheckID) store.Update {
	now := time.Now()
	st := model.NewState(id, now)
	st.Status, st.Underlying, st.Since = model.StatusDown, model.StatusDown, now
	f := model.Flip{ID: uuid.Must(uuid.NewV7()), CheckID: id, From: model.StatusUp, To: model.StatusDown, Time: now, Reason: "deadline"}
	return store.Update{CheckID: id, State: st, Flips: []model.Flip{f}}
}

// logOrder returns the checks of ping_log's rows in the order written.
func logOrder(t *testing.T, s *Store) []model.CheckID {
	t.Helper()
	rows, err := s.rdb.Query(`SELECT check_id FROM ping_log ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []model.CheckID
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		id, err := model.ParseCheckID(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func applyAll(t *testing.T, s *Store, wg *sync.WaitGroup, us ...store.Update) {
	for _, u := range us {
		wg.Go(func() {
			if err := s.Apply(context.Background(), u); err != nil {
				t.Error(err)
			}
		})
	}
}

// A flip queued behind a full backlog of pings (three batches of them)
// is written in the batch after the one in progress, before the backlog;
// without the lane, after it.
func TestUrgentLaneOvertakesBacklog(t *testing.T) {
	const maxBatch, backlog = 4, 12
	for _, tc := range []struct {
		name   string
		noLane bool
		want   int // the flip's row among the log's
	}{
		{"lane", false, 0},
		{"no-lane", true, backlog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ids := laneStore(t, maxBatch, tc.noLane, 2)
			pinged, flipped := ids[0], ids[1]
			release := blockWriter(t, s)
			var wg sync.WaitGroup
			for n := range backlog {
				applyAll(t, s, &wg, pingUpdate(pinged, int64(n+1)))
			}
			waitQueued(t, s, backlog, 0)
			applyAll(t, s, &wg, flipUpdate(flipped))
			if tc.noLane {
				waitQueued(t, s, backlog+1, 0)
			} else {
				waitQueued(t, s, backlog, 1)
			}
			release()
			wg.Wait()
			order := logOrder(t, s)
			if len(order) != backlog+1 {
				t.Fatalf("%d log rows, want %d", len(order), backlog+1)
			}
			for i, id := range order {
				if (id == flipped) != (i == tc.want) {
					t.Fatalf("log order %v: want the flip at %d", order, tc.want)
				}
			}
		})
	}
}

// A flip of a check whose ping is still queued goes behind the ping: had
// it overtaken it, the ping's older state (up) would be written after the
// flip's and replace it. The check's count of queued Applies is back to
// zero once the writer took them.
func TestUrgentLaneKeepsCheckOrder(t *testing.T) {
	ctx := context.Background()
	s, ids := laneStore(t, 4, false, 2)
	id, other := ids[0], ids[1]
	release := blockWriter(t, s)
	var wg sync.WaitGroup
	applyAll(t, s, &wg, pingUpdate(id, 1))
	waitQueued(t, s, 1, 0)
	applyAll(t, s, &wg, pingUpdate(other, 1))
	waitQueued(t, s, 2, 0)
	applyAll(t, s, &wg, flipUpdate(id))
	waitQueued(t, s, 3, 0) // in the FIFO queue, not the lane
	release()
	wg.Wait()
	if got := logOrder(t, s); len(got) != 3 || got[0] != id || got[1] != other || got[2] != id {
		t.Fatalf("log order %v: want %v, %v, %v", got, id, other, id)
	}
	_, st, err := s.GetCheck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != model.StatusDown {
		t.Fatalf("status %s after the flip, want down", st.Status)
	}
	if n := s.pending.Queued(); n != 0 {
		t.Fatalf("%d checks counted with queued Applies, want none", n)
	}
	// The same flip with nothing of its check queued takes the lane.
	release = blockWriter(t, s)
	applyAll(t, s, &wg, pingUpdate(other, 2))
	waitQueued(t, s, 1, 0)
	applyAll(t, s, &wg, flipUpdate(id))
	waitQueued(t, s, 1, 1)
	release()
	wg.Wait()
}

// A compaction ends after one step when the batch holds an urgent write,
// and moves its whole chunk otherwise.
func TestCompactionYieldsToUrgent(t *testing.T) {
	ctx := context.Background()
	s, ids := laneStore(t, 1000, false, 1)
	var wg sync.WaitGroup
	for n := range 3 * compactStep {
		applyAll(t, s, &wg, pingUpdate(ids[0], int64(n+1)))
	}
	wg.Wait()
	for _, tc := range []struct {
		urgent   bool
		wantMore bool
		wantLeft int
	}{
		{true, true, 2 * compactStep},
		{false, false, 0},
	} {
		err := s.write(ctx, func(ctx context.Context, w *writer) error {
			w.urgent = tc.urgent
			more, err := w.compactChunk(ctx, false, compactChunk)
			if err != nil {
				return err
			}
			if more != tc.wantMore || w.logRows != tc.wantLeft {
				t.Errorf("urgent %v: more %v, %d rows left; want %v, %d", tc.urgent, more, w.logRows, tc.wantMore, tc.wantLeft)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
