package pull

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/internal/clip"
)

// ErrBadCondition is wrapped by every error ParseCondition returns.
var ErrBadCondition = errors.New("bad condition")

// MaxConditionLen bounds the length of one condition's text.
const MaxConditionLen = 500

// A Condition is a test on a JSON response body, written
//
//	$.path.to[0].field OP VALUE
//	$.path.to.field              (the field exists and is not null or false)
//
// The path starts at "$" (the document) and is a chain of ".name" (a
// member: letters, digits, '_' and '-'), `["any name"]` (a member whose
// name is a JSON string) and "[N]" (an array element, from 0). OP is one
// of == != < <= > >=; VALUE is a JSON literal: a "string" in double quotes,
// a number, true, false or null. == and != compare JSON values exactly
// (numbers as numbers: 1 == 1.0); < <= > >= compare numbers only (a
// non-number fails the condition).
//
// Examples: `$.status == "UP"`, `$.checks[0].status != "DOWN"`,
// `$.queue.depth < 1000`, `$.ready == true`, `$["x-version"]`.
//
// A Condition is immutable and safe for concurrent use.
type Condition struct {
	text  string
	path  []step
	op    string // "" for existence
	value any    // decoded JSON literal
}

type step struct {
	name  string
	index int // -1 for a member step
}

// String returns the condition as written.
func (c *Condition) String() string { return c.text }

// ParseCondition parses a condition (see Condition). Errors wrap
// ErrBadCondition and say where the text is wrong.
func ParseCondition(text string) (*Condition, error) {
	bad := func(format string, args ...any) (*Condition, error) {
		return nil, fmt.Errorf("%w %q: %s", ErrBadCondition, clip.Text(text, 60), fmt.Sprintf(format, args...))
	}
	if len(text) > MaxConditionLen {
		return bad("longer than %d bytes", MaxConditionLen)
	}
	s := strings.TrimSpace(text)
	if !strings.HasPrefix(s, "$") {
		return bad(`the path must start with "$"`)
	}
	c := &Condition{text: text}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			if j == i+1 {
				return bad("empty member name at offset %d", i+1)
			}
			c.path = append(c.path, step{name: s[i+1 : j], index: -1})
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return bad(`"[" without "]"`)
			}
			inner := s[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted name may contain "]": decode the JSON string
				// itself and find the bracket after it.
				dec := json.NewDecoder(strings.NewReader(s[i+1:]))
				var name string
				if err := dec.Decode(&name); err != nil {
					return bad("member name at offset %d is not a JSON string", i+1)
				}
				j := i + 1 + int(dec.InputOffset())
				if j >= len(s) || s[j] != ']' {
					return bad(`"]" expected after the member name at offset %d`, j)
				}
				c.path = append(c.path, step{name: name, index: -1})
				i = j + 1
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 || n > 1_000_000 {
				return bad("array index %q is not a number 0-1000000", clip.Text(inner, 20))
			}
			c.path = append(c.path, step{index: n})
			i += end + 1
		case ' ', '\t':
			rest := strings.TrimSpace(s[i:])
			op, val := splitOp(rest)
			if op == "" {
				return bad("an operator (== != < <= > >=) expected at %q", clip.Text(rest, 20))
			}
			val = strings.TrimSpace(val)
			if val == "" {
				return bad("a value expected after %q", op)
			}
			var v any
			dec := json.NewDecoder(strings.NewReader(val))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil || dec.More() || int(dec.InputOffset()) != len(val) {
				return bad(`the value %s is not a JSON literal (strings take double quotes: "UP")`, clip.Text(val, 30))
			}
			switch v.(type) {
			case map[string]any, []any:
				return bad("the value must be a string, number, true, false or null")
			}
			if op != "==" && op != "!=" {
				if _, ok := v.(json.Number); !ok {
					return bad("%s compares numbers only", op)
				}
			}
			c.op, c.value = op, v
			return c, nil
		default:
			if _, rest := splitOp(s[i:]); rest != "" || strings.ContainsAny(s[i:i+1], "=!<>") {
				return bad("put spaces around the operator")
			}
			return bad("unexpected %q at offset %d", s[i], i)
		}
	}
	return c, nil
}

func isNameByte(b byte) bool {
	return b == '_' || b == '-' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func splitOp(s string) (op, rest string) {
	for _, o := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(s, o) {
			return o, s[len(o):]
		}
	}
	return "", ""
}

// Eval evaluates the condition on a JSON document (as decoded by
// encoding/json into an any, with or without UseNumber). It returns nil
// when the condition holds, and otherwise an error saying what was found.
func (c *Condition) Eval(doc any) error {
	cur := doc
	for _, st := range c.path {
		switch v := cur.(type) {
		case map[string]any:
			if st.index >= 0 {
				return fmt.Errorf("%s: not an array", c.text)
			}
			x, ok := v[st.name]
			if !ok {
				return fmt.Errorf("%s: %q is missing", c.text, st.name)
			}
			cur = x
		case []any:
			if st.index < 0 {
				return fmt.Errorf("%s: %q: not an object", c.text, st.name)
			}
			if st.index >= len(v) {
				return fmt.Errorf("%s: index %d out of range (length %d)", c.text, st.index, len(v))
			}
			cur = v[st.index]
		default:
			return fmt.Errorf("%s: path not found", c.text)
		}
	}
	if c.op == "" {
		if cur == nil || cur == false {
			return fmt.Errorf("%s: is %s", c.text, show(cur))
		}
		return nil
	}
	var ok bool
	switch c.op {
	case "==":
		ok = equal(cur, c.value)
	case "!=":
		ok = !equal(cur, c.value)
	default:
		a, aok := number(cur)
		b, _ := number(c.value)
		if !aok {
			return fmt.Errorf("%s: found %s, not a number", c.text, show(cur))
		}
		switch c.op {
		case "<":
			ok = a < b
		case "<=":
			ok = a <= b
		case ">":
			ok = a > b
		case ">=":
			ok = a >= b
		}
	}
	if !ok {
		return fmt.Errorf("%s: found %s", c.text, show(cur))
	}
	return nil
}

// number accepts the numbers of a document decoded with UseNumber
// (json.Number) or without (float64).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return clip.Text(string(b), 60)
}

// decodeJSON decodes a response body for the conditions, keeping numbers
// exact.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %v", err)
	}
	return v, nil
}
