package config

import "testing"

// TestMetricsSection: per_check defaults to true, max_tags to 0 (the
// collector's default), and both are read as written.
func TestMetricsSection(t *testing.T) {
	cfg, err := Parse("x.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Metrics.PerCheckSeries() || cfg.Metrics.MaxTags != 0 {
		t.Errorf("defaults: %+v", cfg.Metrics)
	}
	off, err := Parse("x.yaml", []byte("metrics: {per_check: false, max_tags: -1}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if off.Metrics.PerCheckSeries() || off.Metrics.MaxTags != -1 {
		t.Errorf("per_check false, max_tags -1: %+v", off.Metrics)
	}
	if cfg.Metrics.Same(off.Metrics) || !off.Metrics.Same(off.Metrics) {
		t.Error("Same")
	}
	if _, err := Parse("x.yaml", []byte("metrics: {per_checks: false}\n"), nil); err == nil {
		t.Error("a misspelt field is accepted")
	}
}
