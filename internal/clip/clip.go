// Package clip shortens text quoted in error messages, so that a long or
// hostile value (a URL, a header, a YAML scalar) cannot flood a log line
// or an API answer. It imports nothing, so the probe package (and the small
// healthprobe binary built on it) can use it as the config loader and the
// pull specs do.
package clip

// Text returns s when it is at most n bytes long, else its first n bytes,
// cut back to the start of a UTF-8 sequence so that no character is split,
// followed by "...".
func Text(s string, n int) string { return clip(s, n, true) }

// Bytes is Text cutting at exactly n bytes, which may split a UTF-8
// sequence (a message quoting it with %q then shows the bytes escaped).
// The probe package's messages are clipped so.
func Bytes(s string, n int) string { return clip(s, n, false) }

func clip(s string, n int, wholeRunes bool) string {
	if len(s) <= n {
		return s
	}
	for wholeRunes && n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
