package badge

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	const key = "0b1c2d3e-4f50-8a61-b273-8495a6b7c8d9"
	for _, c := range []struct {
		path string
		want Request
	}{
		{"/badge/pk/abcdEFG_-2/prod.svg", Request{Key: "pk", Signature: "abcdEFG_", Tag: "prod", Format: FormatSVG, States: TwoStates}},
		{"/badge/pk/abcd-FG_/prod.json", Request{Key: "pk", Signature: "abcd-FG_", Tag: "prod", Format: FormatJSON, States: ThreeStates}},
		{"/badge/pk/abcdefgh/db%40dc1.shields", Request{Key: "pk", Signature: "abcdefgh", Tag: "db@dc1", Format: FormatShields, States: ThreeStates}},
		{"/badge/pk/abcdefgh/v1.2.svg", Request{Key: "pk", Signature: "abcdefgh", Tag: "v1.2", Format: FormatSVG, States: ThreeStates}},
		{"/badge/pk/abcdefgh/zürich.svg", Request{Key: "pk", Signature: "abcdefgh", Tag: "zürich", Format: FormatSVG, States: ThreeStates}},
		{"/badge/pk/abcdefgh-2.svg", Request{Key: "pk", Signature: "abcdefgh", Tag: AllTags, Format: FormatSVG, States: TwoStates}},
		{"/badge/pk/abcdefgh.json", Request{Key: "pk", Signature: "abcdefgh", Tag: AllTags, Format: FormatJSON, States: ThreeStates}},
		{"/badge/pk/abcdefgh/%2A.json", Request{Key: "pk", Signature: "abcdefgh", Tag: AllTags, Format: FormatJSON, States: ThreeStates}},
		{"/b/2/" + key + ".svg", Request{Check: true, Key: key, Format: FormatSVG, States: TwoStates}},
		{"/b/3/" + key + ".shields", Request{Check: true, Key: key, Format: FormatShields, States: ThreeStates}},
	} {
		got, ok := ParsePath(c.path)
		if !ok || got != c.want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", c.path, got, ok, c.want)
		}
	}
}

func TestParsePathRejects(t *testing.T) {
	const key = "0b1c2d3e-4f50-8a61-b273-8495a6b7c8d9"
	for _, p := range []string{
		"", "/", "/badge/", "/badge/pk", "/badge/pk/abcdefgh", "/badge/pk/abcdefgh.png", "/badge/pk/abcdefgh.svgfoo",
		"/badge/pk/abcdefgh/prod.jsonfoo", "/badge/pk/abcdefgh/prod", "/badge/pk/abcdefgh/.svg", "/badge/pk/abcdefgh/prod.",
		"/badge/pk/abcdefg/prod.svg", "/badge/pk/abcdefghi/prod.svg", "/badge/pk/abcdefgh-3/prod.svg", "/badge/pk/abcde-2/prod.svg",
		"/badge/pk/abcdefgh-2-2/prod.svg", "/badge/p.k/abcdefgh/prod.svg", "/badge//abcdefgh/prod.svg", "/badge/pk/abcd.fgh/prod.svg",
		"/badge/pk/abcdefgh/a b.svg", "/badge/pk/abcdefgh/a@b.svg", "/badge/pk/abcdefgh/a%zz.svg", "/badge/pk/abcdefgh/%ff.svg",
		"/badge/pk/abcdefgh/a/b.svg", "/badge/pk/abcdefgh/" + strings.Repeat("a", 65) + ".svg",
		"/badge/pk/abcdefgh/" + strings.Repeat("%41", 200) + ".svg",
		"/b/1/" + key + ".svg", "/b/4/" + key + ".svg", "/b/23/" + key + ".svg", "/b/2/" + strings.ToUpper(key) + ".svg",
		"/b/2/" + key + ".png", "/b/2/" + key, "/b/2/" + key[:35] + ".svg", "/b/2/x" + key + ".svg", "/b/2/" + key + "/x.svg",
		"/b/" + key + ".svg", "/b/2", "/ping/" + key,
	} {
		if got, ok := ParsePath(p); ok {
			t.Errorf("ParsePath(%q) = %+v, want rejected", p, got)
		}
	}
}
