package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPeekStore(t *testing.T) {
	def := DefaultSQLitePath()
	for _, tc := range []struct {
		name, data string
		want       StoreHint
		ok         bool
	}{
		{"empty", "", StoreHint{def, DefaultPingRetention}, true},
		{"no store", "checks:\n  - name: a\n", StoreHint{def, DefaultPingRetention}, true},
		{"relative", "store:\n  sqlite:\n    path: data/v.db # here\nretention:\n  pings: 7\n", StoreHint{"/etc/vitals/data/v.db", 7}, true},
		{"absolute", "store: {sqlite: {path: /var/lib/v.db}}\n", StoreHint{"/var/lib/v.db", DefaultPingRetention}, true},
		{"quoted", "store:\n  sqlite:\n    path: \"/a b/v.db\"\n", StoreHint{"/a b/v.db", DefaultPingRetention}, true},
		{"after checks", "checks:\n- name: a\n  period: 1m\n\n# the store\nstore:\n\n  sqlite:\n    path: /x.db\r\n", StoreHint{"/x.db", DefaultPingRetention}, true},
		{"other keys in between", "retention:\n  pings: 3\nserver:\n  listen: [\":8080\"]\nstore:\n  sqlite: {path: /y.db}\n", StoreHint{"/y.db", 3}, true},

		{"postgres", "store:\n  postgres:\n    dsn: postgres://x\n", StoreHint{}, false},
		{"env", "store:\n  sqlite:\n    path: ${DIR}/v.db\n", StoreHint{}, false},
		{"alias", "x: &p /a.db\nstore:\n  sqlite:\n    path: *p\n", StoreHint{}, false},
		{"merge", "store:\n  <<: {sqlite: {path: /a.db}}\n", StoreHint{}, false},
		{"twice", "store:\n  sqlite: {path: /a.db}\nstore:\n  sqlite: {path: /b.db}\n", StoreHint{}, false},
		{"document marker", "---\nstore:\n  sqlite: {path: /a.db}\n", StoreHint{}, false},
		{"flow top level", "{store: {sqlite: {path: /a.db}}}\n", StoreHint{}, false},
		{"quoted key", "\"store\":\n  sqlite: {path: /a.db}\n", StoreHint{}, false},
		{"tab", "store:\n\tsqlite: {path: /a.db}\n", StoreHint{}, false},
		{"invalid", "store:\n  sqlite: [\n", StoreHint{}, false},
		{"block scalar with quotes", "checks:\n  - name: a\n    run: |\n      echo \"it's [\n\n      done\nstore:\n  sqlite: {path: /b.db}\n", StoreHint{"/b.db", DefaultPingRetention}, true},
		{"quotes closed on their line", "checks:\n  - {name: 'it''s', tags: [\"a\", 'b']} # it's\nstore: {sqlite: {path: /c.db}}\n", StoreHint{"/c.db", DefaultPingRetention}, true},
		{"indented top level", " store:\n  sqlite:\n   path: /a.db\n", StoreHint{}, false},
		{"single quote goes on at column 0", "x: 'a\nstore:\n  sqlite:\n    path: /evil.db\nb'\n", StoreHint{}, false},
		{"double quote goes on at column 0", "x: \"a\nstore: {sqlite: {path: /evil.db}}\n\"\n", StoreHint{}, false},
		{"escaped quote keeps it open", "x: 'a''\nstore: {sqlite: {path: /evil.db}}\n'\n", StoreHint{}, false},
		{"flow goes on at column 0", "x: [a,\nstore: {sqlite: {path: /evil.db}}]\n", StoreHint{}, false},
		{"two documents", "checks: []\n---\nstore: {sqlite: {path: /a.db}}\n", StoreHint{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PeekStore("/etc/vitals/vitals.yaml", []byte(tc.data))
			if ok != tc.ok || got != tc.want {
				t.Errorf("PeekStore = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestPeekStoreMatchesParse: on every config file of the repository, a
// peek that answers agrees with the parse.
func TestPeekStoreMatchesParse(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../../examples/watchdog/*.yaml")
	files = append(files, examples...)
	if len(files) < 2 {
		t.Fatalf("found %d config files", len(files))
	}
	peeked := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse(p, data, env(map[string]string{}))
		if err != nil {
			continue // a file that needs its environment
		}
		h, ok := PeekStore(p, data)
		if !ok {
			continue
		}
		peeked++
		if !h.Matches(cfg) {
			t.Errorf("%s: peeked %+v, parsed %q, %d pings", p, h, cfg.Store.SQLite.Path, cfg.Retention.Pings)
		}
	}
	if peeked == 0 {
		t.Fatal("no file was peeked")
	}
}

// FuzzPeekStore: a peek never panics, and never disagrees with a parse
// that succeeds.
func FuzzPeekStore(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../../examples/watchdog/*.yaml")
	for _, p := range append(files, examples...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("store:\n  sqlite:\n    path: data/v.db\nretention:\n  pings: 7\n"))
	f.Add([]byte("store: {sqlite: {path: '/a #b'}}\nretention: {pings: 0x10}\n"))
	f.Add([]byte("retention:\n  pings: 3\nstore:\n  sqlite: {path: ./y.db}\n"))
	vars := env(map[string]string{"X": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, ok := PeekStore("d/f.yaml", data)
		if !ok {
			return
		}
		cfg, err := Parse("d/f.yaml", data, vars)
		if err != nil {
			return
		}
		if !h.Matches(cfg) {
			t.Fatalf("peeked %+v, parsed %q, %d pings", h, cfg.Store.SQLite.Path, cfg.Retention.Pings)
		}
	})
}
