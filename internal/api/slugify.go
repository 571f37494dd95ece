package api

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// slugify is Django's slugify (allow_unicode=False), which healthchecks.io's
// API v1 and v2 apply to a check's name to make its slug: NFKD, drop what
// is not ASCII, lower case, drop what is not a word character, space or
// hyphen, then collapse runs of hyphens and spaces into one hyphen and
// trim hyphens and underscores from the ends. "Nightly Backup (db)" is
// "nightly-backup-db".
func slugify(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		if r > unicode.MaxASCII {
			continue
		}
		r = unicode.ToLower(r)
		if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || isPySpace(r) {
			b.WriteRune(r)
		}
	}
	var out strings.Builder
	sep := false
	for _, r := range b.String() {
		if r == '-' || isPySpace(r) {
			sep = true
			continue
		}
		if sep && out.Len() > 0 {
			out.WriteByte('-')
		}
		sep = false
		out.WriteRune(r)
	}
	if sep && out.Len() > 0 {
		out.WriteByte('-')
	}
	return strings.Trim(out.String(), "-_")
}

// isPySpace is Python's \s over ASCII.
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	}
	return false
}
