package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
)

// OutboxClaimer is the optional capability of a store shared by several
// processes (the PostgreSQL store, several replicas): outbox rows are
// claimed by one deliverer at a time, with a claim that ends by itself, so
// that any replica delivers and one that dies mid-delivery leaves its rows
// to the others. The outbox's dispatcher uses it when its store has it; a
// store of one process (SQLite) leaves it out and the dispatcher reads the
// pending rows as before.
//
// A claim gives no exclusivity beyond its TTL: it keeps two live deliverers
// from sending one row at the same time; delivery stays at least once
// (a deliverer that dies after the receiver took a row, before marking it,
// leaves it to be sent again, with the same Idempotency-Key).
// UpdateNotification ends the claim of the row it writes, whatever its
// outcome, so that a row rescheduled for a retry is claimable when it
// comes due.
type OutboxClaimer interface {
	// ClaimNotifications claims for q.By, until q.TTL from now by the
	// store's clock (the database's: every replica agrees), at most
	// q.Limit pending rows that nobody else holds (unclaimed, or whose
	// claim has ended): rows due (NextAttempt before q.DueBefore) and the
	// rows of q.Also whatever their NextAttempt, but none of a channel of
	// q.Exclude; earliest NextAttempt first. Claimers racing for rows
	// never get the same one (FOR UPDATE SKIP LOCKED: neither waits for
	// the other). It also reports when the rest is due (see [Claimed]).
	ClaimNotifications(ctx context.Context, q ClaimQuery) (Claimed, error)
}

// ClaimQuery says which outbox rows to claim, see [OutboxClaimer].
type ClaimQuery struct {
	// By names the claimer (a replica's dispatcher), kept with the claim
	// for people looking at the table. Required.
	By string
	// DueBefore: rows whose NextAttempt is before it are due.
	DueBefore time.Time
	// Also lists rows claimed whatever their NextAttempt (held rows
	// released early, when a silence is deleted), if pending and free.
	Also []uuid.UUID
	// Exclude lists channels whose rows are left alone this time (the
	// claimer has no room for them now).
	Exclude []string
	// Only, when not empty, claims rows of these channels only (an alert
	// storm's digest gathers one channel's due rows).
	Only []string
	// Limit caps the rows claimed; 0 claims none (the answer still says
	// when the rest is due).
	Limit int
	// TTL is how long the claim lasts. Required.
	TTL time.Duration
}

// Claimed is the answer of [OutboxClaimer.ClaimNotifications].
type Claimed struct {
	// Rows are the rows claimed, earliest NextAttempt first.
	Rows []model.Notification
	// Next is the earliest NextAttempt, at or after DueBefore, of a
	// pending row; zero when there is none.
	Next time.Time
	// ClaimEnds is how long until the first claim held by another
	// claimer on a due row ends (its claimer may have died); 0: none.
	ClaimEnds time.Duration
}
