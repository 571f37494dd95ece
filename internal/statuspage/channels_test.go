package statuspage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
)

// The authorised view shows each check's channels and warns where a check
// has none or names one that is not configured: a mark on the row, a
// count above the list, the list and the warnings on the detail page, and
// both in status.json. The public view shows no channel and no warning.
func TestChannelsAndWarnings(t *testing.T) {
	chans := []model.Channel{{Name: "ops", Kind: "webhook"}, {Name: "pager-alice", Kind: "email"}}
	f := statuspagetest.New(t, statuspage.Options{Public: true, Channels: func() []model.Channel { return chans }}, true)
	ctx := context.Background()
	create := func(name string, r model.Routes) {
		t.Helper()
		if _, err := f.Engine.Create(ctx, model.Check{Name: name, Kind: model.KindPush, Routes: r,
			Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}); err != nil {
			t.Fatal(err)
		}
	}
	create("routed", model.Routes{Down: []string{"ops", "pager-alice"}, Up: []string{"ops"}})
	create("silent", model.Routes{})
	create("renamed", model.RouteAll([]string{"old-ops"}))

	_, body, _ := f.Get(t, "", true)
	for _, want := range []string{
		`<p id=chanwarn class="banner warn">1 check has no channels: it never alerts. 1 check names a channel that is not configured: those alerts fail.`,
		`class="ck s-new cw" title="no channels: this check never alerts"`,
		`class="ck s-new cw" title="channel &#34;old-ops&#34; is not configured: its alerts fail"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("authorised overview lacks %s:\n%s", want, body)
		}
	}
	if n := strings.Count(body, " cw\""); n != 2 {
		t.Errorf("%d rows marked, want 2", n)
	}
	_, detail, _ := f.Get(t, detailPath(t, body, "routed"), true)
	if want := `<dt>Channels</dt><dd><span class=tag>ops</span> <small>(down, up)</small>, <span class=tag>pager-alice</span> <small>(down)</small></dd>`; !strings.Contains(detail, want) || strings.Contains(detail, "cwarn") {
		t.Errorf("detail of a routed check, want %s:\n%s", want, detail)
	}
	_, detail, _ = f.Get(t, detailPath(t, body, "silent"), true)
	if !strings.Contains(detail, `<dt>Channels</dt><dd>none</dd>`) || !strings.Contains(detail, `<dd class="err cwarn">no channels: this check never alerts</dd>`) {
		t.Errorf("detail of a check without channels:\n%s", detail)
	}
	_, js, _ := f.Get(t, "status.json", true)
	var out struct {
		Checks []struct {
			Name     string   `json:"name"`
			Channels []string `json:"channels"`
			Warnings []string `json:"warnings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range out.Checks {
		got[c.Name] = strings.Join(c.Channels, ",") + "|" + strings.Join(c.Warnings, ";")
	}
	if got["routed"] != "ops,pager-alice|" || got["silent"] != "|no channels: this check never alerts" ||
		got["renamed"] != `old-ops|channel "old-ops" is not configured: its alerts fail` {
		t.Errorf("status.json: %v", got)
	}

	// The public view: no channel names, no warnings.
	_, pub, _ := f.Get(t, "", false)
	_, pubDetail, _ := f.Get(t, detailPath(t, pub, "routed"), false)
	_, pubJS, _ := f.Get(t, "status.json", false)
	for _, page := range []string{pub, pubDetail, pubJS} {
		for _, leak := range []string{"ops", "pager-alice", "chanwarn", " cw", "never alerts", "channels"} {
			if strings.Contains(page, leak) {
				t.Errorf("public view shows %q:\n%s", leak, page)
			}
		}
	}
}

// The live stream sends each view its own row: the authorised stream the
// row marked for its missing channels, the public one the plain row.
func TestLiveStreamChannelWarnings(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true, FlushInterval: 10 * time.Millisecond,
		Channels: func() []model.Channel { return nil }}, false)
	c := f.Create(t, "worker")
	f.Ping(t, c.ID, model.PingSuccess, "")
	f.Get(t, "", true) // renders the rows the streams then update
	type streamRow struct {
		auth bool
		html string
	}
	rowCh := make(chan streamRow, 2)
	rows := map[bool]string{}
	for _, auth := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.Server.URL+"/status/events", nil)
		if auth {
			req.Header.Set("X-Api-Key", statuspagetest.APIKey)
		}
		res, err := f.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		waitLine(t, sc, ": hello")
		go func(auth bool, sc *bufio.Scanner) {
			for sc.Scan() {
				var m struct{ Rows []json.RawMessage }
				if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok && json.Unmarshal([]byte(line), &m) == nil {
					for _, r := range m.Rows {
						if strings.Contains(string(r), `"s":"down"`) {
							rowCh <- streamRow{auth, string(r)}
							return
						}
					}
				}
			}
		}(auth, sc)
	}
	f.Ping(t, c.ID, model.PingFail, "")
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for range 2 {
		select {
		case r := <-rowCh:
			rows[r.auth] = r.html
		case <-timeout.C:
			t.Fatalf("rows received: %v", rows)
		}
	}
	if !strings.Contains(rows[true], `"w":"no channels: this check never alerts"`) {
		t.Errorf("authorised stream: %s", rows[true])
	}
	if strings.Contains(rows[false], `"w"`) || strings.Contains(rows[false], "never alerts") || !strings.Contains(rows[false], "worker") {
		t.Errorf("public stream: %s", rows[false])
	}
}
