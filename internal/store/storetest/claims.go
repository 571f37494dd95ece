package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// claimRows enqueues one pending row per channel name of c, due at the
// matching time of dues, and returns them.
func claimRows(t *testing.T, s store.Store, c model.Check, channels []string, dues []time.Time) []model.Notification {
	t.Helper()
	var rows []model.Notification
	flip := uuid.Must(uuid.NewV7())
	for i, ch := range channels {
		rows = append(rows, model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: flip, CheckID: c.ID, Channel: ch,
			Payload: json.RawMessage(`{"to":"down"}`), State: model.NotificationPending, NextAttempt: dues[i], Created: base})
	}
	if err := s.EnqueueNotifications(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// claim claims with q and fails the test on an error.
func claim(t *testing.T, cl store.OutboxClaimer, q store.ClaimQuery) store.Claimed {
	t.Helper()
	got, err := cl.ClaimNotifications(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// testClaims: the claims of store.OutboxClaimer: due rows first, never a
// row another holds, Also, Exclude and Only, when the rest is due, a claim ended
// by UpdateNotification or by its TTL. Stores without it skip it.
func testClaims(t *testing.T, cfg Config) {
	s, _, cl, c := openCapable[store.OutboxClaimer](t, cfg, "OutboxClaimer")
	ctx := context.Background()
	rows := claimRows(t, s, c, []string{"ops", "team", "later", "slow"},
		[]time.Time{base, base.Add(time.Second), base.Add(time.Hour), base})
	r1, r2, r3, r4 := rows[0], rows[1], rows[2], rows[3]
	due := base.Add(2 * time.Second)

	// Only: one channel's due rows (a digest's); the claim lasts a
	// nanosecond, over by the next statement.
	got := claim(t, cl, store.ClaimQuery{By: "z", DueBefore: due, Limit: 10, Only: []string{"slow", "later"}, TTL: time.Nanosecond})
	equal(t, "z's claim of the channels slow and later: the due one", got.Rows, []model.Notification{r4})

	got = claim(t, cl, store.ClaimQuery{By: "a", DueBefore: due, Limit: 1, TTL: time.Hour})
	equal(t, "a's claim: the earliest due, oldest first", got.Rows, []model.Notification{r1})
	got = claim(t, cl, store.ClaimQuery{By: "b", DueBefore: due, Limit: 10, Exclude: []string{"slow"}, TTL: time.Hour})
	equal(t, "b's claim: due, not a's, not excluded", got.Rows, []model.Notification{r2})
	if !got.Next.Equal(r3.NextAttempt) || got.ClaimEnds <= 0 || got.ClaimEnds > time.Hour {
		t.Fatalf("b: next %v, claim ends in %v; want %v and within the hour (a's claim)", got.Next, got.ClaimEnds, r3.NextAttempt)
	}
	got = claim(t, cl, store.ClaimQuery{By: "b", DueBefore: due, Limit: 10, Also: []uuid.UUID{r3.ID, r1.ID}, TTL: time.Hour})
	equal(t, "b's claim with Also: the due one left, then the one not due", got.Rows, []model.Notification{r4, r3})
	got = claim(t, cl, store.ClaimQuery{By: "c", DueBefore: due, Limit: 10, TTL: time.Hour})
	if len(got.Rows) != 0 || !got.Next.Equal(r3.NextAttempt) || got.ClaimEnds <= 0 {
		t.Fatalf("c, everything held: %+v", got)
	}
	if got = claim(t, cl, store.ClaimQuery{By: "a", DueBefore: due, TTL: time.Hour}); len(got.Rows) != 0 || got.ClaimEnds <= 0 {
		t.Fatalf("limit 0 claims nothing, and says b holds due rows: %+v", got)
	}

	// A retry scheduled by UpdateNotification ends the claim; a delivered
	// row is never claimed again.
	r2.Attempts, r2.LastError = 1, "503"
	if ok, err := s.UpdateNotification(ctx, r2, model.NotificationPending); err != nil || !ok {
		t.Fatalf("reschedule: %v %v", ok, err)
	}
	d := r1
	d.State, d.Attempts, d.Delivered = model.NotificationDelivered, 1, base
	if ok, err := s.UpdateNotification(ctx, d, model.NotificationPending); err != nil || !ok {
		t.Fatalf("deliver: %v %v", ok, err)
	}
	got = claim(t, cl, store.ClaimQuery{By: "c", DueBefore: due, Limit: 10, Also: []uuid.UUID{r1.ID}, TTL: time.Nanosecond})
	equal(t, "c's claim after the updates", got.Rows, []model.Notification{r2})

	// c's claim lasted a nanosecond: it is over by the next statement.
	got = claim(t, cl, store.ClaimQuery{By: "d", DueBefore: due, Limit: 10, TTL: time.Hour})
	equal(t, "d's claim after c's ended", got.Rows, []model.Notification{r2})

	if _, err := cl.ClaimNotifications(ctx, store.ClaimQuery{DueBefore: due, Limit: 1, TTL: time.Hour}); err == nil {
		t.Fatal("a claim without By must be refused")
	}
}

// testClaimRace: claimers racing over one outbox never get the same row,
// and between them get every row.
func testClaimRace(t *testing.T, cfg Config) {
	s, _, cl, c := openCapable[store.OutboxClaimer](t, cfg, "OutboxClaimer")
	const n, claimers = 200, 4
	channels, dues := make([]string, n), make([]time.Time, n)
	for i := range n {
		channels[i], dues[i] = fmt.Sprintf("ch%d", i), base
	}
	claimRows(t, s, c, channels, dues)
	var mu sync.Mutex
	seen := map[uuid.UUID]string{}
	var wg sync.WaitGroup
	for k := range claimers {
		by := fmt.Sprintf("claimer-%d", k)
		wg.Go(func() {
			for range n { // bounded: each turn claims at least one row or stops
				got, err := cl.ClaimNotifications(context.Background(), store.ClaimQuery{By: by, DueBefore: base.Add(time.Second), Limit: 3, TTL: time.Hour})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got.Rows) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got.Rows {
					if other, dup := seen[r.ID]; dup {
						t.Errorf("row %s claimed by %s and %s", r.Channel, other, by)
					}
					seen[r.ID] = by
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d rows claimed, want %d", len(seen), n)
	}
}
