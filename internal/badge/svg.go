package badge

import (
	_ "embed"
	"strconv"
	"strings"
)

// badgeTemplate is healthchecks.io's templates/badge.svg, byte for byte;
// svgFields fills its {{ … }} placeholders the way Django's template
// engine does (values HTML-escaped).
//
//go:embed badge.svg.tmpl
var badgeTemplate string

// widths are healthchecks.io's per-character widths in pixels
// (hc/lib/badges.py, WIDTHS); every other character counts defaultWidth.
var widths = map[rune]int{
	'a': 7, 'b': 7, 'c': 6, 'd': 7, 'e': 6, 'f': 4, 'g': 7, 'h': 7, 'i': 3, 'j': 3, 'k': 7, 'l': 3, 'm': 10,
	'n': 7, 'o': 7, 'p': 7, 'q': 7, 'r': 4, 's': 6, 't': 5, 'u': 7, 'v': 7, 'w': 9, 'x': 6, 'y': 7, 'z': 7,
	'0': 7, '1': 6, '2': 7, '3': 7, '4': 7, '5': 7, '6': 7, '7': 7, '8': 7, '9': 7,
	'A': 8, 'B': 7, 'C': 8, 'D': 8, 'E': 7, 'F': 6, 'G': 9, 'H': 8, 'I': 3, 'J': 4, 'K': 7, 'L': 6, 'M': 10,
	'N': 8, 'O': 9, 'P': 6, 'Q': 9, 'R': 7, 'S': 7, 'T': 7, 'U': 8, 'V': 8, 'W': 11, 'X': 7, 'Y': 7, 'Z': 7,
	'-': 4, '_': 6,
}

const defaultWidth = 7

// colors are the SVG badge's fill by status (hc/lib/badges.py, COLORS).
var colors = map[Status]string{Up: "#4c1", Late: "#fe7d37", Down: "#e05d44"}

// textWidth is healthchecks.io's get_width: the sum of the widths of s's
// characters (code points, as Python iterates a str).
func textWidth(s string) int {
	total := 0
	for _, c := range s {
		w, ok := widths[c]
		if !ok {
			w = defaultWidth
		}
		total += w
	}
	return total
}

// escaper is Django's autoescape (django.utils.html.escape, which is
// Python's html.escape): the five characters that matter in markup.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")

// SVG returns the badge image of label and status, as healthchecks.io's
// get_badge_svg renders it: the same template, width table and colours, so
// the same label and status give the same bytes. label is escaped; an
// unknown status is drawn as Down.
func SVG(label string, status Status) []byte {
	color, ok := colors[status]
	if !ok {
		status, color = Down, colors[Down]
	}
	w1 := textWidth(label) + 10
	w2 := textWidth(string(status)) + 10
	r := strings.NewReplacer(
		"{{ width }}", strconv.Itoa(w1+w2),
		"{{ tag_width }}", strconv.Itoa(w1),
		"{{ status_width }}", strconv.Itoa(w2),
		"{{ tag_center_x }}", pyFloat(float64(w1)/2),
		"{{ status_center_x }}", pyFloat(float64(w1)+float64(w2)/2),
		"{{ tag }}", escaper.Replace(label),
		"{{ status }}", escaper.Replace(string(status)),
		"{{ color }}", color,
	)
	return []byte(r.Replace(badgeTemplate))
}

// pyFloat formats a multiple of 0.5 as Python's str(float) does ("22.0",
// "22.5"): the widths are integers, so the centres are halves at most.
func pyFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
