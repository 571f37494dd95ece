package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
)

// FuzzParse: any bytes give a config or errors, never a panic, and every
// error names the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	examples, _ := filepath.Glob("../../examples/watchdog/*.yaml")
	for _, p := range append(append(files, bad...), examples...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("notifiers:\n  ops: {webhook: {url: 'http://x', secret: s}}\n  p: {process: {name: api}}\nprocesses: [{name: api, command: [x], restart: {max_restarts: 2}}]\nmaintenance: [{checks: [a], cron: '0 2 * * *', duration: 1h}]\nchecks:\n  - {name: a, actions: {down: [ops, p]}, parents: [b]}\n  - {name: b}\n"))
	f.Add([]byte("pings: {ping_key: abcdefghijklmnopqrstuv, auto_create: true, channels: [ops, ops]}\nnotifiers:\n  ops: {id: 5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59, webhook: {url: 'http://x'}}\n  b: {id: 5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59, idd: 1, slack: {url: 'http://x'}}\n"))
	f.Add([]byte("checks: [{name: x, http: {url: 'http://x', json: ['$[\"a]\"] == 1']}}]"))
	vars := env(map[string]string{"X": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, vars)
		if err != nil {
			for _, e := range model.Flatten(err) {
				if ce, ok := e.(*Error); !ok || ce.File != "f.yaml" {
					t.Fatalf("error %T %v", e, e)
				}
			}
			return
		}
		if _, err := cfg.Pings.Channels.Resolve(cfg.Channels(testIDs)); err != nil {
			t.Fatalf("pings.channels loaded but does not resolve: %v", err)
		}
		for _, c := range cfg.ModelChecks(testIDs) {
			if err := c.Validate(); err != nil {
				t.Fatalf("loaded an invalid check: %v", err)
			}
		}
	})
}
