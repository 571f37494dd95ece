package browsertest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/testenv"
)

// maxFirstScreen is the transfer budget of the overview's first screen
// (issue 14): the document, the stylesheet, the script and any rows the
// script fetches before the page is loaded.
const maxFirstScreen = 300_000

// firstScreen is what the page measures of its own loading.
type firstScreen struct {
	Transfer  int     `json:"transfer"`  // bytes over the wire, headers included
	Document  int     `json:"document"`  // the HTML document's share
	FCP       float64 `json:"fcp_ms"`    // first contentful paint
	LCP       float64 `json:"lcp_ms"`    // largest contentful paint: the first meaningful paint
	TTFB      float64 `json:"ttfb_ms"`   // the document's first byte (server time and loopback)
	DCL       float64 `json:"dcl_ms"`    // DOMContentLoaded
	Load      float64 `json:"load_ms"`   // load event end
	Nodes     int     `json:"nodes"`     // elements in the document
	ListItems int     `json:"listItems"` // rows of the list in the DOM
}

const measureJS = `new Promise(resolve => {
  const done = lcp => {
    const nav = performance.getEntriesByType("navigation")[0];
    let transfer = nav.transferSize;
    for (const r of performance.getEntriesByType("resource")) if (r.responseEnd <= nav.loadEventEnd) transfer += r.transferSize;
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    resolve({transfer, document: nav.transferSize, fcp_ms: fcp ? fcp.startTime : -1, lcp_ms: lcp,
      ttfb_ms: nav.responseStart, dcl_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
      nodes: document.getElementsByTagName("*").length, listItems: document.querySelectorAll("#checks > li").length});
  };
  new PerformanceObserver(l => { const e = l.getEntries(); done(e[e.length - 1].startTime); })
    .observe({type: "largest-contentful-paint", buffered: true});
  setTimeout(() => done(-1), 3000);
})`

