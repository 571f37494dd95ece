package daemon

import (
	"context"
	"sync"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// Prefetch opens a start's SQLite store and reads what New reads first of
// it (the installation secret and every check) while the caller parses
// the config file: at 100,000 checks each takes about as long as the
// other, and they ran one after the other. New takes the store when the
// parsed config names the same file and retention (Options.Prefetch);
// otherwise the prefetch is closed unused and New opens the store itself.
//
// A prefetch opens only a file that exists at this binary's schema
// (sqlite.OpenExisting): for a config that turns out invalid it creates
// and migrates nothing, and a first start opens its store in New as
// before.
type Prefetch struct {
	hint config.StoreHint
	done chan struct{}

	mu     sync.Mutex // guards taken against Close
	taken  bool
	st     *sqlite.Store
	secret []byte
	checks []model.CheckState
	err    error
}

// StartPrefetch starts reading the store hint names in the background. It
// stops with ctx. Close it when New did not take it (Close is safe either
// way, and on nil).
func StartPrefetch(ctx context.Context, hint config.StoreHint) *Prefetch {
	p := &Prefetch{hint: hint, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		st, err := sqlite.OpenExisting(hint.Path, sqlite.Options{PingRetention: hint.Pings})
		if err != nil {
			p.err = err
			return
		}
		p.st = st
		if p.secret, p.err = st.InstallationSecret(ctx); p.err == nil {
			p.checks, p.err = st.ListChecks(ctx)
		}
	}()
	return p
}

// take waits for the prefetch and gives New its store, secret and checks
// if cfg uses that store and the reads succeeded; else it closes what it
// opened and returns ok false, and New opens the store itself.
func (p *Prefetch) take(cfg *config.Config) (st *sqlite.Store, secret []byte, checks []model.CheckState, ok bool) {
	if p == nil {
		return nil, nil, nil, false
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken || p.st == nil {
		return nil, nil, nil, false
	}
	p.taken = true
	if p.err != nil || !p.hint.Matches(cfg) {
		p.st.Close()
		return nil, nil, nil, false
	}
	return p.st, p.secret, p.checks, true
}

// Close waits for the prefetch and closes its store unless New took it.
func (p *Prefetch) Close() {
	if p == nil {
		return
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.taken && p.st != nil {
		p.taken = true
		p.st.Close()
	}
}
