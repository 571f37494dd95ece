package health

import (
	"encoding/json"
	"strconv"
	"time"
)

// The probes that get a pre-encoded snapshot, by index.
var snapKinds = [...]Kind{Liveness, Readiness, Startup, All}

func snapIndex(k Kind) int {
	switch k {
	case Liveness:
		return 0
	case Readiness:
		return 1
	case Startup:
		return 2
	case All:
		return 3
	}
	return -1
}

func probeName(k Kind) string {
	switch k {
	case Liveness:
		return "livez"
	case Readiness:
		return "readyz"
	case Startup:
		return "startupz"
	case All:
		return "healthz"
	}
	return k.String()
}

// snapshot is an immutable, pre-encoded view of every probe, swapped
// atomically whenever a result is recorded, so that serving a probe costs a
// pointer load and a write.
type snapshot struct {
	probes [len(snapKinds)]probeSnap
}

type probeSnap struct {
	status Status
	// verboseHead and verboseTail surround the uptime, the only part of a
	// verbose body that changes between results.
	verboseHead, verboseTail []byte
	ietf                     []byte
}

// Minimal bodies, by status.
var (
	minimalBodies = [...][]byte{
		StatusUp:       []byte(`{"status":"UP"}` + "\n"),
		StatusDegraded: []byte(`{"status":"DEGRADED"}` + "\n"),
		StatusDown:     []byte(`{"status":"DOWN"}` + "\n"),
	}
	minimalIETF = [...][]byte{
		StatusUp:       []byte(`{"status":"pass"}` + "\n"),
		StatusDegraded: []byte(`{"status":"warn"}` + "\n"),
		StatusDown:     []byte(`{"status":"fail"}` + "\n"),
	}
)

// rebuildLocked re-encodes the snapshot from the current state and returns
// the probes whose status changed. m.mu must be held.
func (m *Monitor) rebuildLocked() []StatusEvent {
	m.startupUp = true
	for _, cs := range m.order {
		if cs.cfg.Kinds&Startup != 0 && !cs.cfg.NonCritical && cs.res.Status != StatusUp {
			m.startupUp = false
		}
	}
	if m.startupUp && m.started {
		m.startupDone = true
	}
	old := m.snap.Load()
	s := &snapshot{}
	var events []StatusEvent
	for i, k := range snapKinds {
		rep := m.reportLocked(k, nil, true)
		s.probes[i] = encodeProbe(rep, m.opts)
		if old != nil && old.probes[i].status != rep.Status {
			events = append(events, StatusEvent{Kinds: k, From: old.probes[i].status, To: rep.Status, Reason: rep.Reason})
		}
	}
	m.snap.Store(s)
	return events
}

// checkJSON is one check in a verbose body.
type checkJSON struct {
	Status              string   `json:"status"`
	Critical            bool     `json:"critical"`
	Kinds               string   `json:"kinds"`
	Error               string   `json:"error,omitempty"`
	DurationMS          float64  `json:"duration_ms"`
	BaselineMS          float64  `json:"baseline_ms,omitempty"`
	LastChecked         string   `json:"last_checked,omitempty"`
	LastSuccess         string   `json:"last_success,omitempty"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	ObservedValue       *float64 `json:"observed_value,omitempty"`
	ObservedUnit        string   `json:"observed_unit,omitempty"`
}

func toCheckJSON(r Result) checkJSON {
	c := checkJSON{
		Status:              r.Status.String(),
		Critical:            r.Critical,
		Kinds:               r.Kinds.String(),
		Error:               r.Error,
		DurationMS:          float64(r.Duration.Microseconds()) / 1000,
		BaselineMS:          float64(r.Baseline.Microseconds()) / 1000,
		LastChecked:         formatTime(r.LastChecked),
		LastSuccess:         formatTime(r.LastSuccess),
		ConsecutiveFailures: r.ConsecutiveFailures,
	}
	if r.Observation != nil {
		v := r.Observation.Value
		c.ObservedValue = &v
		c.ObservedUnit = r.Observation.Unit
	}
	return c
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ietfJSON is the draft-inadarei-api-health-check response.
type ietfJSON struct {
	Status      string                 `json:"status"`
	Version     string                 `json:"version,omitempty"`
	ReleaseID   string                 `json:"releaseId,omitempty"`
	ServiceID   string                 `json:"serviceId,omitempty"`
	Description string                 `json:"description,omitempty"`
	Output      string                 `json:"output,omitempty"`
	Checks      map[string][]ietfCheck `json:"checks,omitempty"`
}

type ietfCheck struct {
	ComponentType string   `json:"componentType,omitempty"`
	ObservedValue *float64 `json:"observedValue,omitempty"`
	ObservedUnit  string   `json:"observedUnit,omitempty"`
	Status        string   `json:"status"`
	Time          string   `json:"time,omitempty"`
	Output        string   `json:"output,omitempty"`
}

func encodeProbe(rep Report, opts Options) probeSnap {
	head := []byte(`{"status":"` + rep.Status.String() + `",`)
	if rep.Reason != "" {
		head = append(head, `"reason":`...)
		head = strconv.AppendQuote(head, rep.Reason)
		head = append(head, ',')
	}
	head = append(head, `"uptime_seconds":`...)
	checks := make(map[string]checkJSON, len(rep.Checks))
	for _, r := range rep.Checks {
		checks[r.Name] = toCheckJSON(r)
	}
	cj, _ := json.Marshal(checks) // cannot fail: plain data
	tail := append(append([]byte(`,"checks":`), cj...), "}\n"...)
	return probeSnap{
		status:      rep.Status,
		verboseHead: head,
		verboseTail: tail,
		ietf:        encodeIETF(rep, opts, nil),
	}
}

// encodeIETF encodes rep in the IETF format. only, when not nil, replaces
// the checks of rep with that one check.
func encodeIETF(rep Report, opts Options, only *Result) []byte {
	out := ietfJSON{
		Status:      rep.Status.IETF(),
		Version:     opts.Version,
		ReleaseID:   opts.ReleaseID,
		ServiceID:   opts.ServiceID,
		Description: opts.Description,
		Output:      rep.Reason,
		Checks:      make(map[string][]ietfCheck, len(rep.Checks)),
	}
	results := rep.Checks
	if only != nil {
		results = []Result{*only}
	}
	for _, r := range results {
		c := ietfCheck{
			Status: r.Status.IETF(),
			Time:   formatTime(r.LastChecked),
			Output: r.Error,
		}
		if r.Status == StatusDegraded {
			c.Output = "slower than its normal: " + r.Duration.String() + " against " + r.Baseline.String()
		}
		if r.Status == StatusDown && !r.Critical {
			c.Status = "warn"
		}
		c.ComponentType = r.ComponentType
		if r.Observation != nil {
			v := r.Observation.Value
			c.ObservedValue = &v
			c.ObservedUnit = r.Observation.Unit
		}
		out.Checks[r.Name] = []ietfCheck{c}
	}
	b, _ := json.Marshal(out) // cannot fail: plain data
	return append(b, '\n')
}

// appendVerbose appends the verbose body of p with the given uptime to buf.
func (p *probeSnap) appendVerbose(buf []byte, uptime time.Duration) []byte {
	buf = append(buf, p.verboseHead...)
	buf = strconv.AppendFloat(buf, uptime.Seconds(), 'f', 3, 64)
	return append(buf, p.verboseTail...)
}
