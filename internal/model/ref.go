package model

import "time"

// CheckRef is a live reference to one check held in memory (by the
// watchdog engine), for readers that keep their own index of the checks
// (the API's list, the metrics). Neither method waits for a lock or a
// store write.
type CheckRef interface {
	// Load returns the check's latest published snapshot. The snapshot is
	// shared: the caller must not modify it (a change publishes a new one;
	// the old one is never changed), and may keep it.
	Load() *CheckState
	// Brief returns what decides the check's displayed status, packed in
	// one word kept beside the reference (see PackBrief), so that a reader
	// deciding the status of every check touches one word per check, not
	// each snapshot. It is published just after Load's snapshot, so for a
	// moment it may still be the previous one's.
	Brief() Brief
}

// Brief is the part of a State that decides its displayed status: Status,
// whether a run is open, and Due (rounded up to the millisecond), packed
// in a uint64. The zero Brief is an unknown status.
type Brief uint64

// briefStatuses numbers the statuses in a Brief (0: unknown).
var briefStatuses = [...]Status{"", StatusNew, StatusUp, StatusDown, StatusPaused, StatusFlapping, StatusStarted, StatusGrace}

// PackBrief returns s's Brief.
func PackBrief(s *State) Brief {
	var st uint64
	for i, v := range briefStatuses {
		if v == s.Status {
			st = uint64(i)
		}
	}
	var due uint64
	if !s.Due.IsZero() {
		ms := s.Due.UnixMilli()
		if s.Due.After(time.UnixMilli(ms)) {
			ms++ // rounded up: a Brief never shows grace before the State does
		}
		due = uint64(max(ms, 1))
	}
	b := due<<4 | st<<1
	if len(s.Runs) > 0 {
		b |= 1
	}
	return Brief(b)
}

// State returns a State holding what b packs: Status, one open run if any,
// and Due; enough for Display (and the API's status).
func (b Brief) State() State {
	s := State{Status: briefStatuses[b>>1&7]}
	if b&1 != 0 {
		s.Runs = oneRun
	}
	if due := int64(b >> 4); due != 0 {
		s.Due = time.UnixMilli(due)
	}
	return s
}

// oneRun stands for the open runs of an unpacked Brief (never modified).
var oneRun = make([]Run, 1)

// Display is b.State().Display(now).
func (b Brief) Display(now time.Time) Status {
	s := b.State()
	return s.Display(now)
}
