package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// request is one call for the group-commit writer: an Apply (u, with its
// state already encoded by the caller's goroutine) or a ProbeWrite. Its
// answer is sent on done (capacity 1).
type request struct {
	u     *store.Update
	sj    string
	probe bool
	done  chan error
	// counted: an Apply sent to reqs and counted in Store.pending
	// (lane.go).
	counted bool
}

// submit hands r to the writer and waits until its batch is committed (or
// ctx ends: the write may then still commit).
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.queue(r) <- r:
	case <-ctx.Done():
		if r.counted {
			s.pending.Leave(r.u.CheckID)
		}
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the commit (the write may still commit): %w", ctx.Err())
	}
}

// collect is the collector goroutine: it waits for a free executor
// (Options.Writers of them; meanwhile calls queue up), then for a call,
// then takes every call queued (at most MaxBatch, lingering MaxWait if
// set; the priority lane's first, lane.go) and runs them as one batch on
// that executor. After Close it answers what is queued, then waits for the
// executors.
func (s *Store) collect() {
	defer close(s.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.opts.Writers)
	quitting := false
	for {
		slots <- struct{}{}
		first := s.next()
		if first == nil && !quitting {
			select {
			case first = <-s.urgent:
			case r := <-s.reqs:
				first = s.took(r)
			case <-s.quit:
				quitting = true
			}
		}
		if first == nil {
			if first = s.next(); first == nil {
				return // closed: everything queued was taken
			}
		}
		batch := s.gather(first, quitting)
		wg.Go(func() {
			defer func() { <-slots }()
			s.run(batch)
		})
	}
}

// gather returns first and the calls queued behind it, at most MaxBatch,
// waiting up to MaxWait for more unless quitting.
func (s *Store) gather(first *request, quitting bool) []*request {
	batch := make([]*request, 1, min(s.opts.MaxBatch, 64))
	batch[0] = first
	var linger <-chan time.Time
	if s.opts.MaxWait > 0 && !quitting {
		t := time.NewTimer(s.opts.MaxWait)
		defer t.Stop()
		linger = t.C
	}
	for len(batch) < s.opts.MaxBatch {
		if r := s.next(); r != nil {
			batch = append(batch, r)
			continue
		}
		if linger == nil {
			break
		}
		select {
		case r := <-s.urgent:
			batch = append(batch, r)
		case r := <-s.reqs:
			batch = append(batch, s.took(r))
		case <-linger:
			linger = nil
		}
	}
	return batch
}

// run writes batch in one transaction and answers its calls. When the
// server refuses the batch for one call's data (a constraint, a value),
// each call is run again on its own; any other error (the server down or
// unreachable, a timeout) is every call's answer.
func (s *Store) run(batch []*request) {
	start := time.Now()
	errs, err := s.exec(batch)
	if err != nil && refused(err) && len(batch) > 1 {
		errs = make([]error, len(batch))
		for i := range batch {
			e, err := s.exec(batch[i : i+1])
			if err != nil {
				e = []error{err}
			}
			errs[i] = e[0]
		}
		err = nil
	}
	s.batches.Add(1)
	s.writes.Add(int64(len(batch)))
	s.commitNanos.Add(int64(time.Since(start)))
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

// refused reports whether err is the server refusing the data of a write
// (SQLSTATE classes 22, data exception, and 23, integrity constraint
// violation): another try without the offending call can succeed.
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"))
}

