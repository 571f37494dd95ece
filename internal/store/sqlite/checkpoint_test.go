package sqlite

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

// walSize is the size of the store's -wal file.
func walSize(t *testing.T, s *Store) int64 {
	t.Helper()
	fi, err := os.Stat(s.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// noop runs an empty write and waits for it: every request the writer
// took before it, and a truncation asked for before it, are done.
func noop(t *testing.T, s *Store) {
	t.Helper()
	if err := s.write(context.Background(), func(context.Context, *writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// truncateAfterBatch asks for a truncation while the writer runs a batch,
// and waits for a write behind it.
func truncateAfterBatch(t *testing.T, s *Store) {
	t.Helper()
	release := blockWriter(t, s)
	s.requestTruncate()
	release()
	noop(t, s)
}

// TestTruncateBetweenBatches: a truncation the checkpointer asks for runs
// on the writer between two batches and empties the WAL file; with a flip
// waiting, it runs after the flip's batch, not before, and is not lost.
func TestTruncateBetweenBatches(t *testing.T) {
	ctx := context.Background()
	// Batches of one write: the flip below cannot join the batch in
	// progress and waits in the urgent lane when the writer is between two.
	s, ids := laneStore(t, 1, false, 4)
	for n := int64(1); n <= 50; n++ {
		if err := s.Apply(ctx, pingUpdate(ids[n%4], n)); err != nil {
			t.Fatal(err)
		}
	}
	if walSize(t, s) == 0 {
		t.Fatal("the WAL is empty before the test")
	}

	truncateAfterBatch(t, s)
	if st := s.Stats(); st.Truncates != 1 || st.TruncatesBusy != 0 {
		t.Fatalf("truncates %d, busy %d; want 1, 0", st.Truncates, st.TruncatesBusy)
	}
	if n := walSize(t, s); n != 0 {
		t.Fatalf("WAL %d bytes after the truncation", n)
	}

	// A flip waiting when the writer comes to the truncation goes first:
	// when the WAL is reset, the flip is committed.
	if err := s.Apply(ctx, pingUpdate(ids[0], 51)); err != nil {
		t.Fatal(err)
	}
	flipsAtTruncate := -1
	s.truncateHook = func() { // on the writer goroutine, read back after noop
		if err := s.rdb.QueryRow(`SELECT count(*) FROM flips`).Scan(&flipsAtTruncate); err != nil {
			t.Error(err)
		}
	}
	release := blockWriter(t, s)
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		if err := s.Apply(ctx, flipUpdate(ids[1])); err != nil {
			t.Error(err)
		}
	}()
	waitQueued(t, s, 0, 1)
	s.requestTruncate()
	release()
	<-flipped
	noop(t, s)
	if st := s.Stats(); st.Truncates != 2 {
		t.Fatalf("truncates %d after the flip; want 2 (asked again, not dropped)", st.Truncates)
	}
	if flipsAtTruncate != 1 {
		t.Fatalf("%d flips committed when the WAL was reset; want 1 (the waiting flip first)", flipsAtTruncate)
	}
}

// TestTruncateWaitsForReadersBriefly: a reader holding a snapshot in the
// WAL keeps the truncation from completing; the writer gives up after
// truncateWait instead of waiting for it, and writes go on.
func TestTruncateWaitsForReadersBriefly(t *testing.T) {
	ctx := context.Background()
	s, ids := laneStore(t, 100, false, 2)
	if err := s.Apply(ctx, pingUpdate(ids[0], 1)); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM checks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// A write after the reader's snapshot, so the WAL holds frames the
	// reader must not see overwritten.
	if err := s.Apply(ctx, pingUpdate(ids[1], 1)); err != nil {
		t.Fatal(err)
	}

	truncateAfterBatch(t, s)
	if st := s.Stats(); st.Truncates != 1 || st.TruncatesBusy != 1 {
		t.Fatalf("truncates %d, busy %d with a reader; want 1, 1", st.Truncates, st.TruncatesBusy)
	}
	if err := s.Apply(ctx, pingUpdate(ids[0], 2)); err != nil {
		t.Fatalf("a write after a truncation gave up: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	s.requestTruncate()
	noop(t, s)
	if st := s.Stats(); st.Truncates != 2 || st.TruncatesBusy != 1 {
		t.Fatalf("truncates %d, busy %d once the reader ended; want 2, 1", st.Truncates, st.TruncatesBusy)
	}
	if n := walSize(t, s); n != 0 {
		t.Fatalf("WAL %d bytes after the truncation", n)
	}
	// The writer's connection has its own busy timeout back.
	var ms int64
	if err := s.write(ctx, func(_ context.Context, w *writer) error {
		return w.tx.QueryRow(`PRAGMA busy_timeout`).Scan(&ms)
	}); err != nil {
		t.Fatal(err)
	}
	if ms != busyTimeout.Milliseconds() {
		t.Fatalf("writer's busy_timeout %d ms after truncations; want %d", ms, busyTimeout.Milliseconds())
	}
}
