package statuspage_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
)

type rowsAnswer struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Rows   []struct {
		ID     string `json:"id"`
		Name   string `json:"n"`
		Status string `json:"s"`
		Days   string `json:"d"`
		Warn   string `json:"w"`
	} `json:"rows"`
}

func getRows(t *testing.T, f *statuspagetest.Fixture, q url.Values, auth bool) rowsAnswer {
	t.Helper()
	code, body, _ := f.Get(t, "checks.json?"+q.Encode(), auth)
	var a rowsAnswer
	if err := json.Unmarshal([]byte(body), &a); code != 200 || err != nil {
		t.Fatalf("checks.json?%s: %d %v\n%s", q.Encode(), code, err, body)
	}
	return a
}

// TestListFiltersAndPages: the overview renders one page of the list
// (links to the others), the URL's q, tag and status filter it, checks.json
// serves the same rows by offset, and bad or unbounded parameters are 400s.
func TestListFiltersAndPages(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true, PublicTag: "public"}, false)
	var down model.Check
	for i := range 120 {
		tags := []string{"team-" + strconv.Itoa(i%3)}
		if i%2 == 0 {
			tags = append(tags, "public")
		}
		c := f.Create(t, "alpha "+strconv.Itoa(i+1), tags...)
		f.Ping(t, c.ID, model.PingSuccess, "")
		if i == 9 {
			down = c // "alpha 10", public
		}
	}
	f.Ping(t, down.ID, model.PingFail, "")

	// The first screen: the summary, the down check at the top, one page.
	code, body, _ := f.Get(t, "", true)
	if code != 200 || strings.Count(body, `<li data-id=`) != statuspage.PageSize+1 || !strings.Contains(body, "Needs attention <span class=nattn>(1)</span>") {
		t.Fatalf("first screen: %d, %d rows\n%s", code, strings.Count(body, `<li data-id=`), body)
	}
	if !strings.Contains(body, `rel=next href="?page=2"`) || strings.Contains(body, `rel=prev`) {
		t.Errorf("first page's links:\n%s", body)
	}
	// Groups of 40 and 60 ("public"): collapsed, with a link to their filter.
	if n := strings.Count(body, `<details class="grp">`); n != 4 || !strings.Contains(body, `href="?tag=team-0"`) {
		t.Errorf("%d collapsed groups\n%s", n, body)
	}
	// Page 3: rows 101-120, a link back.
	_, body, _ = f.Get(t, "?page=3", true)
	if strings.Count(body, `<li data-id=`) != 20+1 || !strings.Contains(body, `rel=prev href="?page=2"`) || strings.Contains(body, "rel=next") {
		t.Errorf("page 3:\n%s", body)
	}
	// Filters, as a shared link would give them; kept in the form.
	_, body, _ = f.Get(t, "?q=ALPHA+1&status=down", true)
	if strings.Count(body, `<li data-id=`) != 1+1 || !strings.Contains(body, `value="ALPHA 1"`) || !strings.Contains(body, `<option value="down" selected>`) {
		t.Errorf("filtered:\n%s", body)
	}
	// checks.json: "alpha 1", "alpha 10"-"alpha 19", "alpha 100"-"alpha 120".
	a := getRows(t, f, url.Values{"q": {"alpha 1"}, "limit": {"500"}}, true)
	if a.Total != 32 || len(a.Rows) != 32 || a.Rows[0].Name != "alpha 1" || len(a.Rows[0].Days) != statuspage.Days {
		t.Errorf("q: %+v", a)
	}
	a = getRows(t, f, url.Values{"offset": {"100"}, "limit": {"30"}}, true)
	if a.Total != 120 || len(a.Rows) != 20 || a.Offset != 100 {
		t.Errorf("offset: total %d, %d rows", a.Total, len(a.Rows))
	}
	a = getRows(t, f, url.Values{"tag": {"team-1"}, "status": {"up"}}, true)
	if a.Total != 40 || len(a.Rows) != 40 {
		t.Errorf("tag: total %d, %d rows", a.Total, len(a.Rows))
	}
	a = getRows(t, f, url.Values{"status": {"down,late"}}, true)
	if a.Total != 1 || a.Rows[0].ID != statuspage.CheckPath(down.ID)[len("check/"):] {
		t.Errorf("status: %+v", a)
	}
	// The public view: its checks only, and no tags: the tag filter is
	// ignored (visitors may not probe tags) and there are no groups.
	a = getRows(t, f, url.Values{"tag": {"team-1"}, "limit": {"500"}}, false)
	if a.Total != 60 {
		t.Errorf("public, tag ignored: total %d", a.Total)
	}
	_, body, _ = f.Get(t, "?tag=team-1", false)
	if strings.Contains(body, "team-") || strings.Contains(body, "grp") || strings.Contains(body, "name=tag") {
		t.Errorf("the public view shows tags:\n%s", body)
	}

	for _, bad := range []string{"page=0", "page=x", "page=2000000", "status=bogus", "q=" + strings.Repeat("x", 201), "q=%ff"} {
		if code, body, _ := f.Get(t, "?"+bad, true); code != 400 {
			t.Errorf("GET /?%s: %d %s", bad, code, body)
		}
	}
	for _, bad := range []string{"limit=0", "limit=501", "offset=-1", "offset=x", "status=up,nope"} {
		if code, body, _ := f.Get(t, "checks.json?"+bad, true); code != 400 {
			t.Errorf("GET checks.json?%s: %d %s", bad, code, body)
		}
	}
}