// applySQL writes every Apply of a batch with one statement: all its
// data-modifying CTEs see one snapshot, and live, the checks the batch
// may write, is read once. live is the fence (fence.go): a check is
// written only when it is not retired and its write is unfenced or holds
// the check's lease at its current epoch, a lease row locked FOR SHARE
// until the commit so that a Claim waits for the write. st writes the
// states of live checks, a write with CAS only while the state's rev is
// still the one it was decided on (the condition is in the UPDATE itself:
// READ COMMITTED re-checks it on the newest version of a row another
// batch updated meanwhile); every other part of a check's write (ping,
// flips, outbox, uptime, policy) is made only if its state was (IN st).
// The statement returns each live check's id with whether its fence held
// and whether its state was written.
const applySQL = `WITH ` + fenceCTE + `, st AS (
	UPDATE states SET state = v.state, rev = states.rev + 1
	FROM unnest($2::uuid[], $3::text[], $45::bool[], $46::int8[]) AS v(id, state, cas, rev)
	WHERE states.id = v.id AND v.id IN (SELECT id FROM live) AND (NOT v.cas OR states.rev = v.rev)
	RETURNING states.id
), pi AS (
	INSERT INTO pings(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
	SELECT * FROM unnest($4::uuid[], $5::int8[], $6::text[], $7::int4[], $8::uuid[], $9::int8[], $10::int8[], $11::text[],
		$12::text[], $13::text[], $14::text[], $15::bytea[], $16::bool[])
		AS p(check_id, n, kind, exit_status, rid, time, duration, method, scheme, remote_addr, user_agent, body, body_truncated)
	WHERE p.check_id IN (SELECT id FROM st)
), fl AS (
	INSERT INTO flips(id, check_id, from_st, to_st, time, reason)
	SELECT * FROM unnest($17::uuid[], $18::uuid[], $19::text[], $20::text[], $21::int8[], $22::text[])
		AS f(id, check_id, from_st, to_st, time, reason)
	WHERE f.check_id IN (SELECT id FROM st)
), ob AS (
	INSERT INTO outbox(id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered)
	SELECT * FROM unnest($23::uuid[], $24::uuid[], $25::uuid[], $26::text[], $27::bytea[], $28::text[], $29::int4[], $30::int8[],
		$31::text[], $32::int8[], $33::int8[])
		AS o(id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered)
	WHERE o.check_id IN (SELECT id FROM st)
	ON CONFLICT DO NOTHING
), up AS (
	INSERT INTO uptime(check_id, day, up, total)
	SELECT * FROM unnest($34::uuid[], $35::int8[], $36::int8[], $37::int8[]) AS u(check_id, day, up, total)
	WHERE u.check_id IN (SELECT id FROM st)
	ON CONFLICT (check_id, day) DO UPDATE SET up = uptime.up + excluded.up, total = uptime.total + excluded.total
), po AS (
	INSERT INTO policy_state(check_id, flip_id, dropped, held)
	SELECT * FROM unnest($38::uuid[], $39::uuid[], $40::bool[], $41::bool[]) AS p(check_id, flip_id, dropped, held)
	WHERE p.check_id IN (SELECT id FROM st)
	ON CONFLICT (check_id) DO UPDATE SET flip_id = excluded.flip_id, dropped = excluded.dropped, held = excluded.held
)
` + fenceResult

const (
	probeSQL = `INSERT INTO write_probe(id, n, time) VALUES(1, 1, $1)
		ON CONFLICT (id) DO UPDATE SET n = write_probe.n + 1, time = excluded.time`
	// pruneSQL deletes only when the batch's newest ping of the check
	// (N = upto + retention) was written: not after a fenced write.
	pruneSQL = `DELETE FROM pings USING unnest($1::uuid[], $2::int8[]) AS v(id, upto)
		WHERE pings.check_id = v.id AND pings.n <= v.upto
		AND EXISTS (SELECT 1 FROM pings p WHERE p.check_id = v.id AND p.n = v.upto + $3)`
)

// applyArgs are the columns of applySQL, one slice per parameter group.
type applyArgs struct {
	ids    [][16]byte // distinct checks of the batch
	fences            // the fence of each of ids (fence.go)
	revs              // the compare-and-set of each of ids (feed.go)

	stID [][16]byte
	stJS []string

	pCheck, pRID                           [][16]byte
	pN, pTime, pDur                        []int64
	pKind, pMethod, pScheme, pAddr, pAgent []string
	pExit                                  []int32
	pBody                                  [][]byte
	pTrunc                                 []bool
	fID, fCheck                            [][16]byte
	fFrom, fTo, fReason                    []string
	fTime                                  []int64
	oID, oFlip, oCheck                     [][16]byte
	oChannel, oState, oErr                 []string
	oPayload                               [][]byte
	oAttempts                              []int32
	oNext, oCreated, oDelivered            []int64
	uCheck                                 [][16]byte
	uDay, uUp, uTotal                      []int64
	poCheck, poFlip                        [][16]byte
	poDropped, poHeld                      []bool
	newest                                 map[model.CheckID]int64 // highest ping N per check
	order                                  []model.CheckID
}

