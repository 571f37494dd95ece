package badge

import (
	"bytes"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
)

var (
	secretA = bytes.Repeat([]byte{0xa5}, 32)
	secretB = bytes.Repeat([]byte{0x5a}, 32)
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestKeysStable: the keys depend on the secret only (the same after a
// restart and on every replica), and differ between installations.
func TestKeysStable(t *testing.T) {
	id := model.NewCheckID()
	a, a2, b := NewKeys(secretA), NewKeys(bytes.Clone(secretA)), NewKeys(secretB)
	if a.ProjectKey() != a2.ProjectKey() || a.Signature("prod") != a2.Signature("prod") || a.CheckKey(id) != a2.CheckKey(id) {
		t.Fatal("the same secret gave different keys")
	}
	if a.ProjectKey() == b.ProjectKey() || a.Signature("prod") == b.Signature("prod") || a.CheckKey(id) == b.CheckKey(id) {
		t.Fatal("two secrets gave the same keys")
	}
	if a.Signature("prod") == a.Signature("prod2") || a.CheckKey(id) == a.CheckKey(model.NewCheckID()) {
		t.Fatal("two tags or checks share a key")
	}
	for _, k := range []string{a.ProjectKey(), a.CheckKey(id)} {
		if !uuidRE.MatchString(k) {
			t.Errorf("key %q is not a version 8 UUID", k)
		}
	}
	if sig := a.Signature("prod"); len(sig) != sigLen || !isSlug(sig) {
		t.Errorf("signature %q: want %d URL-safe characters", sig, sigLen)
	}
}

// TestNoUUIDInBadges: no badge key or URL carries a check's UUID (the
// secret of its ping URL) in any spelling, nor its unique key.
func TestNoUUIDInBadges(t *testing.T) {
	k := NewKeys(secretA)
	for range 200 {
		id := model.NewCheckID()
		u := id.UUID()
		forms := []string{id.Secret(), hex.EncodeToString(u[:]), strings.ToUpper(id.Secret()), id.UniqueKey()}
		outs := []string{k.CheckKey(id), k.CheckBadgeURL(id), k.ProjectKey()}
		for _, f := range []Format{FormatSVG, FormatJSON, FormatShields} {
			outs = append(outs, k.CheckPath(id, f, ThreeStates))
		}
		for _, o := range outs {
			for _, f := range forms {
				if strings.Contains(o, f) || strings.Contains(o, f[:16]) {
					t.Fatalf("%q reveals the check's id (%q)", o, f)
				}
			}
		}
		if k.CheckKey(id) == id.Secret() {
			t.Fatal("check key equals the UUID")
		}
	}
}

// TestBadgeURLs: healthchecks.io's six formats, with its URL shapes.
func TestBadgeURLs(t *testing.T) {
	k := NewKeys(secretA)
	pk, sig := k.ProjectKey(), k.Signature("prod")
	want := map[string]string{
		"svg": "/badge/" + pk + "/" + sig + "-2/prod.svg", "svg3": "/badge/" + pk + "/" + sig + "/prod.svg",
		"json": "/badge/" + pk + "/" + sig + "-2/prod.json", "json3": "/badge/" + pk + "/" + sig + "/prod.json",
		"shields": "/badge/" + pk + "/" + sig + "-2/prod.shields", "shields3": "/badge/" + pk + "/" + sig + "/prod.shields",
	}
	got := k.BadgeURLs("prod")
	if len(got) != len(want) {
		t.Fatalf("BadgeURLs = %v", got)
	}
	for f, p := range want {
		if got[f] != p {
			t.Errorf("%s: %q, want %q", f, got[f], p)
		}
	}
	all := k.BadgeURLs(AllTags)
	if s := k.Signature(AllTags); all["svg"] != "/badge/"+pk+"/"+s+"-2.svg" || all["json3"] != "/badge/"+pk+"/"+s+".json" {
		t.Errorf("BadgeURLs(*) = %v", all)
	}
	id := model.NewCheckID()
	if got, want := k.CheckBadgeURL(id), "/b/2/"+k.CheckKey(id)+".svg"; got != want {
		t.Errorf("CheckBadgeURL = %q, want %q", got, want)
	}
}

// TestTagEscaping: tags are escaped as healthchecks.io's URLs carry them
// (hc's test_it_handles_special_characters: "db@dc1" is "db%2540dc1"),
// and every path parses back, once decoded as net/http does, to its tag.
func TestTagEscaping(t *testing.T) {
	k := NewKeys(secretA)
	for tag, want := range map[string]string{
		"db@dc1": "db%2540dc1", "prod": "prod", "a b": "a%2520b", "50%": "50%2525", "x/y": "x%252Fy",
		"~a_b.c-d": "~a_b.c-d", "zürich": "z%25C3%25BCrich", "*": "%252A",
	} {
		if got := quoteTag(tag); got != want {
			t.Errorf("quoteTag(%q) = %q, want %q", tag, got, want)
		}
		if tag == AllTags {
			continue
		}
		p := k.TagPath(tag, FormatJSON, TwoStates)
		u, err := url.Parse("http://127.0.0.1" + p)
		if err != nil {
			t.Fatal(err)
		}
		req, ok := ParsePath(u.Path)
		if !ok || req.Tag != tag || req.Signature != k.Signature(tag) || req.States != TwoStates || req.Format != FormatJSON || req.Key != k.ProjectKey() {
			t.Errorf("%q: ParsePath(%q) = %+v, %v", tag, u.Path, req, ok)
		}
	}
}
