package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Engine is what a Cluster needs of the watchdog engine
// (*watchdog.Engine, with watchdog.Options.Leased).
type Engine interface {
	// Acquire makes the engine the owner of check id under lease f
	// (loading its state from the store, arming its deadline).
	Acquire(ctx context.Context, id model.CheckID, f store.Fence) error
	// Release stops the engine owning check id; once it returns, no write
	// under the check's lease is in flight.
	Release(id model.CheckID)
}

// Defaults of Options fields left zero.
const (
	DefaultTTL          = 10 * time.Second
	DefaultMaxHandovers = 100
	DefaultClaimLimit   = 10000
)

// Options configure a Cluster. The zero value is usable.
type Options struct {
	// ID names this replica; unique among the replicas, and new at each
	// start (a restarted replica's old leases simply expire). Default: the
	// host name and 8 random hex digits.
	ID string
	// Address is where other replicas can reach this one (recorded with
	// its heartbeat). Default "".
	Address string
	// TTL is how long a lease, and the replica's heartbeat, last without
	// renewal (store.postgres.lease_ttl). Default DefaultTTL (10s).
	TTL time.Duration
	// RenewEvery is the renewal period. Default TTL/3: a renewal may fail
	// twice before the leases expire.
	RenewEvery time.Duration
	// ClaimEvery is how often free and expired leases are looked for; a
	// dead replica's checks are taken over at most TTL + ClaimEvery after
	// its last renewal. Default min(1s, TTL/4).
	ClaimEvery time.Duration
	// MaxHandovers bounds how many checks this replica gives up per
	// renewal to replicas that prefer them (rebalancing after a join).
	// Default DefaultMaxHandovers (100).
	MaxHandovers int
	// ClaimLimit bounds the leases read (and claimed) per claim round.
	// Default DefaultClaimLimit (10,000).
	ClaimLimit int
	// AcquireWorkers is how many checks are loaded into the engine at once
	// after a claim. Default 16.
	AcquireWorkers int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives takeovers, handovers and renewal failures. Default
	// slog.Default().
	Logger *slog.Logger
}

// Stats are a Cluster's counters.
type Stats struct {
	// Statements counts the store calls (each one statement).
	Statements int64
	// Held is how many leases this replica holds; Live how many replicas
	// are live, this one included, as of the last renewal.
	Held, Live int
	// Claimed and Released count leases taken and given up.
	Claimed, Released int64
}

// Cluster is one replica's membership and leases. See the package doc.
type Cluster struct {
	leaser store.Leaser
	eng    Engine
	opts   Options
	log    *slog.Logger

	statements, claimed, released atomic.Int64

	// stepMu serialises Step: one round at a time.
	stepMu     sync.Mutex
	held       map[model.CheckID]int64 // check → epoch, as given to the engine
	others     []store.Replica         // live at the last renewal
	validUntil time.Time               // the leases' expiry as this replica last renewed them
	nextRenew  time.Time
	nextClaim  time.Time

	mu      sync.Mutex // guards the loop's lifecycle and the stats copy
	stats   Stats
	cancel  context.CancelFunc
	stopped chan struct{}
}

// New returns the Cluster of one replica over the store's leases and the
// engine, not started. See Options for defaults.
func New(l store.Leaser, eng Engine, opts Options) *Cluster {
	if opts.ID == "" {
		opts.ID = NewID()
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.RenewEvery <= 0 {
		opts.RenewEvery = opts.TTL / 3
	}
	if opts.ClaimEvery <= 0 {
		opts.ClaimEvery = min(time.Second, opts.TTL/4)
	}
	if opts.MaxHandovers <= 0 {
		opts.MaxHandovers = DefaultMaxHandovers
	}
	if opts.ClaimLimit <= 0 {
		opts.ClaimLimit = DefaultClaimLimit
	}
	if opts.AcquireWorkers <= 0 {
		opts.AcquireWorkers = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Cluster{leaser: l, eng: eng, opts: opts, log: opts.Logger, held: map[model.CheckID]int64{}}
}

// NewID returns a new replica id: the host name and 8 random hex digits.
// The daemon makes one per start and gives it to both the leases
// (Options.ID) and the outbox's claims (outbox.DispatcherOptions.Name), so
// that a replica is one name in the leases, replicas and outbox tables.
func NewID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// ID returns this replica's id.
func (c *Cluster) ID() string { return c.opts.ID }

// Stats returns the counters. Safe for concurrent use.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	s.Statements, s.Claimed, s.Released = c.statements.Load(), c.claimed.Load(), c.released.Load()
	return s
}

// Start runs Step every ClaimEvery in a goroutine of its own, the first at
// once. Close stops it.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return errors.New("cluster: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.stopped = cancel, make(chan struct{})
	go c.loop(ctx)
	return nil
}

