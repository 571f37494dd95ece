package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
)

// names lists the names of a list reply's checks, and its next_cursor.
func names(t *testing.T, r reply) ([]string, string) {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	m := r.json(t)
	var out []string
	for _, c := range m["checks"].([]any) {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	next, _ := m["next_cursor"].(string)
	return out, next
}

// TestListFilters: Vitals' ?name=, ?name_prefix= and ?status= select
// with ?tag= and paging, and /counts counts what the list would show.
func TestListFilters(t *testing.T) {
	f := newFixture(t, api.Options{})
	ctx := context.Background()
	for _, c := range []model.Check{
		{Name: "Backup-DB", Kind: model.KindPush, Tags: []string{"prod", "db"}},
		{Name: "backup-web", Kind: model.KindPush, Tags: []string{"prod", "web"}},
		{Name: "cleanup", Kind: model.KindPush, Tags: []string{"dev"}},
		{Name: "report", Kind: model.KindPush, Tags: []string{"prod"}},
	} {
		got, err := f.e.Create(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name == "backup-web" || c.Name == "cleanup" {
			if _, err := f.e.Ping(ctx, got.ID, model.Ping{Kind: model.PingFail}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"Backup-DB", "backup-web", "cleanup", "report"}},
		{"name=backup", []string{"Backup-DB", "backup-web"}},
		{"name=UP", []string{"Backup-DB", "backup-web", "cleanup"}},
		{"name_prefix=BACK", []string{"Backup-DB", "backup-web"}},
		{"name_prefix=up", nil},
		{"status=down", []string{"backup-web", "cleanup"}},
		{"status=down&status=new", []string{"Backup-DB", "backup-web", "cleanup", "report"}},
		{"tag=prod&status=down", []string{"backup-web"}},
		{"tag=prod&tag=db", []string{"Backup-DB"}},
		{"tag=prod&status=new&name=r", []string{"report"}},
		{"tag=nope", nil},
		{"tag=prod&limit=1&name=backup", []string{"Backup-DB"}},
	} {
		got, _ := names(t, f.do(t, "GET", "/api/v3/checks/?"+tc.query, roKey, ""))
		if !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"status=bogus", "name=" + string(make([]byte, 201))} {
		if r := f.do(t, "GET", "/api/v3/checks/?"+url.PathEscape(q), roKey, ""); r.code != 400 {
			t.Errorf("?%.20s: %d %s, want 400", q, r.code, r.body)
		}
	}
	counts := func(query string) map[string]any {
		r := f.do(t, "GET", "/api/v3/counts?"+query, roKey, "")
		if r.code != 200 {
			t.Fatalf("counts?%s: %d %s", query, r.code, r.body)
		}
		return r.json(t)
	}
	c := counts("")
	st := c["statuses"].(map[string]any)
	if c["total"] != 4.0 || st["down"] != 2.0 || st["new"] != 2.0 || st["up"] != 0.0 || len(st) != 7 {
		t.Errorf("counts: %v", c)
	}
	c = counts("tag=prod&name_prefix=backup")
	st = c["statuses"].(map[string]any)
	if c["total"] != 2.0 || st["down"] != 1.0 || st["new"] != 1.0 {
		t.Errorf("counts of prod backups: %v", c)
	}
	if r := f.do(t, "GET", "/api/v3/counts?status=up", roKey, ""); r.code != 400 {
		t.Errorf("counts?status=: %d, want 400", r.code)
	}
	if r := f.do(t, "GET", "/api/v3/counts", "", ""); r.code != 401 {
		t.Errorf("counts without a key: %d, want 401", r.code)
	}
}

// TestListPagesThroughChanges pages through the list (all, and one tag)
// while checks are created and deleted between pages: the index is
// rebuilt, and the cursor goes on after the last check shown, so that
// each check still there is shown once, in order.
func TestListPagesThroughChanges(t *testing.T) {
	f := newFixture(t, api.Options{})
	ctx := context.Background()
	var ids []model.CheckID
	for i := range 25 {
		tags := []string{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		c, err := f.e.Create(ctx, model.Check{Name: fmt.Sprintf("job-%02d", i), Kind: model.KindPush, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"", 25 - 1 + 1}, {"tag=even&", 13 - 1 + 1}} {
		var seen []string
		cursor, pages := "", 0
		for {
			page, next := names(t, f.do(t, "GET", "/api/v3/checks/?"+tc.query+"limit=4&cursor="+cursor, roKey, ""))
			seen = append(seen, page...)
			pages++
			if pages == 2 { // change the set between pages: one gone ahead, one added at the end
				if err := f.e.Delete(ctx, ids[20]); err != nil {
					t.Fatal(err)
				}
				c, err := f.e.Create(ctx, model.Check{Name: "job-new-" + tc.query, Kind: model.KindPush, Tags: []string{"all", "even"}})
				if err != nil {
					t.Fatal(err)
				}
				ids[20] = c.ID
			}
			if next == "" {
				break
			}
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			cursor = next
		}
		if len(seen) != tc.want || !slices.IsSorted(seen[:len(seen)-1]) || slices.Contains(seen, "job-20") {
			t.Errorf("?%s: %d checks %q, want %d in order without job-20", tc.query, len(seen), seen, tc.want)
		}
		if n := len(slices.Compact(slices.Clone(seen))); n != len(seen) {
			t.Errorf("?%s: a check shown twice: %q", tc.query, seen)
		}
	}
}

// TestListIndexFollowsChanges: after creates, renames, tag changes and
// deletes, one at a time (the index is updated in place) or many at once
// (rebuilt), the list and its tag filter answer what the engine holds.
func TestListIndexFollowsChanges(t *testing.T) {
	f := newFixture(t, api.Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 1))
	tagSets := [][]string{nil, {"a"}, {"b"}, {"a", "b"}, {"c", "a"}}
	n := 0
	create := func() {
		n++
		if _, err := f.e.Create(ctx, model.Check{Name: fmt.Sprintf("c%03d", n), Kind: model.KindPush, Tags: tagSets[rng.IntN(len(tagSets))]}); err != nil {
			t.Fatal(err)
		}
	}
	// want lists the engine's checks with tag (any when ""), in list order.
	want := func(tag string) []string {
		all := f.e.List()
		slices.SortFunc(all, func(x, y model.CheckState) int {
			if c := x.Check.Created.Compare(y.Check.Created); c != 0 {
				return c
			}
			return strings.Compare(model.UniqueKey(x.Check.ID), model.UniqueKey(y.Check.ID))
		})
		var out []string
		for _, cs := range all {
			if tag == "" || slices.Contains(cs.Check.Tags, tag) {
				out = append(out, cs.Check.Name)
			}
		}
		return out
	}
	compare := func(step string) {
		t.Helper()
		for _, tag := range []string{"", "a", "b", "c"} {
			got, _ := names(t, f.do(t, "GET", "/api/v3/checks/?tag="+tag, roKey, ""))
			if tag == "" {
				got, _ = names(t, f.do(t, "GET", "/api/v3/checks/", roKey, ""))
			}
			if w := want(tag); !slices.Equal(got, w) {
				t.Fatalf("%s, tag %q: %q, want %q", step, tag, got, w)
			}
		}
	}
	for range 40 { // more changes than are applied one by one: a rebuild
		create()
	}
	compare("after 40 creates")
	for step := range 60 {
		all := f.e.List()
		c := all[rng.IntN(len(all))].Check
		switch rng.IntN(4) {
		case 0:
			create()
		case 1:
			if err := f.e.Delete(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		case 2:
			c.Tags = tagSets[rng.IntN(len(tagSets))]
			if _, err := f.e.Update(ctx, c); err != nil {
				t.Fatal(err)
			}
		case 3:
			c.Name += "x"
			if _, err := f.e.Update(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		compare(fmt.Sprintf("step %d", step))
	}
}
