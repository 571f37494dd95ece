package api

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// listIndex keeps the engine's checks in the list endpoints' order
// (creation time, then unique_key) with their positions by tag, so that a
// page of a list, deep or not, filtered or not, reads the page's checks
// and not every check. It holds references (model.CheckRef), not copies:
// statuses are read live from each check's published snapshot. It is
// rebuilt when the engine's Generation moves (a check added, removed or
// redefined), which pings and flips do not do. Safe for concurrent use.
type listIndex struct {
	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[listSnap]
}

// listSnap is one built index; never changed once published.
type listSnap struct {
	gen  uint64
	rows []listRow
	// tags maps a tag to the positions in rows of its checks, ascending.
	tags map[string][]int32
}

// listRow is one check in list order: 88 bytes (plus the lower-cased
// name when the name has upper case; the tags are the snapshot's).
type listRow struct {
	ref     model.CheckRef
	id      model.CheckID
	created int64 // Check.Created, Unix nanoseconds
	ukey    string
	lname   string   // the name, lower-cased, for ?name= and ?name_prefix=
	tags    []string // the check's tags, as indexed
}

// maxIncremental is the most changes index applies one by one to the
// previous index; past it, it rebuilds from every check.
const maxIncremental = 32

// index returns the list index as of the engine's current generation:
// the previous index with the checks changed since looked up again, or,
// after many changes, one built from every check.
func (h *Handler) index() *listSnap {
	if s := h.list.cur.Load(); s != nil && s.gen == h.e.Generation() {
		return s
	}
	h.list.mu.Lock()
	defer h.list.mu.Unlock()
	prev := h.list.cur.Load()
	if prev != nil && prev.gen == h.e.Generation() {
		return prev // built by another request meanwhile
	}
	var s *listSnap
	if prev != nil {
		if ids, to, ok := h.e.Changes(prev.gen); ok && len(ids) <= maxIncremental {
			s = prev.update(h, ids, to)
		}
	}
	if s == nil {
		s = h.build()
	}
	h.list.cur.Store(s)
	return s
}

// build makes the index from every check.
func (h *Handler) build() *listSnap {
	refs, gen := h.e.Refs()
	rows := make([]listRow, len(refs))
	ids := make([]model.CheckID, len(refs))
	for i, r := range refs {
		cs := r.Load()
		ids[i] = cs.Check.ID
		rows[i] = h.row(r, cs, "")
	}
	for i, k := range h.ukeys.keys(ids) {
		rows[i].ukey = k
	}
	slices.SortFunc(rows, func(a, b listRow) int {
		return cmpPos(a.created, a.ukey, b.created, b.ukey)
	})
	// The lower-cased names, copied into one string in list order, so
	// that ?name= reads them in sequence rather than all over the heap.
	size := 0
	for i := range rows {
		size += len(rows[i].lname)
	}
	var b strings.Builder
	b.Grow(size)
	for i := range rows {
		b.WriteString(rows[i].lname)
	}
	names, off := b.String(), 0
	s := &listSnap{gen: gen, rows: rows, tags: make(map[string][]int32)}
	for i := range rows {
		n := len(rows[i].lname)
		rows[i].lname, off = names[off:off+n], off+n
		for _, t := range rows[i].tags {
			if p := s.tags[t]; len(p) == 0 || p[len(p)-1] != int32(i) { // a tag given twice
				s.tags[t] = append(p, int32(i))
			}
		}
	}
	return s
}

// row is the index row of check cs, with unique key ukey.
func (h *Handler) row(r model.CheckRef, cs *model.CheckState, ukey string) listRow {
	return listRow{ref: r, id: cs.Check.ID, created: cs.Check.Created.UnixNano(), ukey: ukey,
		lname: strings.ToLower(cs.Check.Name), tags: cs.Check.Tags}
}

