package badge

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/model"
)

// MaxPathLen bounds the path of a badge request: the longest path Keys
// makes (a tag of model.MaxTagLen bytes, each escaped to five characters)
// is shorter. Longer ones are not found.
const MaxPathLen = 512

// Request is a badge URL taken apart by ParsePath, before its key and
// signature are checked.
type Request struct {
	// Check is true for a check's badge (/b/…), false for a tag's.
	Check bool
	// Key is the project key (tag badges) or the check key.
	Key string
	// Signature is a tag badge's signature, without the "-2" suffix.
	Signature string
	// Tag is the tag, unescaped (AllTags for every check).
	Tag string
	// Format and States are the badge's format and states.
	Format Format
	States States
}

// ParsePath takes apart the path of a badge request (as net/url decodes
// it: once, so a tag is still escaped once, as in healthchecks.io's
// URLs), and reports whether it has the shape of a badge URL:
//
//	/badge/<badge_key>/<signature>/<tag>.<format>
//	/badge/<badge_key>/<signature>.<format>        (every check)
//	/b/<2|3>/<check key>.<format>
//
// The format is svg, json or shields; the signature is 8 characters (three
// states) or 8 and "-2" (two states); the tag is at most model.MaxTagLen
// bytes of UTF-8 once unescaped; the check key is a lower-case UUID. Keys
// and signatures are compared by the Handler, not here.
func ParsePath(path string) (Request, bool) {
	if len(path) > MaxPathLen {
		return Request{}, false
	}
	if rest, ok := strings.CutPrefix(path, "/b/"); ok {
		return parseCheck(rest)
	}
	rest, ok := strings.CutPrefix(path, "/badge/")
	if !ok {
		return Request{}, false
	}
	parts := strings.Split(rest, "/")
	var req Request
	var last string
	switch len(parts) {
	case 2:
		req.Tag, last = AllTags, parts[1]
	case 3:
		last = parts[2]
		if !isSlug(parts[1]) {
			return Request{}, false
		}
		req.Signature = parts[1]
	default:
		return Request{}, false
	}
	req.Key = parts[0]
	if !isSlug(req.Key) {
		return Request{}, false
	}
	name, f, ok := cutFormat(last)
	if !ok {
		return Request{}, false
	}
	req.Format = f
	if req.Tag == AllTags {
		req.Signature = name
	} else if req.Tag, ok = unquoteTag(name); !ok {
		return Request{}, false
	}
	req.States = ThreeStates
	if s, ok := strings.CutSuffix(req.Signature, twoStateSuffix); ok && len(s) == sigLen {
		req.Signature, req.States = s, TwoStates
	}
	if len(req.Signature) != sigLen || !isSlug(req.Signature) {
		return Request{}, false
	}
	return req, true
}

// parseCheck parses "<2|3>/<check key>.<format>".
func parseCheck(rest string) (Request, bool) {
	n, last, ok := strings.Cut(rest, "/")
	if !ok {
		return Request{}, false
	}
	req := Request{Check: true}
	switch n {
	case "2":
		req.States = TwoStates
	case "3":
		req.States = ThreeStates
	default:
		return Request{}, false
	}
	if req.Key, req.Format, ok = cutFormat(last); !ok || !isUUID(req.Key) {
		return Request{}, false
	}
	return req, true
}

// cutFormat splits "<name>.<format>" at the last dot; the format must be
// one of the three.
func cutFormat(s string) (string, Format, bool) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", "", false
	}
	switch f := Format(s[i+1:]); f {
	case FormatSVG, FormatJSON, FormatShields:
		return s[:i], f, true
	}
	return "", "", false
}

// unquoteTag undoes the one escaping left in a decoded path, accepting
// what healthchecks.io's QuoteConverter accepts ([\w%~_.-]+).
func unquoteTag(s string) (string, bool) {
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("%~_.-", c)) {
			return "", false
		}
	}
	tag, err := url.PathUnescape(s)
	if err != nil || tag == "" || len(tag) > model.MaxTagLen || !utf8.ValidString(tag) {
		return "", false
	}
	return tag, true
}

// isSlug reports whether s is a Django slug ([-a-zA-Z0-9_]+).
func isSlug(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(unreserved(c) && c != '.' && c != '~') {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a lower-case, hyphenated UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
