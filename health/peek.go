package health

// Peek returns the state of the probe for kinds like [Monitor.Report], but
// only from the results already recorded: it never runs a check, not even a
// stale on-demand one. Metrics collectors and protocol bridges read it, so
// that a scrape or an RPC never causes a check run. It is safe for
// concurrent use, from subscribers' callbacks too.
func (m *Monitor) Peek(kinds Kind, exclude ...string) Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reportLocked(kinds, exclude, true)
}