func (c *Cluster) loop(ctx context.Context) {
	defer close(c.stopped)
	t := time.NewTicker(c.opts.ClaimEvery)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, c.opts.TTL)
		c.Step(sctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the loop, makes the engine release every check, and gives
// the leases up with Leaser.Leave, so that the other replicas take them
// over once their next renewal no longer lists this one (within
// RenewEvery + ClaimEvery) instead of after the TTL. It returns Leave's
// error (the leases then expire on their own).
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	cancel, stopped := c.cancel, c.stopped
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-stopped
	}
	c.stepMu.Lock()
	defer c.stepMu.Unlock()
	for id := range c.held {
		c.eng.Release(id)
	}
	c.held = map[model.CheckID]int64{}
	c.statements.Add(1)
	return c.leaser.Leave(ctx, c.opts.ID, c.opts.Now())
}

// Step runs one round at the clock's now: the renewal when due (then the
// rebalancing), and the claim of free and expired leases when due. Errors
// are logged; the next round tries again.
func (c *Cluster) Step(ctx context.Context) {
	c.stepMu.Lock()
	defer c.stepMu.Unlock()
	now := c.opts.Now()
	if !now.Before(c.nextRenew) {
		c.renew(ctx, now)
	}
	if !now.Before(c.nextClaim) && now.Before(c.validUntil) {
		c.nextClaim = now.Add(c.opts.ClaimEvery)
		c.claim(ctx, now)
	}
	c.mu.Lock()
	c.stats.Held, c.stats.Live = len(c.held), len(c.others)+1
	c.mu.Unlock()
}

// renew writes the heartbeat and renews every lease; the engine is then
// told of the leases gained back or lost. A replica that cannot renew
// drops its checks once its leases have expired (by its own clock): past
// that, another replica may own them.
func (c *Cluster) renew(ctx context.Context, now time.Time) {
	c.statements.Add(1)
	held, others, err := c.leaser.Renew(ctx, store.Replica{ID: c.opts.ID, Address: c.opts.Address, Heartbeat: now, Expires: now.Add(c.opts.TTL)})
	if err != nil {
		c.nextRenew = now.Add(c.opts.ClaimEvery) // try again soon
		c.log.Warn("cluster: lease renewal failed", "replica", c.opts.ID, "err", err)
		if !now.Before(c.validUntil) && len(c.held) > 0 {
			c.log.Warn("cluster: leases expired without renewal: stopping every check", "replica", c.opts.ID, "checks", len(c.held))
			for id := range c.held {
				c.eng.Release(id)
			}
			c.held = map[model.CheckID]int64{}
		}
		return
	}
	c.nextRenew = now.Add(c.opts.RenewEvery)
	if c.validUntil.IsZero() {
		// The first heartbeat: renew again and claim only a round later,
		// so that replicas started together see each other before they
		// claim, rather than the first one taking everything and handing
		// it back slowly.
		c.nextClaim = now.Add(c.opts.ClaimEvery)
		c.nextRenew = c.nextClaim
	}
	c.validUntil = now.Add(c.opts.TTL)
	c.others = others
	keep := make(map[model.CheckID]bool, len(held))
	var gained []store.Lease
	for _, l := range held {
		keep[l.CheckID] = true
		if c.held[l.CheckID] != l.Epoch {
			gained = append(gained, l)
		}
	}
	lost := 0
	for id := range c.held {
		if !keep[id] {
			c.eng.Release(id)
			delete(c.held, id)
			lost++
		}
	}
	if lost > 0 {
		c.log.Warn("cluster: leases taken over by another replica", "replica", c.opts.ID, "checks", lost)
	}
	c.acquire(ctx, gained)
	c.rebalance(ctx, now)
}

