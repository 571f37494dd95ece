package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// schemaLeases is migration 2: the replicas and the checks' leases
// (docs/ha-ownership.md). Every check has a lease row from its creation
// (the trigger; the existing checks get theirs here), free and expired at
// once, so that finding the claimable leases is a range scan of
// leases_expires, never a join of every check. Times are int8
// nanoseconds, as everywhere in this schema; the trigger's is the server's
// clock, the only time the store reads itself.
const schemaLeases = `
CREATE TABLE replicas (
	id        text PRIMARY KEY,
	address   text NOT NULL, -- where other replicas forward to
	heartbeat int8 NOT NULL,
	expires   int8 NOT NULL  -- live until then
);

CREATE TABLE leases (
	check_id uuid PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	owner    text NOT NULL DEFAULT '', -- '': free (released, or never claimed)
	epoch    int8 NOT NULL DEFAULT 0,  -- +1 at every claim: the fencing token
	expires  int8 NOT NULL
);
CREATE INDEX leases_owner ON leases(owner);
CREATE INDEX leases_expires ON leases(expires);

CREATE FUNCTION vitals_check_lease() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	INSERT INTO leases(check_id, expires) VALUES (NEW.id, (extract(epoch FROM clock_timestamp()) * 1e9)::int8)
	ON CONFLICT (check_id) DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER checks_lease AFTER INSERT ON checks FOR EACH ROW EXECUTE FUNCTION vitals_check_lease();

INSERT INTO leases(check_id, expires) SELECT id, (extract(epoch FROM now()) * 1e9)::int8 FROM checks;
`

// Statements of the Leaser. Each locks the lease rows it changes in check
// order first (see fenceCTE), so that no two of them, nor a group commit,
// deadlock. Replicas whose heartbeat is older than an hour are removed by
// Renew.
const (
	renewSQL = `WITH hb AS (
	INSERT INTO replicas(id, address, heartbeat, expires) VALUES ($1, $2, $3, $4)
	ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat = excluded.heartbeat, expires = excluded.expires
), gc AS (
	DELETE FROM replicas WHERE expires < $3 - 3600000000000 AND id <> $1
), mine AS (
	SELECT l.check_id FROM leases l JOIN checks c ON c.id = l.check_id
	WHERE l.owner = $1 AND c.retired IS NULL
	ORDER BY l.check_id FOR NO KEY UPDATE OF l
), rn AS (
	UPDATE leases SET expires = $4 WHERE check_id IN (SELECT check_id FROM mine) AND owner = $1
	RETURNING check_id, epoch
)
SELECT check_id, epoch, NULL::text, NULL::text, 0::int8, 0::int8 FROM rn
UNION ALL
SELECT NULL, 0, id, address, heartbeat, expires FROM replicas WHERE expires > $3 AND id <> $1`

	unownedSQL = `SELECT l.check_id, l.owner, l.epoch, l.expires FROM leases l JOIN checks c ON c.id = l.check_id
	WHERE l.expires <= $1 AND c.retired IS NULL ORDER BY l.expires, l.check_id LIMIT $2`

	claimSQL = `WITH free AS (
	SELECT l.check_id FROM leases l JOIN checks c ON c.id = l.check_id
	WHERE l.check_id = ANY($2::uuid[]) AND l.expires <= $3 AND c.retired IS NULL
	ORDER BY l.check_id FOR UPDATE OF l
)
UPDATE leases SET owner = $1, epoch = epoch + 1, expires = $4
WHERE check_id IN (SELECT check_id FROM free)
RETURNING check_id, epoch`

	releaseSQL = `WITH mine AS (
	SELECT check_id FROM leases WHERE owner = $1 AND check_id = ANY($2::uuid[]) ORDER BY check_id FOR UPDATE
)
UPDATE leases SET owner = '', expires = $3 WHERE check_id IN (SELECT check_id FROM mine) AND owner = $1`

	leaveSQL = `WITH mine AS (
	SELECT check_id FROM leases WHERE owner = $1 ORDER BY check_id FOR UPDATE
), rel AS (
	UPDATE leases SET owner = '', expires = $2 WHERE check_id IN (SELECT check_id FROM mine) AND owner = $1
)
DELETE FROM replicas WHERE id = $1`
)

var _ store.Leaser = (*Store)(nil)

// Renew implements store.Leaser.
func (s *Store) Renew(ctx context.Context, r store.Replica) ([]store.Lease, []store.Replica, error) {
	if err := s.reading(ctx); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, renewSQL, txt(r.ID), txt(r.Address), tm(r.Heartbeat), tm(r.Expires))
	if err != nil {
		return nil, nil, fmt.Errorf("renew leases: %w", err)
	}
	defer rows.Close()
	var held []store.Lease
	var others []store.Replica
	for rows.Next() {
		var id *[16]byte
		var epoch, hb, exp int64
		var rid, addr *string
		if err := rows.Scan(&id, &epoch, &rid, &addr, &hb, &exp); err != nil {
			return nil, nil, fmt.Errorf("renew leases: %w", err)
		}
		if id != nil {
			held = append(held, store.Lease{CheckID: model.CheckID(*id), Owner: r.ID, Epoch: epoch, Expires: r.Expires})
		} else if rid != nil && addr != nil {
			others = append(others, store.Replica{ID: *rid, Address: *addr, Heartbeat: untm(hb), Expires: untm(exp)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("renew leases: %w", err)
	}
	slices.SortFunc(held, func(a, b store.Lease) int { return bytes.Compare(a.CheckID[:], b.CheckID[:]) })
	return held, others, nil
}

// Unowned implements store.Leaser.
func (s *Store) Unowned(ctx context.Context, now time.Time, limit int) ([]store.Lease, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, unownedSQL, tm(now), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("unowned leases: %w", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var id [16]byte
		var l store.Lease
		var exp int64
		if err := rows.Scan(&id, &l.Owner, &l.Epoch, &exp); err != nil {
			return nil, fmt.Errorf("unowned leases: %w", err)
		}
		l.CheckID, l.Expires = model.CheckID(id), untm(exp)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unowned leases: %w", err)
	}
	return out, nil
}

// Claim implements store.Leaser.
func (s *Store) Claim(ctx context.Context, owner string, ids []model.CheckID, now, expires time.Time) ([]store.Lease, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, claimSQL, txt(owner), uids(ids), tm(now), tm(expires))
	if err != nil {
		return nil, fmt.Errorf("claim leases: %w", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var id [16]byte
		var epoch int64
		if err := rows.Scan(&id, &epoch); err != nil {
			return nil, fmt.Errorf("claim leases: %w", err)
		}
		out = append(out, store.Lease{CheckID: model.CheckID(id), Owner: owner, Epoch: epoch, Expires: expires})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim leases: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Lease) int { return bytes.Compare(a.CheckID[:], b.CheckID[:]) })
	return out, nil
}

// Release implements store.Leaser.
func (s *Store) Release(ctx context.Context, owner string, ids []model.CheckID, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.reading(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	if _, err := s.pool.Exec(ctx, releaseSQL, txt(owner), uids(ids), tm(now)); err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	return nil
}

// Leave implements store.Leaser.
func (s *Store) Leave(ctx context.Context, owner string, now time.Time) error {
	if err := s.reading(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	if _, err := s.pool.Exec(ctx, leaveSQL, txt(owner), tm(now)); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

func uids(ids []model.CheckID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = uid(id)
	}
	return out
}