// TestBrowserAtScale drives the overview of 100,000 checks (or
// $VITALS_STATUS_CHECKS; in SQLite, or in memory under -race) in real
// headless Chromium, as a phone (390×844,
// mobile, CPU throttled 4×) with the cache disabled: the first screen's
// transfer stays under 300 kB and shows the summary, the checks needing
// attention and collapsed groups; the list is windowed (scrolling to row
// 50,001 shows the row checks.json has there, with a bounded number of rows
// in the DOM); Tab walks the rows without losing the focus to a redraw;
// "/" focuses the search; typing filters the list and the URL;
// a check going down updates its row and the banner live, without a
// reload; the shared URL renders the same filter on the server; without
// JavaScript the list pages with links. The paint and transfer figures are
// logged and written to $VITALS_ARTIFACTS/statuspage-scale-<n>.json (the
// times are measurements for BENCHMARKS.md, not asserted: the machine is
// shared).
func TestBrowserAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 checks")
	}
	if _, err := chromiumPath(); err != nil {
		testenv.Require(t, "chromium", err)
	}
	n := 100_000
	if s := os.Getenv("VITALS_STATUS_CHECKS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 || n > 200_000 {
			t.Fatalf("VITALS_STATUS_CHECKS=%q: want 1000 to 200000", s)
		}
	}
	start := time.Now()
	now := start
	var seeded []model.Check
	f := statuspagetest.NewSeeded(t, statuspage.Options{Public: true, Title: "ACME status",
		FlushInterval: 200 * time.Millisecond, ScanInterval: time.Second}, !raceEnabled, func(st store.Store) {
		seeded = statuspagetest.Seed(t, st, statuspagetest.SeedOptions{N: n, Days: 14, DownEvery: 100, LateEvery: 101, Teams: 40}, now)
	})
	statuspagetest.FillSparklines(f.Page, f.Engine.List(), now)
	if code, _, _ := f.Get(t, "", true); code != 200 { // as the page's warm-up does after a start
		t.Fatalf("first render: %d", code)
	}
	// The page's background scan of every rollup, after a start.
	for i := 0; !f.Page.Warmed(); i++ {
		if i == 1200 {
			t.Fatal("the page did not warm up in 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d checks seeded, loaded and rendered once in %s", n, time.Since(start).Round(time.Millisecond))
	byName := make(map[string]model.CheckID, len(seeded))
	for _, c := range seeded {
		byName[c.Name] = c.ID
	}

	bctx := newBrowser(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := chromedp.Call(bctx, network.Enable, network.EnableParams{})
	must(err)
	_, err = chromedp.Call(bctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	must(err)
	_, err = chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Api-Key": statuspagetest.APIKey}})
	must(err)
	base := f.Server.URL + "/status/"
	results := map[string]any{"checks": n}

	// Three loads each (the machine is shared: keep every figure), the
	// desktop unthrottled, then the phone: mobile viewport, CPU 4× slower.
	measure := func(what string) {
		t.Helper()
		var all []firstScreen
		for range 3 {
			must(chromedp.Do(bctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#checks li.ck"))))
			m, err := chromedp.Run(bctx, chromedp.Evaluate[firstScreen](measureJS, chromedp.EvalAwaitPromise))
			must(err)
			t.Logf("%s first screen: %+v", what, m)
			if m.Transfer > maxFirstScreen || m.Transfer <= 0 {
				t.Errorf("%s: first screen transferred %d bytes, budget %d", what, m.Transfer, maxFirstScreen)
			}
			if m.ListItems > 2*statuspage.PageSize {
				t.Errorf("%s: %d rows of the list in the DOM at load", what, m.ListItems)
			}
			all = append(all, m)
		}
		results[what] = all
		if b, err := os.ReadFile("/proc/loadavg"); err == nil {
			results[what+"_loadavg"] = strings.TrimSpace(string(b))
		}
	}
	measure("desktop")
	_, err = chromedp.Call(bctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4})
	must(err)
	must(chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
	measure("phone")
	must(chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("#live.on"))))
	overflow, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Errorf("the phone layout scrolls sideways (%v)", err)
	}

	// The summary first: the banner, the checks needing attention (down
	// first), the groups collapsed past groupOpenMax.
	banner, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#banner")))
	must(err)
	// The seed's late checks turn down at their deadlines: count now.
	downs := rowsAt(t, f, url.Values{"status": {"down"}, "limit": {"1"}}).Total
	if want := fmt.Sprintf("%d checks are down.", downs); banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	attn, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#attention li.ck .st")].map(e => e.textContent)`))
	must(err)
	if len(attn) != 20 || attn[0] != "down" {
		t.Errorf("needing attention: %q", attn)
	}
	groups, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("details.grp").length, document.querySelectorAll("details.grp[open]").length]`))
	must(err)
	if len(groups) != 2 || groups[0] < 40 || groups[1] != 1 { // 40 teams and "public" collapsed, "db" open
		t.Errorf("groups (all, open): %v", groups)
	}
	// Accessible: one h1, section headings, the banner a live region,
	// every field labelled.
	a11y, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("h1").length, document.querySelectorAll("main h2").length,
		document.querySelectorAll("#banner[aria-live=polite]").length,
		[...document.querySelectorAll("#filter input:not([type=hidden]), #filter select")].filter(e => !e.closest("label")).length]`))
	must(err)
	if len(a11y) != 4 || a11y[0] != 1 || a11y[1] < 4 || a11y[2] != 1 || a11y[3] != 0 {
		t.Errorf("h1s, h2s, live banner, unlabelled fields: %v", a11y)
	}
	dir := artifactDir(t)
	shot := func(name string, full bool) {
		t.Helper()
		var png []byte
		if full {
			png, err = chromedp.Run(bctx, chromedp.FullScreenshot(90))
		} else {
			png, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
		}
		must(err)
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, png, 0o644))
		t.Logf("screenshot: %s", p)
	}
	shot(fmt.Sprintf("statuspage-%dk-phone.png", n/1000), false)

	// Windowed: scroll to the middle of the list; the row there is the
	// one checks.json has at that offset, and the DOM holds a window.
	mid := n / 2
	t0 := time.Now()
	_, err = chromedp.Run(bctx, chromedp.Evaluate[float64](fmt.Sprintf(`(() => {
		const l = document.getElementById("checks"), h = l.querySelector("li.ck").getBoundingClientRect().height;
		window.scrollTo(0, l.getBoundingClientRect().top + window.scrollY + %d * h); return h; })()`, mid)))
	must(err)
	sel := fmt.Sprintf(`#checks li.ck[aria-posinset="%d"]:not(.ph) .nm`, mid+1)
	name, err := chromedp.Run(bctx, chromedp.Poll[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {}).textContent`))
	must(err)
	results["scroll_ms"] = time.Since(t0).Milliseconds()
	want := rowsAt(t, f, url.Values{"offset": {strconv.Itoa(mid)}, "limit": {"1"}})
	if len(want.Rows) != 1 || name != want.Rows[0].Name {
		t.Errorf("row %d shows %q, checks.json has %+v", mid+1, name, want.Rows)
	}
	inDOM, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#checks > li").length`))
	if err != nil || inDOM > 100 {
		t.Errorf("%d rows in the DOM after scrolling (%v): not windowed", inDOM, err)
	}
	shot(fmt.Sprintf("statuspage-%dk-scrolled.png", n/1000), false)

	// The keyboard walks the windowed list: Tab from row to row, the
	// window follows and the focus is never lost to a redraw.
	_, err = chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.querySelector('#checks li.ck[aria-posinset="%d"] a.nm').focus()`, mid+1)))
	must(err)
	for range 30 {
		must(chromedp.Do(bctx, chromedp.KeyEvent("\t")))
	}
	pos, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.activeElement.closest("#checks li.ck") || {getAttribute: () => "outside the list"}).getAttribute("aria-posinset")`))
	if err != nil || pos != strconv.Itoa(mid+31) {
		t.Errorf("after 30 tabs from row %d the focus is on row %q (%v), want %d", mid+1, pos, err, mid+31)
	}

	// Search, from the keyboard: "/" focuses the field, typing filters
	// the list and the URL.
	_, err = chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); window.__notReloaded = true`))
	must(err)
	must(chromedp.Do(bctx, chromedp.KeyEvent("/")))
	focused, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.name || ""`))
	if err != nil || focused != "q" {
		t.Errorf(`"/" focused %q (%v), want the search field`, focused, err)
	}
	// CDP sends the "/" as a character after the key-down the page
	// cancelled (a real keyboard's would not arrive): clear it.
	_, err = chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.value = ""`))
	must(err)
	const q = "billing worker 77"
	t0 = time.Now()
	must(chromedp.Do(bctx, chromedp.KeyEvent(q)))
	wantQ := rowsAt(t, f, url.Values{"q": {q}, "limit": {"500"}})
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`new URLSearchParams(location.search).get("q") === %q &&
		document.getElementById("total").textContent === "(%d)" &&
		document.querySelectorAll("#checks li.ck:not(.ph) .nm").length > 0 &&
		[...document.querySelectorAll("#checks li.ck .nm")].every(e => e.textContent.includes(%q))`, q, wantQ.Total, q))); err != nil {
		got, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.search + " " + document.getElementById("total").textContent`))
		t.Fatalf("search %q: %v (page: %s; checks.json: %d)", q, err, got, wantQ.Total)
	}
	results["search_ms"] = time.Since(t0).Milliseconds()

	// A live update: one of the checks shown goes down.
	downs = rowsAt(t, f, url.Values{"status": {"down"}, "limit": {"1"}}).Total
	victim := wantQ.Rows[0]
	id, ok := byName[victim.Name]
	if !ok {
		t.Fatalf("no seeded check %q", victim.Name)
	}
	t0 = time.Now()
	f.Ping(t, id, model.PingFail, "disk full")
	must(chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#checks li.ck[data-id="`+victim.ID+`"].s-down`))))
	results["live_ms"] = time.Since(t0).Milliseconds()
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("banner").textContent === "%d checks are down."`, downs+1))); err != nil {
		banner, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#banner")))
		t.Errorf("banner after the failure %q (%v)", banner, err)
	}
	if still, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__notReloaded === true`)); err != nil || !still {
		t.Errorf("the page was reloaded (%v)", err)
	}
	shot(fmt.Sprintf("statuspage-%dk-search.png", n/1000), false)

	// The URL is a shareable link: the server renders the same filter.
	must(chromedp.Do(bctx, chromedp.Navigate(base+"?"+url.Values{"q": {q}, "status": {"down"}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#checks li.ck"))))
	shared, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[document.querySelector("#filter [name=q]").value,
		document.querySelector("#filter [name=status]").value, ...[...document.querySelectorAll("#checks li.ck .nm")].map(e => e.textContent)]`))
	must(err)
	if len(shared) < 3 || shared[0] != q || shared[1] != "down" || !slices.Contains(shared[2:], victim.Name) {
		t.Errorf("shared link shows %q", shared)
	}
	for _, name := range shared[2:] {
		if !strings.Contains(name, q) {
			t.Errorf("shared link shows %q, which does not match %q", name, q)
		}
	}

	// Without JavaScript: the first page and links to the next.
	_, err = chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	must(err)
	must(chromedp.Do(bctx, chromedp.Navigate(base+"?page=2"), chromedp.WaitVisible(chromedp.CSS("#pager a[rel=next]"))))
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#checks li.ck").length`))
	if err != nil || rows != statuspage.PageSize {
		t.Errorf("page 2 without JavaScript: %d rows (%v)", rows, err)
	}
	_, err = chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	must(err)

	b, _ := json.MarshalIndent(results, "", "  ")
	p := filepath.Join(dir, fmt.Sprintf("statuspage-scale-%d.json", n))
	must(os.WriteFile(p, b, 0o644))
	t.Logf("results (%s):\n%s", p, b)
}

// rowsPage is checks.json's answer.
type rowsPage struct {
	Total int `json:"total"`
	Rows  []struct {
		ID   string `json:"id"`
		Name string `json:"n"`
	} `json:"rows"`
}

func rowsAt(t *testing.T, f *statuspagetest.Fixture, q url.Values) rowsPage {
	t.Helper()
	code, body, _ := f.Get(t, "checks.json?"+q.Encode(), true)
	var out rowsPage
	if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil {
		t.Fatalf("checks.json?%s: %d %v %s", q.Encode(), code, err, strings.TrimSpace(body))
	}
	return out
}
