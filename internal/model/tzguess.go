package model

import (
	"fmt"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
)

// The time-zone mismatch warning: a cron schedule written for the wrong
// zone is the most common false alarm of a cron check (healthchecks.io's
// tracker is full of them). The job pings on time, but its cron runs in
// another zone, so every ping is a whole number of hours away from the
// schedule. GuessTZ recognises that from the check's recent pings and names
// a zone in which the schedule fits them. docs/watchdog.md, "Time-zone
// mismatch warning", describes it for users.

const (
	// TZMinPings is how many recent pings GuessTZ needs before it warns:
	// one or two pings off by hours may be manual runs or a catch-up after
	// an outage; four in a row (four days of a daily job) are a pattern.
	TZMinPings = 4
	// MaxTZPings bounds the ping times a check keeps for the warning
	// (State.TZPings) and that GuessTZ considers: the newest ones count.
	MaxTZPings = 8
	// TZEarly is how early a ping may come before its cron time and still
	// fit it (clock skew between the job's host and the watchdog's).
	TZEarly = time.Minute
	// TZHalfHour: in a fitting zone, at least one ping must come less than
	// this after its cron time. If every ping is later than that, a zone
	// half an hour further west fits them at least as well (India is
	// UTC+5:30), so no whole-hour zone is named.
	TZHalfHour = 30 * time.Minute
	// MaxTZShift is the largest offset, in hours, between the schedule's
	// zone and a zone GuessTZ names (UTC−12 to UTC+14 is 26 hours apart,
	// but a zone further than 14 hours away is never the likelier reading).
	MaxTZShift = 14
	// maxCronSteps bounds the cron times walked inside one grace window.
	maxCronSteps = 64
)

// CommonTZs are the named zones GuessTZ tries after the host's own, in this
// order: the most used zones of every continent, one per distinct set of
// rules (zones that always share their offsets with an earlier one, such as
// Europe/Paris after Europe/Berlin, would never be named). Zones with a
// half-hour offset are left out: they are never a whole number of hours
// away. When none fits, GuessTZ names Etc/GMT±N.
var CommonTZs = []string{
	"UTC",
	"Europe/London",
	"Europe/Berlin",
	"America/New_York",
	"America/Chicago",
	"America/Denver",
	"America/Los_Angeles",
	"Asia/Tokyo",
	"Asia/Shanghai",
	"Asia/Singapore",
	"Australia/Sydney",
	"Europe/Helsinki",
	"Europe/Moscow",
	"Europe/Istanbul",
	"Asia/Dubai",
	"Asia/Karachi",
	"Asia/Dhaka",
	"Asia/Bangkok",
	"America/Sao_Paulo",
	"America/Mexico_City",
	"America/Bogota",
	"America/Phoenix",
	"America/Halifax",
	"America/Anchorage",
	"Pacific/Honolulu",
	"Pacific/Auckland",
	"Australia/Brisbane",
	"Africa/Lagos",
	"Africa/Johannesburg",
	"Africa/Cairo",
	"Africa/Nairobi",
}

// TZGuess is a time zone in which a cron schedule fits a check's recent
// pings, all of which it misses in its own zone.
type TZGuess struct {
	// Zone is the IANA name of the zone that fits.
	Zone string
	// Pings is how many pings were considered (the newest, at most
	// MaxTZPings); every one fits the schedule in Zone.
	Pings int
	// MinShift and MaxShift bound, in hours, how far each ping came from
	// the schedule in its own zone: negative before, positive after. They
	// differ when a daylight-saving change fell between the pings in one
	// zone and not the other.
	MinShift, MaxShift int
}

// Warning is the text of State.TZWarning for g, where scheduleTZ is the
// schedule's own zone ("" is UTC), e.g. "the last 5 pings came 2 hours
// before the schedule in UTC: is the schedule meant for Europe/Berlin?
// (tz: Europe/Berlin)".
func (g TZGuess) Warning(scheduleTZ string) string {
	if scheduleTZ == "" {
		scheduleTZ = DefaultTZ
	}
	lo, hi, side := g.MinShift, g.MaxShift, "after"
	if hi < 0 {
		lo, hi, side = -hi, -lo, "before"
	}
	hours := strconv.Itoa(hi) + " hours"
	switch {
	case lo != hi:
		hours = strconv.Itoa(lo) + " to " + hours
	case hi == 1:
		hours = "1 hour"
	}
	return fmt.Sprintf("the last %d pings came %s %s the schedule in %s: is the schedule meant for %s? (tz: %s)",
		g.Pings, hours, side, scheduleTZ, g.Zone, g.Zone)
}

// TZWarning returns the warning GuessTZ gives for these pings, or "".
func TZWarning(s Schedule, pings []time.Time, hostTZ string) string {
	g, ok := GuessTZ(s, pings, hostTZ)
	if !ok {
		return ""
	}
	return g.Warning(s.TZ)
}

