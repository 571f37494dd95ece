package config

import (
	"bytes"
	"strings"

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
// document marker, a top level that is not block style at column 0, a
// quoted scalar or flow collection that may go on at column 0, invalid
// YAML), and its answer is to be checked with Matches against the parsed
// file before it is used. FuzzPeekStore holds it to that: a peek that
// answers never disagrees with a parse that succeeds.
func PeekStore(file string, data []byte) (h StoreHint, ok bool) {
	var sections [2][]byte // store, retention
	var seen [2]bool
	cur := -1
	started := false // a key at column 0 has been seen
	var lx flowLexer
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		// A quoted scalar or a flow collection may go on at column 0
		// ("x: 'a\nstore: b'" is one scalar): a line that starts while
		// one may be open is not read as a key.
		open := lx.open()
		lx.scan(line)
		if open && firstByte(line) != ' ' && !blankOrComment(line) {
			return StoreHint{}, false
		}
		switch c := firstByte(line); {
		case c == ' ' || c == '\r' || c == '\n' || c == '#' || c == '-' && len(line) > 1 && (line[1] == ' ' || line[1] == '\n' || line[1] == '\r'):
			// Indented, blank, a comment, or an item of a top-level key's
			// sequence at the key's indentation: the current section's.
			// Content before the first key would set the top level's
			// indentation (" store:" is a top-level key too): not read here.
			if !started && !blankOrComment(line) {
				return StoreHint{}, false
			}
		case isKeyByte(c):
			started = true
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
	var text []byte
	for _, sec := range sections {
		text = append(text, sec...)
		if len(sec) > 0 && sec[len(sec)-1] != '\n' {
			text = append(text, '\n') // the last line of a file without one
		}
	}
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

// blankOrComment reports whether line holds only spaces and a comment.
func blankOrComment(line []byte) bool {
	t := bytes.TrimLeft(line, " ")
	return len(bytes.TrimSpace(t)) == 0 || t[0] == '#'
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// flowLexer follows, line by line, whether a YAML quoted scalar or flow
// collection is open at the end of a line. It errs towards open: a quote
// is taken to start a scalar wherever one could (at the start of a value
// or after a space), so that a line it calls closed really is; the cost of
// an error is a peek that gives up. Block scalars (| and >) are skipped by
// their indentation.
type flowLexer struct {
	quote byte // '\'', '"' or 0
	depth int  // open [ and {
	block int  // indentation of a block scalar's parent line, or -1
	inBlk bool
}

func (lx *flowLexer) open() bool { return lx.quote != 0 || lx.depth > 0 }

func (lx *flowLexer) scan(line []byte) {
	indent := len(line) - len(bytes.TrimLeft(line, " "))
	if lx.inBlk {
		if blankOrComment(line) && bytes.IndexByte(line, '#') < 0 || indent > lx.block {
			return // a line of the block scalar's text
		}
		lx.inBlk = false
	}
	if !lx.open() && !bytes.ContainsAny(line, "'\"[{|>") {
		return
	}
	prev := byte(' ') // the byte before i that is not part of a scalar's text
	last := -1        // index of the last byte outside a comment
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch lx.quote {
		case '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				lx.quote = 0
			}
			prev = 'x'
			continue
		case '\'':
			if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
				} else {
					lx.quote = 0
				}
			}
			prev = 'x'
			continue
		}
		switch {
		case c == '#' && (prev == ' ' || prev == '\t'):
			i = len(line) // a comment
			continue
		case (c == '\'' || c == '"') && bytes.IndexByte([]byte(" \t:-?[{,"), prev) >= 0:
			lx.quote = c
		case c == '[' || c == '{':
			lx.depth++
		case (c == ']' || c == '}') && lx.depth > 0:
			lx.depth--
		}
		if c != '\r' && c != '\n' {
			prev, last = c, i
		}
	}
	// "key: |", "- >-", "key: |2 # text": a block scalar starts; its
	// lines are those indented past this one.
	if !lx.open() && last >= 0 {
		t := bytes.TrimRight(line[:last+1], " \t")
		if j := bytes.LastIndexAny(t, "|>"); j >= 0 && strings.Trim(string(t[j+1:]), "+-0123456789") == "" {
			before := bytes.TrimRight(t[:j], " \t")
			if len(before) == len(t[:j]) && j > 0 {
				return // "a|" is text
			}
			if len(bytes.TrimSpace(before)) == 0 || bytes.HasSuffix(before, []byte(":")) || bytes.HasSuffix(before, []byte("-")) {
				lx.inBlk, lx.block = true, indent
			}
		}
	}
}
