package badge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// state returns a state of status st; due and deadline are relative to
// t0 (0: none); started opens a run.
func state(st model.Status, due, deadline time.Duration, started bool) model.State {
	s := model.State{Status: st, Underlying: st}
	if due != 0 {
		s.Due = t0.Add(due)
	}
	if deadline != 0 {
		s.Deadline = t0.Add(deadline)
	}
	if started {
		s.Runs = []model.Run{{RID: uuid.Nil, Started: t0.Add(-time.Minute)}}
	}
	return s
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name string
		s    model.State
		want model.Status
	}{
		{"new", state(model.StatusNew, 0, 0, false), model.StatusUp},
		{"new started", state(model.StatusNew, 0, time.Hour, true), model.StatusUp},
		{"up before due", state(model.StatusUp, time.Minute, time.Hour, false), model.StatusUp},
		{"up just before due", state(model.StatusUp, time.Nanosecond, time.Hour, false), model.StatusUp},
		{"up past due", state(model.StatusUp, -time.Minute, time.Hour, false), model.StatusGrace},
		{"up past due, started", state(model.StatusUp, -time.Minute, time.Hour, true), model.StatusGrace},
		{"up started before due", state(model.StatusUp, time.Minute, time.Hour, true), model.StatusUp},
		{"down", state(model.StatusDown, 0, 0, false), model.StatusDown},
		{"down started", state(model.StatusDown, 0, time.Hour, true), model.StatusDown},
		{"flapping", state(model.StatusFlapping, 0, 0, false), model.StatusDown},
		{"paused", state(model.StatusPaused, 0, 0, false), model.StatusUp},
		{"pull up (no due)", state(model.StatusUp, 0, 0, false), model.StatusUp},
		{"up at due", model.State{Status: model.StatusUp, Due: t0, Deadline: t0.Add(time.Hour)}, model.StatusGrace},
	} {
		if got := Classify(c.s, t0); got != c.want {
			t.Errorf("%s: Classify = %s, want %s", c.name, got, c.want)
		}
	}
}

// TestTally is healthchecks.io's roll-up: down wins, late only in
// three-state badges, and the counts are the same for both.
func TestTally(t *testing.T) {
	up := state(model.StatusUp, time.Hour, 2*time.Hour, false)
	grace := state(model.StatusUp, -time.Minute, time.Hour, false)
	down := state(model.StatusDown, 0, 0, false)
	flap := state(model.StatusFlapping, 0, 0, false)
	paused := state(model.StatusPaused, 0, 0, false)
	for _, c := range []struct {
		name   string
		states []model.State
		two    Tally
		three  Status
	}{
		{"no checks", nil, Tally{Up, 0, 0, 0}, Up},
		{"all up", []model.State{up, paused}, Tally{Up, 2, 0, 0}, Up},
		{"one late", []model.State{up, grace}, Tally{Up, 2, 1, 0}, Late},
		{"late then down", []model.State{grace, down, up}, Tally{Down, 3, 1, 1}, Down},
		{"down then late", []model.State{down, grace}, Tally{Down, 2, 1, 1}, Down},
		{"flapping", []model.State{up, flap}, Tally{Down, 2, 0, 1}, Down},
	} {
		two, three := NewTally(), NewTally()
		for _, s := range c.states {
			two.Add(s, t0, TwoStates)
			three.Add(s, t0, ThreeStates)
		}
		want3 := c.two
		want3.Status = c.three
		if two != c.two || three != want3 {
			t.Errorf("%s: two states %+v, three %+v; want %+v, %+v", c.name, two, three, c.two, want3)
		}
	}
}

func TestJSONShapes(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Tally{Late, 3, 1, 0}, `{"status":"late","total":3,"grace":1,"down":0}`},
		{NewShields("foo", Up), `{"schemaVersion":1,"label":"foo","message":"up","color":"success"}`},
		{NewShields("foo", Late), `{"schemaVersion":1,"label":"foo","message":"late","color":"important"}`},
		{NewShields("foo", Down), `{"schemaVersion":1,"label":"foo","message":"down","color":"critical"}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%+v: %s %v, want %s", c.v, b, err, c.want)
		}
	}
}