// GuessTZ decides whether the cron schedule s was written for the wrong
// time zone, judging by pings (the times of the check's recent success and
// failure pings, or of the starts of the runs they finished, oldest first;
// only the newest MaxTZPings count). It reports a guess when
//   - there are at least TZMinPings pings,
//   - none fits s in its own zone (s.TZ), and
//   - a candidate zone fits every one of them, and in it each ping is a
//     whole number of hours away from s in its own zone, at most
//     MaxTZShift, not zero, always on the same side.
//
// A ping fits a schedule in a zone when a cron time of the schedule,
// evaluated in that zone, lies between s.Grace before the ping and TZEarly
// after it: the job ran at the cron time and pinged once it finished. A
// zone fits the pings when each one fits and at least one comes less than
// TZHalfHour after its cron time. The candidates are, in order: hostTZ
// (the watchdog host's IANA zone, "" when unknown), CommonTZs, then
// Etc/GMT±N for every whole-hour shift, which need no zone database. The
// first that fits is named. Since zones are evaluated with their own
// rules, a zone with daylight saving time fits only if every ping fits it,
// before and after a change.
//
// Pure: no I/O besides the zone database (read once per zone and cached),
// at most a few hundred cron evaluations. s must be a valid cron schedule;
// anything else gives no guess.
func GuessTZ(s Schedule, pings []time.Time, hostTZ string) (TZGuess, bool) {
	if s.Cron == "" || len(pings) < TZMinPings {
		return TZGuess{}, false
	}
	pings = pings[max(0, len(pings)-MaxTZPings):]
	sch, err := s.parse()
	if err != nil {
		return TZGuess{}, false
	}
	own, err := loadLocation(s.TZ)
	if err != nil {
		return TZGuess{}, false
	}
	// Every ping must miss the schedule in its own zone; the newest is
	// the likeliest to fit, so it goes first.
	for i := len(pings) - 1; i >= 0; i-- {
		if _, ok := fitCron(sch, own, pings[i], s.Grace); ok {
			return TZGuess{}, false
		}
	}
	tried := make(map[string]bool, len(CommonTZs)+1)
	try := func(loc *time.Location) (TZGuess, bool) {
		if tried[loc.String()] {
			return TZGuess{}, false
		}
		tried[loc.String()] = true
		return fitZone(sch, own, loc, pings, s.Grace)
	}
	if hostTZ != "" && hostTZ != "Local" {
		if loc, err := loadLocation(hostTZ); err == nil {
			if g, ok := try(loc); ok {
				return g, true
			}
		}
	}
	for _, name := range CommonTZs {
		if loc, err := loadLocation(name); err == nil {
			if g, ok := try(loc); ok {
				return g, true
			}
		}
	}
	_, base := pings[len(pings)-1].In(own).Zone()
	for k := 1; k <= MaxTZShift; k++ {
		for _, shift := range [2]int{-k, k} {
			if loc := etcZone(base - shift*3600); loc != nil {
				if g, ok := try(loc); ok {
					return g, true
				}
			}
		}
	}
	return TZGuess{}, false
}

// etcZone returns the Etc/GMT zone of a whole-hour UTC offset (seconds east
// of UTC), nil when the offset is not one of them (UTC itself is among
// CommonTZs). The Etc names count the other way: Etc/GMT-2 is UTC+2.
func etcZone(offset int) *time.Location {
	h := offset / 3600
	if offset%3600 != 0 || h == 0 || h < -12 || h > 14 {
		return nil
	}
	name := "Etc/GMT+" + strconv.Itoa(-h)
	if h > 0 {
		name = "Etc/GMT-" + strconv.Itoa(h)
	}
	return time.FixedZone(name, offset)
}

// fitZone reports whether every ping fits sch in loc, and how far each
// is from sch in own (see GuessTZ).
func fitZone(sch cron.Schedule, own, loc *time.Location, pings []time.Time, grace time.Duration) (TZGuess, bool) {
	g := TZGuess{Zone: loc.String(), Pings: len(pings)}
	near := false // some ping came less than TZHalfHour after its cron time
	for i := len(pings) - 1; i >= 0; i-- {
		c, ok := fitCron(sch, loc, pings[i], grace)
		if !ok {
			return TZGuess{}, false
		}
		near = near || pings[i].Sub(c) < TZHalfHour
		// A cron time at wall time W in loc is at W in own too, later by
		// the difference of their offsets: that is how far the ping is.
		_, offOwn := c.In(own).Zone()
		_, offLoc := c.In(loc).Zone()
		d := offOwn - offLoc
		h := d / 3600
		if d%3600 != 0 || h == 0 || h > MaxTZShift || h < -MaxTZShift {
			return TZGuess{}, false
		}
		if i == len(pings)-1 {
			g.MinShift, g.MaxShift = h, h
		} else if (h < 0) != (g.MinShift < 0) {
			return TZGuess{}, false
		}
		g.MinShift, g.MaxShift = min(g.MinShift, h), max(g.MaxShift, h)
	}
	return g, near
}

// fitCron returns the latest cron time of sch in loc that ping t fits: at
// most TZEarly after t and at most grace before it.
func fitCron(sch cron.Schedule, loc *time.Location, t time.Time, grace time.Duration) (time.Time, bool) {
	limit := t.Add(TZEarly)
	// Next is strictly after its argument, in whole seconds: step back a
	// second so that a cron time exactly grace before t counts.
	c := sch.Next(t.Add(-grace - time.Second).In(loc))
	if c.IsZero() || c.After(limit) {
		return time.Time{}, false
	}
	for range maxCronSteps {
		n := sch.Next(c)
		if n.IsZero() || n.After(limit) {
			break
		}
		c = n
	}
	return c, true
}
