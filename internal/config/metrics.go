package config

// Metrics configures the watchdog's /metrics (docs/metrics.md). Read at
// start: a reload that changes it warns that it takes effect at the next
// restart.
type Metrics struct {
	// PerCheck exports the per-check series (vitals_check_*, seven per
	// check). Default true. At tens of thousands of checks turn it off and
	// alert on the per-tag aggregates (vitals_tag_*) and vitals_checks.
	PerCheck *bool `yaml:"per_check"`
	// MaxTags bounds the tags given per-tag aggregates (the first ones in
	// byte order). Default 0: 1000; negative: no per-tag series.
	MaxTags int `yaml:"max_tags"`
}

// PerCheckSeries reports whether per-check series are exported.
func (m Metrics) PerCheckSeries() bool { return m.PerCheck == nil || *m.PerCheck }

// Same reports whether m and o configure the same series.
func (m Metrics) Same(o Metrics) bool {
	return m.PerCheckSeries() == o.PerCheckSeries() && m.MaxTags == o.MaxTags
}
