package model

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// locations caches time.LoadLocation, which reads the zoneinfo database.
var locations sync.Map // string -> *time.Location

// crons caches parsed expressions (a cron.Schedule is safe for concurrent
// Next calls). The set is bounded by the configured checks.
var crons sync.Map // string -> cron.Schedule

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	locations.Store(name, l)
	return l, nil
}

// ErrNoNextTime is returned by [Schedule.NextDue] when a cron expression
// never fires again (for example February 30th).
var ErrNoNextTime = errors.New("cron expression has no next time")

func (s Schedule) parse() (cron.Schedule, error) {
	expr := strings.TrimSpace(s.Cron)
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		return nil, errors.New("time zone prefix not allowed in the expression: set schedule.tz")
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, errors.New("@every is not a calendar schedule: set schedule.period")
	}
	if v, ok := crons.Load(expr); ok {
		return v.(cron.Schedule), nil
	}
	sch, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	// robfig/cron returns the zero time when it finds no time in 5 years.
	if sch.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, ErrNoNextTime
	}
	crons.Store(expr, sch)
	return sch, nil
}

// NextDue returns when the next ping is expected after a ping at last: last +
// Period, or the first cron time strictly after last in TZ. The grace time is
// not included. The schedule must have passed [Check.Validate].
func (s Schedule) NextDue(last time.Time) (time.Time, error) {
	if s.Cron == "" {
		return last.Add(s.Period), nil
	}
	sch, err := s.parse()
	if err != nil {
		return time.Time{}, err
	}
	loc, err := loadLocation(s.TZ)
	if err != nil {
		return time.Time{}, err
	}
	next := sch.Next(last.In(loc))
	if next.IsZero() {
		return time.Time{}, ErrNoNextTime
	}
	return next.UTC(), nil
}