// build lays out the Apply calls of batch as applySQL's arrays: the last
// state of each check wins (calls for one check come in the order they
// were made), uptime increments of one check and day are summed, and the
// last policy state of each check wins.
func build(batch []*request) *applyArgs {
	a := &applyArgs{newest: map[model.CheckID]int64{}}
	state := map[model.CheckID]int{}
	policy := map[model.CheckID]int{}
	type dayKey struct {
		id  model.CheckID
		day int64
	}
	days := map[dayKey]int{}
	for _, r := range batch {
		u := r.u
		if u == nil {
			continue
		}
		id := uid(u.CheckID)
		if i, ok := state[u.CheckID]; ok {
			a.stJS[i] = r.sj
			a.fences.set(i, u.Fence)
			a.revs.merge(i, u)
		} else {
			state[u.CheckID] = len(a.stID)
			a.ids = append(a.ids, id)
			a.fences.add(u.Fence)
			a.revs.add(u)
			a.order = append(a.order, u.CheckID)
			a.stID, a.stJS = append(a.stID, id), append(a.stJS, r.sj)
		}
		if p := u.Ping; p != nil {
			body := p.Body
			if body == nil {
				body = []byte{}
			}
			a.pCheck, a.pN, a.pKind, a.pExit = append(a.pCheck, id), append(a.pN, p.N), append(a.pKind, txt(string(p.Kind))), append(a.pExit, int32(p.ExitStatus))
			a.pRID, a.pTime, a.pDur = append(a.pRID, p.RID), append(a.pTime, tm(p.Time)), append(a.pDur, int64(p.Duration))
			a.pMethod, a.pScheme, a.pAddr = append(a.pMethod, txt(p.Method)), append(a.pScheme, txt(p.Scheme)), append(a.pAddr, txt(p.RemoteAddr))
			a.pAgent, a.pBody, a.pTrunc = append(a.pAgent, txt(p.UserAgent)), append(a.pBody, body), append(a.pTrunc, p.BodyTruncated)
			a.newest[u.CheckID] = max(a.newest[u.CheckID], p.N)
		}
		for _, f := range u.Flips {
			a.fID, a.fCheck, a.fFrom, a.fTo = append(a.fID, f.ID), append(a.fCheck, id), append(a.fFrom, txt(string(f.From))), append(a.fTo, txt(string(f.To)))
			a.fTime, a.fReason = append(a.fTime, tm(f.Time)), append(a.fReason, txt(f.Reason))
		}
		for _, n := range u.Notifications {
			a.appendOutbox(id, n)
		}
		for _, d := range u.Uptime {
			k := dayKey{u.CheckID, d.Day.Unix()}
			if i, ok := days[k]; ok {
				a.uUp[i] += int64(d.Up)
				a.uTotal[i] += int64(d.Total)
				continue
			}
			days[k] = len(a.uCheck)
			a.uCheck, a.uDay, a.uUp, a.uTotal = append(a.uCheck, id), append(a.uDay, k.day), append(a.uUp, int64(d.Up)), append(a.uTotal, int64(d.Total))
		}
		if p := u.Policy; p != nil {
			if i, ok := policy[u.CheckID]; ok {
				a.poFlip[i], a.poDropped[i], a.poHeld[i] = p.FlipID, p.Dropped, p.Held
			} else {
				policy[u.CheckID] = len(a.poCheck)
				a.poCheck, a.poFlip = append(a.poCheck, id), append(a.poFlip, p.FlipID)
				a.poDropped, a.poHeld = append(a.poDropped, p.Dropped), append(a.poHeld, p.Held)
			}
		}
	}
	return a
}

func (a *applyArgs) appendOutbox(check [16]byte, n model.Notification) {
	payload := []byte(n.Payload)
	if payload == nil {
		payload = []byte{}
	}
	a.oID, a.oFlip, a.oCheck, a.oChannel = append(a.oID, n.ID), append(a.oFlip, n.FlipID), append(a.oCheck, check), append(a.oChannel, txt(n.Channel))
	a.oPayload, a.oState, a.oAttempts = append(a.oPayload, payload), append(a.oState, txt(string(n.State))), append(a.oAttempts, int32(n.Attempts))
	a.oNext, a.oErr, a.oCreated, a.oDelivered = append(a.oNext, tm(n.NextAttempt)), append(a.oErr, txt(n.LastError)), append(a.oCreated, tm(n.Created)), append(a.oDelivered, tm(n.Delivered))
}