// update returns a copy of s with the checks ids taken out and, those
// still held by the engine, put back as they are now: generation to.
func (s *listSnap) update(h *Handler, ids []model.CheckID, to uint64) *listSnap {
	n := &listSnap{gen: to, rows: slices.Clone(s.rows), tags: make(map[string][]int32, len(s.tags))}
	for t, p := range s.tags {
		n.tags[t] = slices.Clone(p)
	}
	slices.SortFunc(ids, func(a, b model.CheckID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range slices.Compact(ids) {
		if i := slices.IndexFunc(n.rows, func(r listRow) bool { return r.id == id }); i >= 0 {
			n.remove(i)
		}
		if r, ok := h.e.Ref(id); ok {
			row := h.row(r, r.Load(), h.ukeys.key(id))
			j, _ := slices.BinarySearchFunc(n.rows, row, func(a, b listRow) int {
				return cmpPos(a.created, a.ukey, b.created, b.ukey)
			})
			n.insert(j, row)
		}
	}
	return n
}

// remove takes row i out, with its tag positions.
func (s *listSnap) remove(i int) {
	for _, t := range s.rows[i].tags {
		p := s.tags[t]
		if k, ok := slices.BinarySearch(p, int32(i)); ok {
			s.tags[t] = slices.Delete(p, k, k+1)
		}
		if len(s.tags[t]) == 0 {
			delete(s.tags, t)
		}
	}
	s.rows = slices.Delete(s.rows, i, i+1)
	for _, p := range s.tags {
		for k := range p {
			if p[k] > int32(i) {
				p[k]--
			}
		}
	}
}

// insert puts row at position i, with its tag positions.
func (s *listSnap) insert(i int, row listRow) {
	s.rows = slices.Insert(s.rows, i, row)
	for _, p := range s.tags {
		for k := range p {
			if p[k] >= int32(i) {
				p[k]++
			}
		}
	}
	for _, t := range row.tags {
		p := s.tags[t]
		if slices.Contains(p, int32(i)) { // a tag given twice
			continue
		}
		k, _ := slices.BinarySearch(p, int32(i))
		s.tags[t] = slices.Insert(p, k, int32(i))
	}
}

func cmpPos(aT int64, aK string, bT int64, bK string) int {
	if c := cmp.Compare(aT, bT); c != 0 {
		return c
	}
	return strings.Compare(aK, bK)
}

// cursor is the position after row i, for next_cursor: its creation time
// and unique_key (never a UUID).
func (s *listSnap) cursor(i int) string {
	r := &s.rows[i]
	return encodeCursor(time.Unix(0, r.created).UTC().Format(time.RFC3339Nano) + " " + r.ukey)
}

// after returns the first position past the cursor c (as made by cursor).
func (s *listSnap) after(c string) (int, bool) {
	str, ok := decodeCursor(c)
	ts, key, ok2 := strings.Cut(str, " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || !ok2 || err != nil {
		return 0, false
	}
	n := t.UnixNano()
	i, _ := slices.BinarySearchFunc(s.rows, 0, func(r listRow, _ int) int {
		if cmpPos(r.created, r.ukey, n, key) <= 0 {
			return -1
		}
		return 1
	})
	return i, true
}

// listFilter is what a list or count request selects: every condition
// must hold.
type listFilter struct {
	tags       []string // every one of them
	slug       string
	name       string // lower-cased substring of the name
	namePrefix string // lower-cased prefix of the name
	statuses   []string
	// v and now decide the status shown (displayStatus).
	v   int
	now time.Time
}

// scan calls fn with each check at or past position start that f selects,
// in list order, until fn returns false. It reads a check's snapshot only
// for ?slug=; the status comes from its Brief.
func (s *listSnap) scan(start int, f *listFilter, fn func(i int, r *listRow) bool) {
	var pos []int32 // the candidates' positions; nil: every row
	if len(f.tags) > 0 {
		for j, t := range f.tags {
			p := s.tags[t]
			if j == 0 || len(p) < len(pos) {
				pos = p
			}
		}
		if len(pos) == 0 {
			return
		}
		k, _ := slices.BinarySearch(pos, int32(start))
		pos = pos[k:]
	}
	visit := func(i int) bool {
		r := &s.rows[i]
		if f.name != "" && !strings.Contains(r.lname, f.name) ||
			f.namePrefix != "" && !strings.HasPrefix(r.lname, f.namePrefix) {
			return true
		}
		if len(f.tags) > 1 && !hasTags(r.tags, f.tags) ||
			f.slug != "" && r.ref.Load().Check.Slug != f.slug {
			return true
		}
		if len(f.statuses) > 0 && !slices.Contains(f.statuses, displayStatus(r.ref.Brief().State(), f.now, f.v)) {
			return true
		}
		return fn(i, r)
	}
	if pos != nil {
		for _, i := range pos {
			if !visit(int(i)) {
				return
			}
		}
		return
	}
	for i := start; i < len(s.rows); i++ {
		if !visit(i) {
			return
		}
	}
}

// keys returns the unique keys of ids, in order, taking the lock once.
func (x *keyIndex) keys(ids []model.CheckID) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, len(ids))
	for i, id := range ids {
		k, ok := x.byID[id]
		if !ok {
			k = uniqueKey(id)
			x.addLocked(id, k)
		}
		out[i] = k
	}
	return out
}
