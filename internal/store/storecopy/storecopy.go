// Package storecopy moves an installation from one store to another: what
// `vitals migrate --from sqlite:PATH --to postgres:DSN` runs. It copies the
// installation's facts (the secret derived check ids depend on) and then
// every table of its history (store.CopyTable), step by step, in batches
// read in the order of the source's key; each batch is written in one
// transaction with the step's progress, so that an interrupted copy
// resumes after the last batch that committed, and a finished one is not
// done again. Rows already at the destination are skipped (by primary
// key): running it twice copies nothing the second time. It never writes
// to the source.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/store"
)

// Source is a store read for copying (sqlite.Export).
type Source interface {
	// InUse returns an error while another process writes the source.
	InUse() error
	// Installation returns the installation's facts, by name.
	Installation(ctx context.Context) (map[string][]byte, error)
	// Steps returns the steps of the copy, in order, with their sizes.
	Steps(ctx context.Context) ([]store.CopyStep, error)
	// Read returns up to limit rows of step after the cursor after (""
	// for the first), and the cursor past them; fewer than limit rows
	// mean the end of the step.
	Read(ctx context.Context, step, after string, limit int) (rows [][]any, next string, err error)
}

// Sink is a store written by a copy (postgres.Store).
type Sink interface {
	// ImportBegin writes the installation's facts, refusing a
	// destination that has other ones, and returns the recorded progress
	// of each step (a step without a record starts from scratch).
	ImportBegin(ctx context.Context, installation map[string][]byte, steps []store.CopyStep) (map[string]store.CopyMark, error)
	// ImportWrite writes rows and the step's progress past them in one
	// transaction, and returns the new progress.
	ImportWrite(ctx context.Context, step store.CopyStep, prev store.CopyMark, rows [][]any, after string, done bool) (store.CopyMark, error)
}

// Options tune Copy. The zero value is usable.
type Options struct {
	// Batch is how many rows are read and written at a time (one
	// transaction each). Default 1000.
	Batch int
	// Progress, when not nil, is called after each batch and when a step
	// is skipped or ends (on the goroutine of Copy).
	Progress func(Progress)
	// Now is the clock of the rates and estimates. Default time.Now.
	Now func() time.Time
}

// DefaultBatch is Options.Batch's default.
const DefaultBatch = 1000

// Progress is where one step stands.
type Progress struct {
	// Step is the step's name; Index its place (from 0) of Steps.
	Step         string
	Index, Steps int
	// Total is the source's rows for the step; Read how many of them the
	// step has gone through (over every run); Copied how many of those
	// were written (the others were there already, or their check was
	// missing); ThisRun the rows read by this run.
	Total, Read, Copied, ThisRun int64
	// Elapsed is the time this run has spent on the step.
	Elapsed time.Duration
	// Done: the step is finished. Skipped: it was already, by an earlier
	// run.
	Done, Skipped bool
}

// Rate is this run's rows per second on the step (0 before a measure).
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.ThisRun) / p.Elapsed.Seconds()
}

// Left estimates the time the step still needs at this run's rate (0 when
// unknown or done).
func (p Progress) Left() time.Duration {
	r := p.Rate()
	if r <= 0 || p.Read >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Read) / r * float64(time.Second))
}

// StepReport is what Copy did in one step.
type StepReport struct {
	Step string
	// Read and Copied count this run's rows (Read - Copied were skipped:
	// there already, or their check missing).
	Read, Copied int64
	// Skipped: an earlier run had finished the step.
	Skipped bool
}

// Report is what Copy did.
type Report struct {
	Steps []StepReport
}

// Copied is the number of rows this run wrote, over every step.
func (r Report) Copied() int64 {
	var n int64
	for _, s := range r.Steps {
		n += s.Copied
	}
	return n
}

// Copy copies src into dst (see the package's doc). It stops at the first
// error, or when ctx is done, with the progress of every batch committed so
// far recorded at dst: running it again resumes there. Before each batch
// it asks src.InUse, so that a watchdog started on the source meanwhile
// stops the copy. The Report covers what was done, also on error.
func Copy(ctx context.Context, src Source, dst Sink, opts Options) (Report, error) {
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var rep Report
	if err := src.InUse(); err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	inst, err := src.Installation(ctx)
	if err != nil {
		return rep, fmt.Errorf("source: installation: %w", err)
	}
	steps, err := src.Steps(ctx)
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	marks, err := dst.ImportBegin(ctx, inst, steps)
	if err != nil {
		return rep, fmt.Errorf("destination: %w", err)
	}
	for i, st := range steps {
		sr, err := copyStep(ctx, src, dst, opts, st, marks[st.Name], i, len(steps))
		rep.Steps = append(rep.Steps, sr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// copyStep runs one step from mark. Each turn reads one batch and writes
// it; the loop is bounded by the step's rows as counted at the start plus
// what the source gains meanwhile (it cannot, while InUse holds), so it
// stops at twice the batches counted, plus one, at the latest.
func copyStep(ctx context.Context, src Source, dst Sink, opts Options, st store.CopyStep, mark store.CopyMark, index, steps int) (StepReport, error) {
	sr := StepReport{Step: st.Name}
	report := func(start time.Time) {
		if opts.Progress != nil {
			opts.Progress(Progress{Step: st.Name, Index: index, Steps: steps, Total: max(st.Total, mark.Read),
				Read: mark.Read, Copied: mark.Copied, ThisRun: sr.Read, Elapsed: opts.Now().Sub(start),
				Done: mark.Done, Skipped: sr.Skipped})
		}
	}
	start := opts.Now()
	if mark.Done {
		sr.Skipped = true
		report(start)
		return sr, nil
	}
	maxTurns := 2*(st.Total/int64(opts.Batch)) + 2
	for range maxTurns {
		if err := ctx.Err(); err != nil {
			return sr, err
		}
		if err := src.InUse(); err != nil {
			return sr, fmt.Errorf("source: %w", err)
		}
		rows, next, err := src.Read(ctx, st.Name, mark.After, opts.Batch)
		if err != nil {
			return sr, fmt.Errorf("source: %w", err)
		}
		done := len(rows) < opts.Batch
		m, err := dst.ImportWrite(ctx, st, mark, rows, next, done)
		if err != nil {
			return sr, fmt.Errorf("destination: %w", err)
		}
		sr.Read += m.Read - mark.Read
		sr.Copied += m.Copied - mark.Copied
		mark = m
		report(start)
		if done {
			return sr, nil
		}
	}
	return sr, errors.New(st.Name + ": the source kept growing during the copy")
}
