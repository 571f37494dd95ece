package watchdog

import (
	"sync"

	"github.com/vitals-go/vitals/internal/model"
)

// Load implements model.CheckRef: the entry's latest published snapshot.
func (en *entry) Load() *model.CheckState { return en.snap.Load() }

// Brief implements model.CheckRef.
func (en *entry) Brief() model.Brief { return model.Brief(en.brief.Load()) }

// Generation returns a number that changes whenever a check is added or
// removed or its definition (name, tags, …) changes, after the change is
// published to Refs, Ref, Get and List. State changes (pings, flips) do
// not change it. Readers that index the checks (by name, tag, creation)
// bring their index up to date when it differs from the one they built it
// at (see Changes); they read the live state through the refs.
func (e *Engine) Generation() uint64 { return e.gen.Load() }

// Refs returns a live reference to every check, in no particular order,
// and the Generation they were taken at. Unlike List it copies no check:
// 100,000 refs cost one slice. A ref of a check removed since keeps
// answering its last snapshot; a newer Generation says so.
func (e *Engine) Refs() ([]model.CheckRef, uint64) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	gen := e.gen.Load()
	refs := make([]model.CheckRef, 0, len(e.checks))
	for _, en := range e.checks {
		refs = append(refs, en)
	}
	return refs, gen
}

// Ref returns a live reference to check id, if the engine holds it.
func (e *Engine) Ref(id model.CheckID) (model.CheckRef, bool) {
	en := e.entry(id)
	if en == nil {
		return nil, false
	}
	return en, true
}

// changeLogSize is how many generations Changes can look back.
const changeLogSize = 1024

// changeLog remembers which check each of the last changeLogSize
// generations changed.
type changeLog struct {
	mu   sync.Mutex
	ring [changeLogSize]change
}

type change struct {
	gen uint64
	id  model.CheckID
}

// changed starts a new generation, recording that it changed check id.
func (e *Engine) changed(id model.CheckID) {
	l := &e.changes
	l.mu.Lock()
	g := e.gen.Add(1)
	l.ring[g%changeLogSize] = change{g, id}
	l.mu.Unlock()
}

// Changes returns the ids of the checks added, removed or redefined after
// generation since, up to generation to (the current one; an id may
// repeat), so that an index built at since can be brought up to date by
// looking up those checks again (Ref) rather than every check. ok is
// false when since is too old (more than 1,024 generations back) or not
// one this engine gave: rebuild from Refs then.
func (e *Engine) Changes(since uint64) (ids []model.CheckID, to uint64, ok bool) {
	l := &e.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	to = e.gen.Load()
	if since > to || to-since > changeLogSize {
		return nil, to, false
	}
	ids = make([]model.CheckID, 0, to-since)
	for g := since + 1; g <= to; g++ {
		c := l.ring[g%changeLogSize]
		if c.gen != g {
			return nil, to, false
		}
		ids = append(ids, c.id)
	}
	return ids, to, true
}
