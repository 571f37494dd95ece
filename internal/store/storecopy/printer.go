package storecopy

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Printer shows a copy's progress (pass its Show as Options.Progress): on
// a terminal, one line per step redrawn in place with a bar; otherwise
// plain lines, one at a step's first batch, then one every Every and one when it ends, for
// logs. It never shows a row or a cursor.
type Printer struct {
	w   io.Writer
	tty bool
	// Every is how often a plain line repeats while a step runs. Default
	// 5s (NewPrinter).
	Every time.Duration

	step  string
	shown time.Duration // the step's Elapsed at the last plain line
}

// NewPrinter returns a Printer writing to w; tty draws the bar.
func NewPrinter(w io.Writer, tty bool) *Printer {
	return &Printer{w: w, tty: tty, Every: 5 * time.Second}
}

// Show shows p.
func (pr *Printer) Show(p Progress) {
	end := p.Done || p.Skipped
	if pr.tty {
		fmt.Fprint(pr.w, "\r\x1b[K"+Line(p, true))
		if end {
			fmt.Fprintln(pr.w)
		}
		return
	}
	first := p.Step != pr.step
	if first {
		pr.step = p.Step
	}
	if first || end || p.Elapsed-pr.shown >= pr.Every {
		pr.shown = p.Elapsed
		fmt.Fprintln(pr.w, Line(p, false))
	}
}

// Line is one line about p, with a bar of 24 characters when bar is set:
//
//	[3/8] pings         [=========>              ] 41,000/100,000 rows, 40,950 copied, 8,200 rows/s, 7s left
func Line(p Progress, bar bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d/%d] %-12s ", p.Index+1, p.Steps, p.Step)
	if bar {
		const width = 24
		fill := width
		if p.Total > 0 {
			fill = int(min(p.Read, p.Total) * width / p.Total)
		}
		head := ""
		if fill < width {
			head = ">"
		}
		b.WriteString("[" + strings.Repeat("=", fill) + head + strings.Repeat(" ", max(width-fill-len(head), 0)) + "] ")
	}
	if p.Skipped {
		fmt.Fprintf(&b, "%s rows: done by an earlier run", group(p.Read))
		return b.String()
	}
	fmt.Fprintf(&b, "%s/%s rows, %s copied", group(p.Read), group(p.Total), group(p.Copied))
	if p.Read > p.Copied {
		fmt.Fprintf(&b, " (%s already there or orphaned)", group(p.Read-p.Copied))
	}
	if r := p.Rate(); r > 0 {
		fmt.Fprintf(&b, ", %s rows/s", group(int64(r)))
	}
	switch {
	case p.Done:
		fmt.Fprintf(&b, ", done in %v", p.Elapsed.Round(time.Millisecond))
	case p.Left() > 0:
		fmt.Fprintf(&b, ", %v left", p.Left().Round(time.Second))
	}
	return b.String()
}

// group writes n with thousands separators: 1234567 → 1,234,567.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	parts = append([]string{s}, parts...)
	out := strings.Join(parts, ",")
	if neg {
		out = "-" + out
	}
	return out
}
