package badge

import (
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/model"
)

// FuzzParsePath feeds arbitrary paths (they come from anyone on the
// network) to ParsePath: never a panic; what it accepts is bounded and
// well formed; and the path Keys makes for an accepted tag parses back to
// the same request.
func FuzzParsePath(f *testing.F) {
	k := NewKeys(secretA)
	for _, s := range []string{
		"/badge/pk/abcdefgh-2/prod.svg", "/badge/pk/abcdefgh.json", "/badge/pk/abcdefgh/db%40dc1.shields",
		"/b/3/0b1c2d3e-4f50-8a61-b273-8495a6b7c8d9.json", "/badge/pk/abcdefgh/%.svg", "/badge/a/b/c/d.svg",
		k.TagPath("zürich", FormatSVG, ThreeStates), k.BadgeURLs(AllTags)["shields"], "/b/2/.svg", "/badge/pk/-2-2.svg",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, ok := ParsePath(path)
		if !ok {
			return
		}
		if len(path) > MaxPathLen || req.Key == "" || (req.Format != FormatSVG && req.Format != FormatJSON && req.Format != FormatShields) ||
			(req.States != TwoStates && req.States != ThreeStates) {
			t.Fatalf("ParsePath(%q) accepted %+v", path, req)
		}
		if req.Check {
			if !isUUID(req.Key) || req.Signature != "" || req.Tag != "" {
				t.Fatalf("ParsePath(%q) accepted %+v", path, req)
			}
			return
		}
		if len(req.Signature) != sigLen || req.Tag == "" || len(req.Tag) > model.MaxTagLen || !utf8.ValidString(req.Tag) {
			t.Fatalf("ParsePath(%q) accepted %+v", path, req)
		}
		p := k.TagPath(req.Tag, req.Format, req.States)
		u, err := url.Parse("http://127.0.0.1" + p)
		if err != nil {
			t.Fatalf("TagPath(%q) = %q: %v", req.Tag, p, err)
		}
		back, ok := ParsePath(u.Path)
		want := Request{Key: k.ProjectKey(), Signature: k.Signature(req.Tag), Tag: req.Tag, Format: req.Format, States: req.States}
		if !ok || back != want {
			t.Fatalf("TagPath(%q) = %q parses to %+v, %v; want %+v", req.Tag, p, back, ok, want)
		}
	})
}
