package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestPathIndexLazy: a valid file is parsed and validated without the
// index of every path's line (pathLines), which only errors need; an
// invalid one still names the file, the line and the field.
func TestPathIndexLazy(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {name: c%d, period: 1m}\n", i)
	}
	l := &loader{file: "ok.yaml", env: env(nil), kinds: LoadOptions{}.notifiers()}
	cfg := l.parse([]byte(b.String()))
	cfg.applyDefaults()
	l.validate(cfg)
	if len(l.errs) > 0 || l.lines != nil {
		t.Fatalf("valid file: errors %v, path index built: %v", l.errs, l.lines != nil)
	}
	// On PostgreSQL too: the check that store.sqlite is not set as well
	// reads the document, not the index.
	pg := "store:\n  postgres: {dsn: \"postgres://u@127.0.0.1/db\"}\n" + b.String()
	l = &loader{file: "pg.yaml", env: env(nil), kinds: LoadOptions{}.notifiers()}
	cfg = l.parse([]byte(pg))
	cfg.applyDefaults()
	l.validate(cfg)
	if len(l.errs) > 0 || l.lines != nil {
		t.Fatalf("valid PostgreSQL file: errors %v, path index built: %v", l.errs, l.lines != nil)
	}

	b.WriteString("  - name: bad\n    period: 1m\n    http: {url: \"${VITALS_TEST_LAZY_UNSET}\"}\n  - {name: c1, period: 1m}\n")
	_, err := Parse("bad.yaml", []byte(b.String()), env(nil))
	got := fmt.Sprint(err)
	for _, want := range []string{
		`bad.yaml:54: checks[50].http.url: environment variable VITALS_TEST_LAZY_UNSET is not set`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors:\n%s\nwant a line with %q", got, want)
		}
	}
	b.Reset()
	b.WriteString("checks:\n  - {name: a, period: 1m}\n  - name: a\n    period: -1m\n")
	_, err = Parse("dup.yaml", []byte(b.String()), env(nil))
	if got := fmt.Sprint(err); !strings.Contains(got, "dup.yaml:3: checks[1]") {
		t.Errorf("errors:\n%s\nwant one at dup.yaml:3: checks[1]", got)
	}
}

// TestPathStack renders paths as join and "%s[%d]" build them.
func TestPathStack(t *testing.T) {
	ps := &pathStack{}
	if ps.String() != "" {
		t.Fatalf("empty: %q", ps.String())
	}
	ps.pushKey("checks")
	ps.pushIndex(2)
	ps.pushKey("http")
	ps.pushKey("url")
	if got := ps.String(); got != "checks[2].http.url" {
		t.Fatalf("got %q", got)
	}
	ps.pop()
	ps.pop()
	ps.pushIndex(0)
	if got := ps.String(); got != "checks[2][0]" {
		t.Fatalf("got %q", got)
	}
	based := &pathStack{base: "notifiers.hook"}
	based.pushKey("webhook")
	if got := based.String(); got != "notifiers.hook.webhook" {
		t.Fatalf("got %q", got)
	}
}
