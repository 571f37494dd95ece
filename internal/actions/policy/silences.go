package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// ErrSilenceNotFound is returned for a silence id that does not exist (or
// has ended).
var ErrSilenceNotFound = errors.New("silence not found")

// ErrInvalidSilence is wrapped by Add's error for a silence it refuses;
// its text lists the reasons, one a line. Add's other errors are the
// store's.
var ErrInvalidSilence = errors.New("invalid silence")

// Silence is a one-off window, created through the API, that holds back the
// alerts of the checks it covers (see Window and model.Silence).
type Silence = model.Silence

func silenceWindow(s Silence) Window {
	return Window{Name: cmpOr(s.Name, "silence "+s.ID.String()), Checks: s.Checks, Tags: s.Tags, Start: s.Start, End: s.End,
		label: describeSilence(s)}
}

// describeSilence names the silence in logs and held rows: its id, then
// its name and reason when set, as in `silence 0193… "deploy" (reason: "v2")`.
func describeSilence(s Silence) string {
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

// invalid is Add's refusal: its text is the reasons, one a line.
type invalid struct{ err error }

func (e *invalid) Error() string        { return e.err.Error() }
func (e *invalid) Is(target error) bool { return target == ErrInvalidSilence }

// SilencesOptions configure Silences. The zero value is usable.
type SilencesOptions struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Refresh is how often the goroutine of Start reads the silences
	// again, to see those another replica added or deleted. Default 2s.
	Refresh time.Duration
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// Silences are the API-managed silences, kept in the store
// (store.SilenceStore), so that they survive restarts and every replica
// sharing one PostgreSQL database sees a silence made on any of them, and
// handed to a Suppression: at NewSilences, after each change made through
// them, on List, and on each Refresh (Start refreshes every
// Options.Refresh: a silence made or deleted on another replica holds or
// releases alerts here within that time). Silences that have ended are
// left out, and pruned from the store when one is added. Safe for
// concurrent use.
type Silences struct {
	st   store.SilenceStore
	sup  *Suppression
	opts SilencesOptions

	mu   sync.Mutex
	list []Silence // as last handed to sup

	runMu sync.Mutex
	stop  context.CancelFunc
	done  chan struct{}
}

// NewSilences reads the silences kept in st and applies them to sup.
func NewSilences(ctx context.Context, st store.SilenceStore, sup *Suppression, opts SilencesOptions) (*Silences, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Silences{st: st, sup: sup, opts: opts}
	if _, err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh reads the silences that have not ended from the store and, when
// they changed, hands them to the Suppression (a silence gone, deleted or
// ended, releases what it held). It returns them, by start time.
func (s *Silences) Refresh(ctx context.Context) ([]Silence, error) {
	list, err := s.st.Silences(ctx, s.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	same := slices.EqualFunc(list, s.list, func(a, b Silence) bool { return a.ID == b.ID })
	if !same {
		ws := make([]Window, len(list))
		for i, sl := range list {
			ws[i] = silenceWindow(sl)
		}
		if err := s.sup.SetSilences(ws); err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		s.list = list
	}
	return slices.Clone(list), nil
}

// List returns the silences that have not ended, by start time, as the
// store has them now.
func (s *Silences) List(ctx context.Context) ([]Silence, error) {
	return s.Refresh(ctx)
}

// Add validates and stores a silence. A zero Start means now; End must be
// after Start and in the future. It returns the silence with its ID and
// Created set. A refusal wraps ErrInvalidSilence.
func (s *Silences) Add(ctx context.Context, sl Silence) (Silence, error) {
	now := s.opts.Now()
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
		return Silence{}, &invalid{errors.Join(errs...)}
	}
	sl.ID = uuid.Must(uuid.NewV7())
	sl.Start, sl.End, sl.Created = sl.Start.UTC(), sl.End.UTC(), now.UTC()
	if _, err := s.st.PruneSilences(ctx, now); err != nil {
		s.opts.Logger.Warn("silences: pruning those that ended", "err", err)
	}
	if err := s.st.AddSilence(ctx, sl); err != nil {
		return Silence{}, fmt.Errorf("silences: %w", err)
	}
	if _, err := s.Refresh(ctx); err != nil {
		return Silence{}, err
	}
	return sl, nil
}

// Delete ends a silence at once: the alerts it held are released at once
// (the policy's OnRelease makes the dispatcher look at them again): sent
// if their check is still in the announced state and nothing else holds
// them, dropped if not. On other replicas, at their next Refresh.
// ErrSilenceNotFound if there is no such silence, or it has ended.
func (s *Silences) Delete(ctx context.Context, id uuid.UUID) error {
	sl, err := s.st.DeleteSilence(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSilenceNotFound
	}
	if err != nil {
		return fmt.Errorf("silences: %w", err)
	}
	if _, err := s.Refresh(ctx); err != nil {
		return err
	}
	if !sl.End.After(s.opts.Now()) {
		return ErrSilenceNotFound // it had ended: deleting it pruned it
	}
	return nil
}

// Start starts a goroutine that calls Refresh every Options.Refresh until
// Stop (for several replicas on one store; one process needs none). It
// returns an error if already started.
func (s *Silences) Start() error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.stop != nil {
		return errors.New("silences: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop stops the goroutine of Start and waits for it; without Start it
// does nothing.
func (s *Silences) Stop() {
	s.runMu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.runMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (s *Silences) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.opts.Refresh)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, s.opts.Refresh+10*time.Second)
		_, err := s.Refresh(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.opts.Logger.Warn("silences: reading them again failed; keeping the last ones read", "err", err)
			failing = true
		case err == nil && failing:
			s.opts.Logger.Info("silences: read again")
			failing = false
		}
	}
}
