package health

import (
	"regexp"
	"unicode/utf8"
)

// Patterns of credentials that error texts of database and broker clients
// are known to carry.
var (
	// scheme://user:password@host
	urlCredentials = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*):[^@\s/]*@`)
	// password=secret, token: secret, apikey=secret, "password":"secret"
	keyValueSecret = regexp.MustCompile(`(?i)("?\b(?:password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|auth|authorization|credentials?)"?\s*[=:]\s*"?(?:bearer\s+|basic\s+)?)[^\s"'&;,]+`)
	// user:password@tcp(host) as in Go MySQL DSNs
	mysqlCredentials = regexp.MustCompile(`(^|[\s"'(=])([^\s:@/"'(]+):[^\s@/]+@(tcp|unix)\(`)
)

// Redact removes credentials from s: the password of URLs and MySQL DSNs and
// the values of password, token, secret and API key settings are replaced by
// "xxxxx". It is applied to every error text a check records.
func Redact(s string) string {
	s = urlCredentials.ReplaceAllString(s, "${1}:xxxxx@")
	s = mysqlCredentials.ReplaceAllString(s, "${1}${2}:xxxxx@${3}(")
	s = keyValueSecret.ReplaceAllString(s, "${1}xxxxx")
	return s
}

// cleanError redacts s and caps it to max bytes on a rune boundary, marking a
// cut with "…".
func cleanError(s string, limit int) string {
	s = Redact(s)
	if len(s) <= limit {
		return s
	}
	const mark = "…"
	cut := max(limit-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
