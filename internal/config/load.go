package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
)

// Error is one problem in a config file. Load and Parse return every
// Error found, joined with errors.Join; unwrap with
// `interface{ Unwrap() []error }` or errors.As.
type Error struct {
	File string // the file's name as given
	Line int    // 1-based; 0 when the problem has no line (an empty file)
	Path string // the field, as "checks[2].http.url"; "" for the document
	Msg  string
}

// Error formats the problem as "file:line: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LookupEnv looks up an environment variable, as os.LookupEnv does.
type LookupEnv func(name string) (string, bool)

// Load reads, expands, decodes, defaults and validates the config file at
// path, with ${NAME} taken from the process environment. It returns every
// problem found (see Error). It is LoadOptions{}.Load: notifiers of the
// built-in kinds.
func Load(path string) (*Config, error) { return LoadOptions{}.Load(path) }

// Load is the package's Load with the options of o.
func (o LoadOptions) Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return o.Parse(path, data, os.LookupEnv)
}

// Parse is Load on the bytes of a file named name (used in errors and to
// resolve relative paths), with environment lookups through env (nil: no
// variable is set). It is LoadOptions{}.Parse.
func Parse(name string, data []byte, env LookupEnv) (*Config, error) {
	return LoadOptions{}.Parse(name, data, env)
}

// Parse is the package's Parse with the options of o.
func (o LoadOptions) Parse(name string, data []byte, env LookupEnv) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	l := &loader{file: name, env: env, kinds: o.notifiers()}
	cfg := l.parse(data)
	if l.fatal || l.aliasBomb || l.expandFailed || l.decodeFailed {
		return nil, l.joined()
	}
	cfg.File = name
	cfg.applyDefaults()
	l.validate(cfg)
	if len(l.errs) > 0 {
		return nil, l.joined()
	}
	return cfg, nil
}

type loader struct {
	file   string
	env    LookupEnv
	kinds  Notifiers // the notifier registry
	errs   []*Error
	lines  map[string]int // field path → line; nil until pathLines builds it
	byLine map[int]string // line → the longest path on it (a value)
	// shortByLine: line → the shortest path on it (the key of a flow
	// list or mapping).
	shortByLine map[int]string
	// walked counts the nodes the schema walk visited, aliased the ones
	// it reached through an alias (aliasDepth > 0); see overAliased.
	walked, aliased, aliasDepth int
	aliasBomb                   bool // the walk stopped at overAliased
	// fatal (syntax), expandFailed and decodeFailed stop the loading
	// before validation.
	fatal, expandFailed, decodeFailed bool
	// root is the document's mapping; secrets are the values each
	// scalar took from the environment (see secrets.go).
	root    *yaml.Node
	secrets map[*yaml.Node][]model.Secret
}

func (l *loader) errorf(path string, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: l.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// indexLines fills byLine and shortByLine from lines: only yaml's own
// errors, which name a line and not a path, need them, so a file without
// such errors never pays for two more maps of every node.
func (l *loader) indexLines() {
	l.byLine, l.shortByLine = map[int]string{}, map[int]string{}
	for p, n := range l.pathLines() {
		if q, ok := l.byLine[n]; !ok || len(p) > len(q) || len(p) == len(q) && p > q {
			l.byLine[n] = p
		}
		if q, ok := l.shortByLine[n]; !ok || len(p) < len(q) || len(p) == len(q) && p < q {
			l.shortByLine[n] = p
		}
	}
}

// countNodes is how many paths index records under n (a size hint).
func countNodes(n *yaml.Node) int {
	c := 0
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			c += 1 + countNodes(n.Content[i+1])
		}
	case yaml.SequenceNode:
		for _, e := range n.Content {
			c += 1 + countNodes(e)
		}
	}
	return c
}

// line returns the line of path, or of its nearest ancestor that has one.
func (l *loader) line(path string) int {
	lines := l.pathLines()
	for p := path; p != ""; p = parent(p) {
		if n, ok := lines[p]; ok {
			return n
		}
	}
	return 0
}

func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

