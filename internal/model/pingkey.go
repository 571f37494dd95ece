package model

// MaxPingKeyLen bounds a ping key (see [ValidPingKey]).
const MaxPingKeyLen = 100

// PingKeyRule is how a refused ping key is explained, after the field's
// name: the rule [ValidPingKey] enforces.
const PingKeyRule = "must be 1-100 characters of a-z, A-Z, 0-9, '-' and '_'"

// ValidPingKey reports whether s is a valid ping key, the first segment of
// slug ping URLs /ping/<ping-key>/<slug>: 1 to MaxPingKeyLen characters
// among a-z, A-Z, 0-9, '-' and '_'.
func ValidPingKey(s string) bool { return len(s) <= MaxPingKeyLen && SlugShape(s) }

// SlugShape reports whether s is one or more of a-z, A-Z, 0-9, '-' and
// '_': the shape of a ping key or a slug in a URL, as Django's slug path
// converter ([-a-zA-Z0-9_]+), which healthchecks.io routes them with,
// matches it. A slug must further be a [ValidSlug], a ping key a
// [ValidPingKey].
func SlugShape(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
