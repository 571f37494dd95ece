package supervise

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
)

// Group is the set of processes the daemon supervises, by name. Sync
// applies a (reloaded) configuration: it starts new processes, restarts
// changed ones and stops removed ones, leaving unchanged ones running.
// Safe for concurrent use.
type Group struct {
	opts func(Config) Options

	mu    sync.Mutex
	procs map[string]*Process
}

// NewGroup returns an empty group; opts gives each process its Options
// (e.g. an OnGaveUp that raises the alert on cfg.Alert). opts may be nil.
func NewGroup(opts func(Config) Options) *Group {
	if opts == nil {
		opts = func(Config) Options { return Options{} }
	}
	return &Group{opts: opts, procs: map[string]*Process{}}
}

// Validate reports every problem of cfgs (each invalid one and duplicate
// names), naming them by index.
func Validate(cfgs []Config) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("processes[%d]: %w", i, err))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("processes[%d]: name: %q used twice", i, c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

// Sync makes the group run exactly cfgs. Nothing changes if cfgs is
// invalid. Stopping removed or changed processes blocks until they exited.
func (g *Group) Sync(cfgs []Config) error {
	if err := Validate(cfgs); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	want := map[string]Config{}
	for _, c := range cfgs {
		want[c.Name] = c
	}
	for name, p := range g.procs {
		if c, ok := want[name]; ok && reflect.DeepEqual(c, p.given) {
			delete(want, name)
			continue
		}
		p.Stop()
		delete(g.procs, name)
	}
	var errs []error
	for _, c := range cfgs {
		if _, ok := want[c.Name]; !ok {
			continue
		}
		p, err := New(c, g.opts(c))
		if err == nil {
			p.given = c
			err = p.Start()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.procs[c.Name] = p
	}
	return errors.Join(errs...)
}

// Get returns the process named name.
func (g *Group) Get(name string) (*Process, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.procs[name]
	return p, ok
}

// Names returns the names of the processes, sorted.
func (g *Group) Names() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ns := make([]string, 0, len(g.procs))
	for n := range g.procs {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Stop stops every process and blocks until all have exited.
func (g *Group) Stop() {
	g.mu.Lock()
	procs := g.procs
	g.procs = map[string]*Process{}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop() }()
	}
	wg.Wait()
}