func (l *loader) joined() error {
	sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
	errs := make([]error, 0, len(l.errs))
	seen := map[string]bool{}
	scrub := l.scrubber()
	for _, e := range l.errs {
		e.Msg = scrub.Replace(e.Msg)
		if s := e.Error(); !seen[s] {
			seen[s] = true
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+)(?: col (\d+))?: (.*)$`)

// parse turns data into a Config, recording every syntax, schema and type
// error.
func (l *loader) parse(data []byte) *Config {
	cfg := &Config{}
	l.fatal = true // until the document is known to be a mapping
	if len(data) > MaxFileSize {
		l.errs = append(l.errs, &Error{File: l.file, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)})
		return cfg
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.fatal = false
			return cfg // an empty file is the all-defaults config
		}
		l.yamlError(err)
		return cfg
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errs = append(l.errs, &Error{File: l.file, Line: extra.Line, Msg: "more than one YAML document"})
		return cfg
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		l.fatal = false
		return cfg
	}
	if root.Kind != yaml.MappingNode {
		l.errs = append(l.errs, &Error{File: l.file, Line: root.Line, Msg: "the document must be a mapping (server:, checks:, ...)"})
		return cfg
	}
	l.fatal = false
	l.root = root
	// ${NAME} first (a file without "$" has none); the line of every
	// path only once an error needs it (see pathLines).
	if bytes.IndexByte(data, '$') >= 0 {
		l.expandAll(root, &pathStack{})
	}
	l.walk(root, reflect.TypeOf(cfg).Elem(), "")
	if l.aliasBomb || l.expandFailed {
		return cfg
	}
	// Unknown keys are ignored by Decode: go on, so that one file shows
	// every problem. A value that does not decode stops here, as what
	// validation would say about the zero value left would mislead.
	if err := root.Decode(cfg); err != nil {
		l.yamlError(err)
		l.decodeFailed = true
	}
	return cfg
}

// yamlError records a yaml error ("line N: msg", possibly several).
func (l *loader) yamlError(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	l.indexLines()
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		sub := yamlLine.FindStringSubmatch(m)
		if sub == nil {
			l.errs = append(l.errs, &Error{File: l.file, Msg: m})
			continue
		}
		line, _ := strconv.Atoi(sub[1])
		msg, path := sub[3], l.byLine[line]
		if l.fatal {
			msg = "YAML syntax: " + msg
		}
		// yaml's own messages name Go types; say what is wanted instead.
		if i := strings.Index(msg, " into "); strings.HasPrefix(msg, "cannot unmarshal ") && i > 0 {
			found := strings.TrimPrefix(msg[:i], "cannot unmarshal ")
			switch {
			case strings.HasPrefix(found, "!!seq"):
				found, path = "a list", l.shortByLine[line]
			case strings.HasPrefix(found, "!!map"):
				found, path = "a mapping", l.shortByLine[line]
			default:
				if _, v, ok := strings.Cut(found, " `"); ok {
					found = strconv.Quote(strings.TrimSuffix(v, "`"))
				}
			}
			msg = "expected " + goTypeWord(msg[i+len(" into "):]) + ", found " + found
		}
		l.errs = append(l.errs, &Error{File: l.file, Line: line, Path: path, Msg: msg})
	}
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case t == "time.Duration":
		return "a duration such as 30s"
	case t == "time.Time":
		return "a time such as 2026-01-02T03:04:05Z"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."), strings.HasPrefix(t, "model."), strings.HasPrefix(t, "pull."), strings.HasPrefix(t, "actions."), strings.HasPrefix(t, "notify."), strings.HasPrefix(t, "outbox."), strings.HasPrefix(t, "policy."), strings.HasPrefix(t, "supervise."), strings.HasPrefix(t, "restart."):
		return "a mapping"
	}
	return t
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}|\$\{[^}]*\}?`)

// pathLines returns the line of every path of the document, building
// the index at the first call: only errors need it, and with 100,000
// checks it is a string and a map entry for every node (a good part of a
// restart's parse, before it was lazy).
func (l *loader) pathLines() map[string]int {
	if l.lines == nil {
		l.lines = map[string]int{}
		if l.root != nil {
			l.lines = make(map[string]int, countNodes(l.root))
			l.index(l.root, "")
		}
	}
	return l.lines
}

// sets reports whether the document has the mapping keys path (as the
// path index records them: scalar keys, aliases not followed), without
// building that index of every node.
func (l *loader) sets(path ...string) bool { return setsUnder(l.root, path) }

func setsUnder(n *yaml.Node, path []string) bool {
	if len(path) == 0 {
		return true
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == path[0] && setsUnder(n.Content[i+1], path[1:]) {
			return true
		}
	}
	return false
}

// index records the line of every path under n.
func (l *loader) index(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if k.Kind != yaml.ScalarNode {
				p = join(path, "?")
			}
			if _, dup := l.lines[p]; !dup {
				l.lines[p] = k.Line
			}
			l.index(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.lines[p] = c.Line
			l.index(c, p)
		}
	}
}

// expandAll expands ${NAME} references in the scalar values (not keys)
// under n; ps is n's path, rendered only for an error.
func (l *loader) expandAll(n *yaml.Node, ps *pathStack) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if k.Kind != yaml.ScalarNode {
				key = "?"
			}
			ps.pushKey(key)
			l.expandAll(v, ps)
			ps.pop()
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ps.pushIndex(i)
			l.expandAll(c, ps)
			ps.pop()
		}
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") {
			l.expand(n, ps.String())
		}
	}
}

// pathStack is a field path ("checks[2].http.url") kept as its parts
// while a walk descends, so that the string is made only when an error
// names it.
type pathStack struct {
	base string // the path the walk started at
	segs []pathSeg
}

type pathSeg struct {
	key   string
	index int // when key is "" and isIndex
	isIdx bool
}

func (p *pathStack) pushKey(k string) { p.segs = append(p.segs, pathSeg{key: k}) }
func (p *pathStack) pushIndex(i int)  { p.segs = append(p.segs, pathSeg{index: i, isIdx: true}) }
func (p *pathStack) pop()             { p.segs = p.segs[:len(p.segs)-1] }

// String renders the path as join and "%s[%d]" build it.
func (p *pathStack) String() string {
	path := p.base
	for _, s := range p.segs {
		if s.isIdx {
			path = fmt.Sprintf("%s[%d]", path, s.index)
		} else {
			path = join(path, s.key)
		}
	}
	return path
}

// expand replaces ${NAME}, ${NAME:-default} and $$ in a scalar.
func (l *loader) expand(n *yaml.Node, path string) {
	out := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := envRef.FindStringSubmatch(m)
		if sub[1] == "" {
			l.expandFailed = true
			l.errs = append(l.errs, &Error{File: l.file, Line: n.Line, Path: path, Msg: fmt.Sprintf("bad variable reference %q: write ${NAME} or ${NAME:-default} (and $$ for a literal $)", clip.Text(m, 40))})
			return m
		}
		v, ok := l.env(sub[1])
		if sub[2] != "" && (!ok || v == "") {
			return sub[3]
		}
		l.secret(n, sub[1], v)
		if sub[2] != "" {
			return v
		}
		if !ok {
			l.expandFailed = true
			l.errs = append(l.errs, &Error{File: l.file, Line: n.Line, Path: path, Msg: fmt.Sprintf("environment variable %s is not set (write ${%s:-default} for a default)", sub[1], sub[1])})
		}
		return v
	})
	if out != n.Value {
		n.Value = out
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // resolve the expanded value afresh: ${PORT} may be a number
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	nodeType        = reflect.TypeOf(yaml.Node{})
)

// overAliased reports whether the walk has reached too large a share of
// its nodes through aliases: yaml.v3's own rule for decoding (more than
// 100 aliased nodes of more than 1000, at a share above 99 % for
// documents up to 400,000 nodes, falling to 10 % at 4,000,000). It bounds
// alias expansion (an alias bomb reaches nearly all of its nodes through
// aliases) and not the size of a file without aliases, whose nodes the
// file size bounds (MaxFileSize).
func (l *loader) overAliased() bool {
	return l.aliased > 100 && l.walked > 1000 && float64(l.aliased)/float64(l.walked) > allowedAliasRatio(l.walked)
}

// allowedAliasRatio is yaml.v3's (decode.go): the share of a document's
// nodes that may come from alias expansion.
func allowedAliasRatio(nodes int) float64 {
	const low, high = 400_000, 4_000_000
	switch {
	case nodes <= low:
		return 0.99
	case nodes >= high:
		return 0.10
	default:
		return 0.99 - 0.89*float64(nodes-low)/float64(high-low)
	}
}

// walk checks every mapping key against the schema t; path is n's.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string) {
	l.walkAt(n, t, &pathStack{base: path})
}

func (l *loader) walkAt(n *yaml.Node, t reflect.Type, ps *pathStack) {
	if l.aliasBomb {
		return
	}
	l.walked++
	if l.aliasDepth > 0 {
		l.aliased++
	}
	if l.overAliased() {
		l.aliasBomb = true
		l.errorf(ps.String(), "aliases expand too far (%d of %d nodes reached through aliases)", l.aliased, l.walked)
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil {
			l.aliasDepth++
			l.walkAt(n.Alias, t, ps)
			l.aliasDepth--
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // decoding reports the type error
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" {
				l.walkAt(v, t, ps) // merge key: its mappings follow the same schema
				continue
			}
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				l.errs = append(l.errs, &Error{File: l.file, Line: k.Line, Path: join(ps.String(), k.Value), Msg: "unknown field" + suggest(t, k.Value)})
				continue
			}
			ps.pushKey(k.Value)
			l.walkAt(v, f.Type, ps)
			ps.pop()
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				ps.pushIndex(i)
				l.walkAt(c, t.Elem(), ps)
				ps.pop()
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				ps.pushKey(n.Content[i].Value)
				l.walkAt(n.Content[i+1], t.Elem(), ps)
				ps.pop()
			}
		}
	}
}

// fieldByTag returns the exported field of struct t whose yaml tag is
// name (the first, in field order).
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	fields, ok := yamlFields.Load(t)
	if !ok {
		m := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if _, dup := m[tag]; tag != "" && tag != "-" && f.IsExported() && !dup {
				m[tag] = f
			}
		}
		fields, _ = yamlFields.LoadOrStore(t, m)
	}
	f, ok := fields.(map[string]reflect.StructField)[name]
	return f, ok
}

// yamlFields caches fieldByTag's index of each struct type:
// reflect.Type → map[string]reflect.StructField (a walk looks up every
// key of a file, 100,000 checks' worth).
var yamlFields sync.Map

// suggest names the known field closest to name, or lists the fields.
func suggest(t reflect.Type, name string) string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" && t.Field(i).IsExported() {
			names = append(names, tag)
		}
	}
	best, bestD := "", 3
	for _, c := range names {
		if d := distance(strings.ToLower(name), c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// distance is the Levenshtein distance of short strings.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
