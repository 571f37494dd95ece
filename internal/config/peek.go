package config

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// StoreHint is what PeekStore reads of a config file before it is
// parsed: the SQLite file it names and its ping retention, resolved as
// the parse resolves them (defaults, paths relative to the file).
type StoreHint struct {
	Path  string
	Pings int
}

// PeekStore reads the store and retention sections of a config file
// without parsing the rest, so that a start can open its store while the
// file (8 MB at 100,000 checks) is parsed. It is a hint and no more: ok is
// false for anything it does not read with certainty (PostgreSQL, a value
// from the environment, anchors and aliases, a section given twice, a
// document marker, a top level that is not block style, invalid YAML),
// and its answer is to be checked with Matches against the parsed file
// before it is used.
func PeekStore(file string, data []byte) (h StoreHint, ok bool) {
	var sections [2][]byte // store, retention
	var seen [2]bool
	cur := -1
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		switch c := firstByte(line); {
		case c == ' ' || c == '\r' || c == '\n' || c == '#' || c == '-' && len(line) > 1 && (line[1] == ' ' || line[1] == '\n' || line[1] == '\r'):
			// Indented, blank, a comment, or an item of a top-level key's
			// sequence at the key's indentation: the current section's.
		case isKeyByte(c):
			key, _, found := bytes.Cut(line, []byte(":"))
			if !found || bytes.IndexFunc(key, func(r rune) bool { return r > 0x7f || !isKeyByte(byte(r)) }) >= 0 {
				return StoreHint{}, false
			}
			switch string(key) {
			case "store":
				cur = 0
			case "retention":
				cur = 1
			default:
				cur = -1
				continue
			}
			if seen[cur] {
				return StoreHint{}, false // the parse refuses it; let it say so
			}
			seen[cur] = true
		default:
			// A tab, a document marker, a directive, a flow or complex
			// key, a quoted key, an anchor at the top: not read here.
			return StoreHint{}, false
		}
		if cur >= 0 {
			sections[cur] = append(sections[cur], line...)
		}
	}
	text := append(append([]byte(nil), sections[0]...), sections[1]...)
	if bytes.ContainsAny(text, "$&*!<\t") {
		return StoreHint{}, false // ${NAME}, anchors, aliases, tags, merge keys
	}
	var v struct {
		Store struct {
			SQLite struct {
				Path string `yaml:"path"`
			} `yaml:"sqlite"`
			Postgres *yaml.Node `yaml:"postgres"`
		} `yaml:"store"`
		Retention struct {
			Pings int `yaml:"pings"`
		} `yaml:"retention"`
	}
	if err := yaml.Unmarshal(text, &v); err != nil || v.Store.Postgres != nil {
		return StoreHint{}, false
	}
	return StoreHint{Path: sqlitePath(file, v.Store.SQLite.Path), Pings: pingRetention(v.Retention.Pings)}, true
}

// Matches reports whether cfg, parsed and with its defaults, uses the
// store h describes: the same SQLite file with the same retention.
func (h StoreHint) Matches(cfg *Config) bool {
	return cfg != nil && cfg.Store.Postgres == nil &&
		cfg.Store.SQLite.Path == h.Path && cfg.Retention.Pings == h.Pings
}

func firstByte(line []byte) byte {
	if len(line) == 0 {
		return '\n'
	}
	return line[0]
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
