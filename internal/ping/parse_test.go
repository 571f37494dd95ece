package ping

import (
	"errors"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
)

func TestParsePath(t *testing.T) {
	id := "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
	cases := []struct {
		in   string
		kind model.PingKind
		exit int
		slug bool
		err  error
	}{
		{id, model.PingSuccess, -1, false, nil},
		{id + "/", model.PingSuccess, -1, false, nil},
		{id + "/start", model.PingStart, -1, false, nil},
		{id + "/fail", model.PingFail, -1, false, nil},
		{id + "/log", model.PingLog, -1, false, nil},
		{id + "/0", model.PingExitStatus, 0, false, nil},
		{id + "/007", model.PingExitStatus, 7, false, nil},
		{id + "/255", model.PingExitStatus, 255, false, nil},
		{id + "/256", model.PingExitStatus, -1, false, ErrBadExitStatus},
		{"key/slug", model.PingSuccess, -1, true, nil},
		{"key/slug/start", model.PingStart, -1, true, nil},
		{"key/slug/42", model.PingExitStatus, 42, true, nil},
		{"key/slug/1000", model.PingExitStatus, -1, true, ErrBadExitStatus},
		{"Key_A-1/slug", model.PingSuccess, -1, true, nil}, // ping keys take capitals
		{"key/" + strings.Repeat("s", model.MaxSlugLen), model.PingSuccess, -1, true, nil},
		{"key/Slug", model.PingSuccess, -1, true, ErrBadSlug},
		{"key/Slug/fail", model.PingFail, -1, true, ErrBadSlug},
		{"key/Slug/1000", model.PingExitStatus, -1, true, ErrBadSlug}, // the slug is answered first
		{"key/" + strings.Repeat("s", model.MaxSlugLen+1), model.PingSuccess, -1, true, ErrBadSlug},
		{"key/Slug/x", "", 0, false, ErrNoEndpoint},
		{"key/sl.ug", "", 0, false, ErrNoEndpoint},
		{"", "", 0, false, ErrNoEndpoint},
		{"key", "", 0, false, ErrNoEndpoint},
		{"key/", "", 0, false, ErrNoEndpoint},
		{"key/slug/", "", 0, false, ErrNoEndpoint},
		{"key/slug/x", "", 0, false, ErrNoEndpoint},
		{id + "/start/x", "", 0, false, ErrNoEndpoint},
		{id + "/-1", "", 0, false, ErrNoEndpoint},
		{id + "/+1", "", 0, false, ErrNoEndpoint},
		{"{" + id + "}", "", 0, false, ErrNoEndpoint},
		{"urn:uuid:" + id, "", 0, false, ErrNoEndpoint},
		{strings.ReplaceAll(id, "-", ""), "", 0, false, ErrNoEndpoint},
		{"ke y/slug", "", 0, false, ErrNoEndpoint},
		{"a/b/c/d", "", 0, false, ErrNoEndpoint},
	}
	for _, tc := range cases {
		got, err := ParsePath(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if errors.Is(err, ErrNoEndpoint) {
			continue
		}
		if got.Kind != tc.kind || got.ExitStatus != tc.exit || got.BySlug() != tc.slug {
			t.Errorf("%q: %+v", tc.in, got)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278/start", "key/slug/12", "a/b/c", "", "//", "x/y/256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePath(s)
		if err != nil && !errors.Is(err, ErrNoEndpoint) && !errors.Is(err, ErrBadExitStatus) && !errors.Is(err, ErrBadSlug) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil {
			if !got.BySlug() {
				if _, ok := parseUUID(strings.SplitN(s, "/", 2)[0]); !ok {
					t.Fatalf("%q: uuid target without a uuid: %+v", s, got)
				}
			} else if _, ok := parseUUID(got.PingKey); ok {
				t.Fatalf("%q: uuid taken as a ping key: %+v", s, got)
			}
			if got.Kind == model.PingExitStatus != (got.ExitStatus >= 0) || got.ExitStatus > 255 {
				t.Fatalf("%q: exit status %d for kind %s", s, got.ExitStatus, got.Kind)
			}
			if got.BySlug() && (!model.SlugShape(got.PingKey) || !model.ValidSlug(got.Slug)) {
				t.Fatalf("%q: bad slug accepted %+v", s, got)
			}
		}
	})
}
