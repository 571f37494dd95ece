package model

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
)

func TestParseChannelSpec(t *testing.T) {
	all := []Channel{
		{ID: uuid.MustParse("11111111-1111-4111-8111-111111111111"), Name: "ops", Kind: "webhook"},
		{ID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), Name: "chat", Kind: "slack"},
		{ID: uuid.MustParse("33333333-3333-4333-8333-333333333333"), Name: "restart-db", Kind: "docker"},
		{ID: uuid.MustParse("44444444-4444-4444-8444-444444444444"), Name: "dup", Kind: "email"},
		{ID: uuid.MustParse("55555555-5555-4555-8555-555555555555"), Name: "dup", Kind: "slack"},
	}
	for _, tc := range []struct {
		spec string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"*", []string{"chat", "dup", "ops"}, ""},
		{"ops", []string{"ops"}, ""},
		{"ops,chat,ops", []string{"chat", "ops"}, ""},
		{"22222222-2222-4222-8222-222222222222,restart-db", []string{"chat", "restart-db"}, ""},
		{"22222222-2222-4222-8222-222222222222", []string{"chat"}, ""},
		{"ops,", nil, "invalid channels: empty channel identifier"},
		{"nope", nil, `invalid channels: invalid channel identifier: "nope"`},
		{"dup", nil, `invalid channels: non-unique channel identifier: "dup"`},
		{"44444444-4444-4444-8444-444444444444", []string{"dup"}, ""},
	} {
		got, err := ParseChannelSpec(tc.spec, all)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrChannelSpec) {
				t.Errorf("%q: err %v, want %s", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
}

func TestRoutes(t *testing.T) {
	r := RouteAll([]string{"b", "a"})
	if got := r.For(StatusUp, StatusDown); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("down: %v", got)
	}
	if got := r.For(StatusNew, StatusUp); got != nil {
		t.Errorf("new→up is not news: %v", got)
	}
	if got := r.For(StatusFlapping, StatusUp); len(got) != 2 {
		t.Errorf("flapping→up: %v", got)
	}
	if got := (Routes{Down: []string{"x"}, Up: []string{"y", "x"}}).Names(); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("Names %v", got)
	}
	all := []Channel{{Name: "a"}}
	if w := (Check{}).RouteWarnings(all); len(w) != 1 {
		t.Errorf("no channels: %v", w)
	}
	if w := (Check{Routes: RouteAll([]string{"a", "gone"})}).RouteWarnings(all); len(w) != 1 || w[0] != `channel "gone" is not configured: its alerts fail` {
		t.Errorf("unknown: %v", w)
	}
}
