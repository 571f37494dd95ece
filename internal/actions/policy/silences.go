package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// ErrSilenceNotFound is returned for a silence id that does not exist.
var ErrSilenceNotFound = errors.New("silence not found")

// Silence is a one-off window, created through the API, that holds back the
// alerts of the checks it covers (see Window): monitoring and state go on,
// and what is still down when it ends is alerted then.
type Silence struct {
	ID uuid.UUID `json:"id"`
	// Name, Checks, Tags, Start and End as in Window. Checks and Tags both
	// empty: every check.
	Name   string          `json:"name,omitempty"`
	Checks []model.CheckID `json:"checks,omitempty"`
	Tags   []string        `json:"tags,omitempty"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	// Reason and CreatedBy are for people reading the list.
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
}

func (s Silence) window() Window {
	return Window{Name: cmpOr(s.Name, "silence "+s.ID.String()), Checks: s.Checks, Tags: s.Tags, Start: s.Start, End: s.End,
		label: s.describe()}
}

// describe names the silence in logs and held rows: its id, then its name
// and reason when set, as in `silence 0193… "deploy" (reason: "v2")`.
func (s Silence) describe() string {
	d := "silence " + s.ID.String()
	if s.Name != "" {
		d += " " + strconv.Quote(s.Name)
	}
	if s.Reason != "" {
		d += " (reason: " + strconv.Quote(s.Reason) + ")"
	}
	return d
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Silences keeps the API-managed silences in a JSON file (written to a
// temporary file, synced and renamed, so a crash leaves the old or the new
// list, never half of one) and hands them to a Suppression on every change,
// so that they survive restarts of the watchdog. Expired silences are
// dropped. Safe for concurrent use.
type Silences struct {
	path string
	sup  *Suppression
	now  func() time.Time

	mu   sync.Mutex
	list []Silence
}

// OpenSilences loads the silences kept at path (a missing file is an empty
// list) and applies them to sup. now is the clock (nil: time.Now).
func OpenSilences(path string, sup *Suppression, now func() time.Time) (*Silences, error) {
	if now == nil {
		now = time.Now
	}
	s := &Silences{path: path, sup: sup, now: now}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("silences: %w", err)
	default:
		if err := json.Unmarshal(b, &s.list); err != nil {
			return nil, fmt.Errorf("silences: %s: %w", path, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.applyLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// List returns the silences that have not ended, by start time.
func (s *Silences) List() []Silence {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	return slices.Clone(s.list)
}

// Add validates and stores a silence. A zero Start means now; End must be
// after Start and in the future. It returns the silence with its ID and
// Created set.
func (s *Silences) Add(sl Silence) (Silence, error) {
	now := s.now()
	if sl.Start.IsZero() {
		sl.Start = now
	}
	var errs []error
	if sl.End.IsZero() {
		errs = append(errs, errors.New("end: required (or a duration)"))
	} else if !sl.End.After(sl.Start) {
		errs = append(errs, errors.New("end: must be after start"))
	} else if !sl.End.After(now) {
		errs = append(errs, errors.New("end: must be in the future"))
	}
	if len(errs) > 0 {
		return Silence{}, errors.Join(errs...)
	}
	sl.ID = uuid.Must(uuid.NewV7())
	sl.Created = now
	sl.Start, sl.End, sl.Created = sl.Start.UTC(), sl.End.UTC(), sl.Created.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	s.list = append(s.list, sl)
	slices.SortStableFunc(s.list, func(a, b Silence) int { return a.Start.Compare(b.Start) })
	if err := s.saveLocked(); err != nil {
		s.list = slices.DeleteFunc(s.list, func(x Silence) bool { return x.ID == sl.ID })
		return Silence{}, err
	}
	return sl, s.applyLocked()
}

// Delete ends a silence at once: the alerts it held are released at once
// (the policy's OnRelease makes the dispatcher look at them again): sent
// if their check is still in the announced state and nothing else holds
// them, dropped if not.
func (s *Silences) Delete(id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.list, func(x Silence) bool { return x.ID == id })
	if i < 0 {
		return ErrSilenceNotFound
	}
	removed := s.list[i]
	s.list = slices.Delete(s.list, i, i+1)
	if err := s.saveLocked(); err != nil {
		s.list = slices.Insert(s.list, i, removed)
		return err
	}
	return s.applyLocked()
}

func (s *Silences) pruneLocked() {
	now := s.now()
	s.list = slices.DeleteFunc(s.list, func(x Silence) bool { return !x.End.After(now) })
}

func (s *Silences) applyLocked() error {
	ws := make([]Window, len(s.list))
	for i, sl := range s.list {
		ws[i] = sl.window()
	}
	return s.sup.SetSilences(ws)
}

func (s *Silences) saveLocked() error {
	b, err := json.MarshalIndent(s.list, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("silences: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".silences-*")
	if err != nil {
		return fmt.Errorf("silences: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("silences: saving %s: %w", s.path, err)
	}
	return nil
}
