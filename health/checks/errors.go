package checks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors, matched with [errors.Is]. The errors the checkers return
// wrap one of these and say what was observed and what was allowed.
var (
	// ErrThreshold is matched by a [*ThresholdError]: an observed value (free
	// space, heap, goroutines, cgroup memory) is on the wrong side of its limit.
	ErrThreshold = errors.New("threshold crossed")
	// ErrStalled: a [Stall] has not beaten within its period.
	ErrStalled = errors.New("stalled")
	// ErrInactive: an [Activity] has not been touched within its bound.
	ErrInactive = errors.New("inactive")
	// ErrOverloaded: an [InFlight] limiter stayed above its limit for longer
	// than its grace time.
	ErrOverloaded = errors.New("overloaded")
	// ErrEjected: a [Passive] checker saw too many failed requests and ejects
	// the instance from readiness for its ejection time.
	ErrEjected = errors.New("ejected")
	// ErrPoolExhausted: an [SQLPool] saw every connection of the pool in
	// use, with requests waiting for one, for longer than its window.
	ErrPoolExhausted = errors.New("connection pool exhausted")
	// ErrUnexpectedStatus: an HTTP check or probe got a status it does not
	// accept.
	ErrUnexpectedStatus = errors.New("unexpected status")
	// ErrTooFewAddresses: a DNS check resolved fewer addresses than required.
	ErrTooFewAddresses = errors.New("too few addresses")
)

// ThresholdError reports an observed value on the wrong side of its limit,
// as in "disk /data: free space is 52.4 MiB (3.1% of 1.6 GiB), want at least
// 10%". errors.Is(err, ErrThreshold) is true for it.
type ThresholdError struct {
	// Subject names what was measured, such as "disk /data: free space".
	Subject string
	// Observed is the observed value as text, such as "52.4 MiB (3.1%)".
	Observed string
	// Allowed is the limit as text, such as "at least 10%".
	Allowed string
}

// Error returns "<Subject> is <Observed>, want <Allowed>".
func (e *ThresholdError) Error() string {
	return e.Subject + " is " + e.Observed + ", want " + e.Allowed
}

// Is reports whether target is [ErrThreshold].
func (e *ThresholdError) Is(target error) bool { return target == ErrThreshold }

// formatBytes formats n in binary units with one decimal: "512 B", "1.5 KiB",
// "52.4 MiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatPercent formats p with up to one decimal: "3.1%", "10%".
func formatPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// formatPercent1 formats p rounded to one decimal: "3.1%".
func formatPercent1(p float64) string {
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// formatAge formats an age rounded to a readable precision: "42s", "1.5s",
// "250ms".
func formatAge(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}

// excerpt returns at most max bytes of b as printable text for an error
// message: invalid UTF-8 and control characters become '.', and "…" marks a
// cut.
func excerpt(b []byte, max int) string {
	cut := false
	if len(b) > max {
		b, cut = b[:max], true
		// Drop a rune cut in the middle rather than show it as '.'.
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == utf8.RuneError && size <= 1 || r < 0x20 || r == 0x7f {
			if r == '\n' || r == '\t' || r == '\r' {
				r = ' '
			} else {
				r = '.'
			}
		}
		sb.WriteRune(r)
	}
	s := strings.TrimSpace(sb.String())
	if cut {
		s += "…"
	}
	return s
}
