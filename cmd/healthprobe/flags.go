package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/probe"
)

// durationValue is a flag.Value for a timeout: a Go duration ("1.5s",
// "500ms") or a bare number of seconds ("2"), as in a Dockerfile or a pod spec.
type durationValue struct{ d time.Duration }

func (v *durationValue) String() string { return v.d.String() }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || secs != secs { // NaN
			return fmt.Errorf("%q is not a duration (1s, 500ms, or seconds)", s)
		}
		if secs > 24*3600 {
			return fmt.Errorf("%q is longer than a day", s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return fmt.Errorf("%q is not positive", s)
	}
	v.d = d
	return nil
}

// statusValue is a flag.Value for a list of healthy status codes.
type statusValue struct{ ranges probe.StatusRanges }

func (v *statusValue) String() string {
	if v.ranges == nil {
		return ""
	}
	return v.ranges.String()
}

func (v *statusValue) Set(s string) error {
	r, err := probe.ParseStatusRanges(s)
	if err != nil {
		return err
	}
	v.ranges = r
	return nil
}

// headerValue is a repeatable flag.Value of "Name: value" headers. Values
// from the environment are replaced, not extended, by the first -H flag.
type headerValue struct {
	header  http.Header
	fromEnv bool // header holds only values from the environment so far
}

func (v *headerValue) String() string {
	if v == nil || len(v.header) == 0 {
		return ""
	}
	var b strings.Builder
	if err := v.header.Write(&b); err != nil {
		return ""
	}
	return strings.TrimSpace(b.String())
}

// Set adds one header, or several separated by newlines (as the variable
// HEALTHPROBE_HEADER may hold).
func (v *headerValue) Set(s string) error {
	if v.fromEnv {
		v.header, v.fromEnv = nil, false
	}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("header %q: want \"Name: value\"", line)
		}
		if v.header == nil {
			v.header = http.Header{}
		}
		v.header.Add(name, strings.TrimSpace(value))
	}
	if v.header == nil {
		return errors.New("empty header")
	}
	return nil
}
