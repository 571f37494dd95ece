package probe

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in   string
		want StatusRanges
		str  string
	}{
		{"200", StatusRanges{{200, 200}}, "200"},
		{"200-299", StatusRanges{{200, 299}}, "200-299"},
		{"200-299,301", StatusRanges{{200, 299}, {301, 301}}, "200-299,301"},
		{" 200 , 204 - 206 ", StatusRanges{{200, 200}, {204, 206}}, "200,204-206"},
		{"503-503", StatusRanges{{503, 503}}, "503"},
	}
	for _, tt := range tests {
		got, err := ParseStatusRanges(tt.in)
		if err != nil || !slices.Equal(got, tt.want) || got.String() != tt.str {
			t.Errorf("ParseStatusRanges(%q) = %v (%q), %v; want %v (%q)", tt.in, got, got.String(), err, tt.want, tt.str)
		}
	}
}

func TestParseStatusRangesErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "bad status list: empty"},
		{" ", "bad status list: empty"},
		{"200,", `bad status list "200,": empty item`},
		{"abc", `bad status list "abc": "abc" is not a status code (want 100-599)`},
		{"2000", `bad status list "2000": "2000" is not a status code (want 100-599)`},
		{"099", `bad status list "099": "099" is not a status code (want 100-599)`},
		{"600", `bad status list "600": "600" is not a status code (want 100-599)`},
		{"+200", `bad status list "+200": "+200" is not a status code (want 100-599)`},
		{"200-", `bad status list "200-": "" is not a status code (want 100-599)`},
		{"299-200", `bad status list "299-200": range 299-200 is backwards`},
		{"200-299-300", `bad status list "200-299-300": "299-300" is not a status code (want 100-599)`},
		{strings.Repeat("200,", 64) + "200", "bad status list: more than 64 items"},
	}
	for _, tt := range tests {
		_, err := ParseStatusRanges(tt.in)
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrBadStatus) {
			t.Errorf("ParseStatusRanges(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestStatusRangesContains(t *testing.T) {
	var def StatusRanges
	for code, want := range map[int]bool{100: false, 199: false, 200: true, 302: true, 399: true, 400: false, 503: false} {
		if def.Contains(code) != want {
			t.Errorf("default Contains(%d) = %v, want %v", code, !want, want)
		}
	}
	if def.String() != "200-399" {
		t.Errorf("default String() = %q", def.String())
	}
}

func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200", "200-299,301", " 200 , 204-206", "", "-", "1-2-3", "200,,", "999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseStatusRanges(in)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("error %v does not wrap ErrBadStatus", err)
			}
			return
		}
		for _, r := range got {
			if r.Min < 100 || r.Max > 599 || r.Min > r.Max {
				t.Fatalf("%q: bad range %v", in, r)
			}
		}
		again, err := ParseStatusRanges(got.String())
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q: round trip via %q = %v, %v", in, got.String(), again, err)
		}
	})
}
