package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/internal/clip"
)

// ErrBadStatus is wrapped by every error ParseStatusRanges returns.
var ErrBadStatus = errors.New("bad status list")

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Min, Max int
}

// StatusRanges is a set of HTTP status codes that count as healthy.
// The zero value (nil) means DefaultStatusRanges.
type StatusRanges []StatusRange

// DefaultStatusRanges is 200-399: what the kubelet's HTTP probe accepts, and
// what curl -f accepts when it does not follow redirects.
var DefaultStatusRanges = StatusRanges{{Min: 200, Max: 399}}

// Contains reports whether code is in one of the ranges. A nil StatusRanges
// behaves as DefaultStatusRanges.
func (s StatusRanges) Contains(code int) bool {
	if s == nil {
		s = DefaultStatusRanges
	}
	for _, r := range s {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// String formats the ranges the way ParseStatusRanges reads them,
// e.g. "200-299,301".
func (s StatusRanges) String() string {
	if s == nil {
		s = DefaultStatusRanges
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.Min))
		if r.Max != r.Min {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(r.Max))
		}
	}
	return b.String()
}

// maxStatusRanges bounds the number of comma-separated items.
const maxStatusRanges = 64

// ParseStatusRanges parses a comma-separated list of status codes and
// inclusive ranges, such as "200-299,301" or "200, 204". Codes must be
// between 100 and 599. Every error wraps ErrBadStatus.
func ParseStatusRanges(s string) (StatusRanges, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadStatus)
	}
	items := strings.Split(s, ",")
	if len(items) > maxStatusRanges {
		return nil, fmt.Errorf("%w: more than %d items", ErrBadStatus, maxStatusRanges)
	}
	out := make(StatusRanges, 0, len(items))
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w %q: empty item", ErrBadStatus, clip.Bytes(s, 40))
		}
		loText, hiText, isRange := strings.Cut(item, "-")
		lo, err := parseCode(loText)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadStatus, clip.Bytes(s, 40), err)
		}
		hi := lo
		if isRange {
			if hi, err = parseCode(hiText); err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadStatus, clip.Bytes(s, 40), err)
			}
			if hi < lo {
				return nil, fmt.Errorf("%w %q: range %d-%d is backwards", ErrBadStatus, clip.Bytes(s, 40), lo, hi)
			}
		}
		out = append(out, StatusRange{Min: lo, Max: hi})
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not a status code (want 100-599)", clip.Bytes(s, 10))
	}
	return n, nil
}