func (a *applyArgs) args() []any {
	return []any{a.ids, a.stID, a.stJS,
		a.pCheck, a.pN, a.pKind, a.pExit, a.pRID, a.pTime, a.pDur, a.pMethod, a.pScheme, a.pAddr, a.pAgent, a.pBody, a.pTrunc,
		a.fID, a.fCheck, a.fFrom, a.fTo, a.fTime, a.fReason,
		a.oID, a.oFlip, a.oCheck, a.oChannel, a.oPayload, a.oState, a.oAttempts, a.oNext, a.oErr, a.oCreated, a.oDelivered,
		a.uCheck, a.uDay, a.uUp, a.uTotal,
		a.poCheck, a.poFlip, a.poDropped, a.poHeld,
		a.fOwner, a.fEpoch, a.fOn, a.cas, a.rev}
}

// txt makes s storable in a text column, which refuses NUL and invalid
// UTF-8 (a client's User-Agent may hold either): such bytes become U+FFFD.
// Valid strings, all but a hostile few, are returned as they are.
func txt(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// prunes returns the checks of a whose pings past the retention are due
// for deletion, and up to which N: once a check is an eighth of the
// retention past its last pruning, so that one DELETE serves many pings.
// Readers hide the rows in between (Store.Pings).
func (s *Store) prunes(a *applyArgs) (ids [][16]byte, upto []int64) {
	keep := int64(s.opts.PingRetention)
	slack := max(keep/8, 1)
	s.prunedMu.Lock()
	defer s.prunedMu.Unlock()
	for _, id := range a.order {
		n, ok := a.newest[id]
		if !ok {
			continue
		}
		if u := n - keep; u >= s.pruned[id]+slack {
			ids, upto = append(ids, uid(id)), append(upto, u)
		}
	}
	return ids, upto
}

// exec writes batch as one pgx pipeline (the Apply statement, the probe,
// the pruning), which PostgreSQL runs as one implicit transaction and
// commits at its end; it returns each call's answer (ErrNotFound for an
// Apply to a check that is missing or retired), or the batch's error.
func (s *Store) exec(batch []*request) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	a := build(batch)
	probe := false
	for _, r := range batch {
		probe = probe || r.probe
	}
	pruneIDs, pruneUpTo := s.prunes(a)
	var b pgx.Batch
	if len(a.ids) > 0 {
		b.Queue(applySQL, a.args()...)
	}
	if probe {
		b.Queue(probeSQL, time.Now().UnixNano())
	}
	if len(pruneIDs) > 0 {
		b.Queue(pruneSQL, pruneIDs, pruneUpTo, int64(s.opts.PingRetention))
	}
	if len(a.notify) > 0 {
		b.Queue(notifySQL, a.notify)
	}
	br := s.pool.SendBatch(ctx, &b)
	type outcome struct{ held, written bool }
	live := make(map[model.CheckID]outcome, len(a.ids)) // present: live
	err := func() error {
		if len(a.ids) > 0 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var id [16]byte
				var o outcome
				if err := rows.Scan(&id, &o.held, &o.written); err != nil {
					rows.Close()
					return err
				}
				live[model.CheckID(id)] = o
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for range b.Len() - min(len(a.ids), 1) {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: group commit of %d writes: %w", len(batch), err)
	}
	if len(pruneIDs) > 0 {
		s.prunedMu.Lock()
		for i, id := range pruneIDs {
			s.pruned[model.CheckID(id)] = max(s.pruned[model.CheckID(id)], pruneUpTo[i])
		}
		s.prunedMu.Unlock()
	}
	errs := make([]error, len(batch))
	for i, r := range batch {
		if r.u == nil {
			continue
		}
		if o, ok := live[r.u.CheckID]; !ok {
			errs[i] = notFound("check", r.u.CheckID)
		} else if o.held && !o.written {
			errs[i] = conflict(r.u.CheckID, r.u.Rev)
		} else if !o.written {
			errs[i] = fenced(r.u.CheckID, r.u.Fence)
		}
	}
	return errs, nil
}