// live returns the ids of the replicas live at now, this one included.
func (c *Cluster) live(now time.Time) []string {
	ids := []string{c.opts.ID}
	for _, r := range c.others {
		if now.Before(r.Expires) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// rebalance gives up at most MaxHandovers of the checks another live
// replica prefers: the engine releases them first, then the store.
func (c *Cluster) rebalance(ctx context.Context, now time.Time) {
	live := c.live(now)
	if len(live) < 2 {
		return
	}
	var give []model.CheckID
	for id := range c.held {
		if Preferred(id, live) != c.opts.ID {
			give = append(give, id)
		}
	}
	if len(give) == 0 {
		return
	}
	slices.SortFunc(give, func(a, b model.CheckID) int { return bytes.Compare(a[:], b[:]) })
	give = give[:min(len(give), c.opts.MaxHandovers)]
	for _, id := range give {
		c.eng.Release(id)
		delete(c.held, id)
	}
	c.statements.Add(1)
	if err := c.leaser.Release(ctx, c.opts.ID, give, now); err != nil {
		// Not released in the store: they come back with the next
		// renewal and are acquired again.
		c.log.Warn("cluster: releasing leases failed", "replica", c.opts.ID, "err", err)
		return
	}
	c.released.Add(int64(len(give)))
	c.log.Debug("cluster: handed checks over", "replica", c.opts.ID, "checks", len(give))
}

// claim takes the free and expired leases this replica prefers, and any
// lease expired for a whole TTL (its preferred replica is not claiming
// it: the liveness fallback).
func (c *Cluster) claim(ctx context.Context, now time.Time) {
	c.statements.Add(1)
	free, err := c.leaser.Unowned(ctx, now, c.opts.ClaimLimit)
	if err != nil {
		c.log.Warn("cluster: reading free leases failed", "replica", c.opts.ID, "err", err)
		return
	}
	if len(free) == 0 {
		return
	}
	live := c.live(now)
	stale := now.Add(-c.opts.TTL)
	var want []model.CheckID
	from := map[string]int{}
	for _, l := range free {
		if Preferred(l.CheckID, live) == c.opts.ID || !l.Expires.After(stale) {
			want = append(want, l.CheckID)
			if l.Owner != "" && l.Owner != c.opts.ID {
				from[l.Owner]++
			}
		}
	}
	if len(want) == 0 {
		return
	}
	c.statements.Add(1)
	got, err := c.leaser.Claim(ctx, c.opts.ID, want, now, now.Add(c.opts.TTL))
	if err != nil {
		c.log.Warn("cluster: claiming leases failed", "replica", c.opts.ID, "err", err)
		return
	}
	for owner, n := range from {
		c.log.Info("cluster: taking over the checks of a replica that stopped renewing", "replica", c.opts.ID, "from", owner, "checks", n)
	}
	c.claimed.Add(int64(len(got)))
	c.acquire(ctx, got)
}

// acquire gives the engine the leases ls, AcquireWorkers at a time; those
// it could not load are left out of held, and the next renewal returns
// them to be tried again.
func (c *Cluster) acquire(ctx context.Context, ls []store.Lease) {
	if len(ls) == 0 {
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.opts.AcquireWorkers)
	failed := 0
	for _, l := range ls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := c.eng.Acquire(ctx, l.CheckID, l.Fence())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			c.held[l.CheckID] = l.Epoch
		})
	}
	wg.Wait()
	if failed > 0 {
		c.log.Warn("cluster: loading claimed checks failed; retried at the next renewal", "replica", c.opts.ID, "checks", failed)
	}
}
