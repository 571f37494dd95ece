package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/testenv"
)

// chromiumPath finds Debian's chromium (or another Chrome).
func chromiumPath() (string, error) {
	var errs []error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		p, err := exec.LookPath(name)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// artifactDir is where screenshots go: $VITALS_ARTIFACTS, or a temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("VITALS_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// newBrowser starts headless chromium for the test; it is stopped at the
// end of the test.
func newBrowser(t *testing.T) context.Context {
	path, err := chromiumPath()
	testenv.Require(t, "chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`1`)); err != nil {
		testenv.Require(t, "chromium", fmt.Errorf("start %s: %w", path, err))
	}
	return bctx
}

// TestBrowser drives the page in real headless Chromium over a real
// loopback server, engine and SQLite store: the checks render, the banner
// counts them truthfully, a failure reported to the engine shows up without
// a reload, a malicious name is shown as text and runs nothing (arriving
// live and rendered by the server), the public view hides internal checks,
// and screenshots (desktop, detail, phone, public) are kept as artifacts.
//
// The desktop screenshot, which VITALS_DOCS_SCREENSHOT=1 also writes to
// docs/img/statuspage.png, is taken before the check with the malicious
// name (statuspagetest.XSSName) is created, so the docs show realistic checks only.
func TestBrowser(t *testing.T) {
	bctx := newBrowser(t)
	now := time.Now()
	var seeded []model.Check
	f := statuspagetest.NewSeeded(t, statuspage.Options{Public: true, PublicTag: "public", Title: "ACME status",
		FlushInterval: 100 * time.Millisecond, ScanInterval: time.Second}, true,
		func(st store.Store) { seeded = statuspagetest.SeedChecks(t, st, 9, now) })
	ctx := context.Background()
	// Live checks on top of the seeded history: a pull check with response
	// times, one that is running, one paused, one new, one that will fail.
	pull, err := f.Engine.Create(ctx, model.Check{Name: "public website", Kind: model.KindPull, Tags: []string{"public"},
		Schedule: model.Schedule{Period: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		ms := 80 + 40*((i*7)%5) + 5*i
		if _, err := f.Engine.Report(ctx, pull.ID, model.Result{OK: true, Time: now.Add(time.Duration(i-30) * time.Minute),
			Duration: time.Duration(ms) * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	running := f.Create(t, "weekly export", "public")
	f.Ping(t, running.ID, model.PingSuccess, "")
	f.Ping(t, running.ID, model.PingStart, "")
	paused := f.Create(t, "legacy ftp")
	f.Ping(t, paused.ID, model.PingSuccess, "")
	if _, err := f.Engine.Pause(ctx, paused.ID, "decommissioning"); err != nil {
		t.Fatal(err)
	}
	f.Create(t, "new importer")
	victim := seeded[0] // "api gateway", public, up
	// Response times for the seeded checks, as 30 finished runs would give.
	var seededStates []model.CheckState
	for _, c := range seeded {
		cs, _ := f.Engine.Get(c.ID)
		seededStates = append(seededStates, cs)
	}
	statuspagetest.FillSparklines(f.Page, seededStates, now)

	var dialogs atomic.Int32
	go func() {
		for _, err := range chromedp.Events(bctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	// The authorised view: the API key as a header on every request.
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Api-Key": statuspagetest.APIKey}}); err != nil {
		t.Fatal(err)
	}
	base := f.Server.URL + "/status/"
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#checks li.ck")),
		chromedp.WaitVisible(chromedp.CSS("#live.on")), // the event stream is open
	); err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#checks li.ck").length`))
	if err != nil || rows != 9+4 {
		t.Fatalf("rows: %d, %v; want %d", rows, err, 9+4)
	}
	names, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#checks li.ck .nm")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if !contains(names, "public website") || !contains(names, "legacy ftp") || !contains(names, "new importer") {
		t.Fatalf("names shown: %q", names)
	}
	statuses, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#checks li.ck .st")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"up", "running", "paused", "new"} {
		if !contains(statuses, want) {
			t.Errorf("no %q status among %q", want, statuses)
		}
	}
	bars, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#checks svg.u path").length`))
	if err != nil || bars < rows {
		t.Errorf("uptime bar paths: %d, %v", bars, err)
	}
	// Not "All checks are up.": one check is paused and one never reported.
	// The running check counts as up.
	banner, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#banner")))
	if err != nil || banner != "11 up, 1 paused, 1 new." {
		t.Errorf("banner %q, %v; want %q", banner, err, "11 up, 1 paused, 1 new.")
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`)); err != nil {
		t.Fatal(err)
	}

	// A failure through the engine shows up without a reload.
	f.Ping(t, victim.ID, model.PingFail, "disk full")
	victimHID := hidOf(t, bctx, victim.Name)
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#checks li.ck[data-id="`+victimHID+`"].s-down`))); err != nil {
		t.Fatal(err)
	}
	still, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__notReloaded === true`))
	if err != nil || !still {
		t.Fatalf("the page was reloaded (%v)", err)
	}
	banner, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#banner")))
	if err != nil || banner != "1 check is down." {
		t.Errorf("banner %q, %v", banner, err)
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("section.flips li q"))); err != nil {
		t.Fatal(err)
	}
	flips, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#flips li")))
	if err != nil || !strings.Contains(flips, "api gateway") || !strings.Contains(flips, "fail ping") {
		t.Errorf("newest flip %q, %v", flips, err)
	}
	// A new check appears without a reload too (the list is fetched again).
	f.Create(t, "invoice sync")
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`[...document.querySelectorAll("#checks .nm")].some(e => e.textContent === "invoice sync")`)); err != nil {
		t.Fatal(err)
	}

	dir := artifactDir(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
		if name == "statuspage.png" && os.Getenv("VITALS_DOCS_SCREENSHOT") == "1" {
			if err := os.WriteFile("../../../docs/img/statuspage.png", png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The docs screenshot: realistic names only (the malicious one comes
	// next), with checks up, down, running, paused and new.
	shot("statuspage.png")

	// A malicious name arrives without a reload (the list is fetched again
	// and its rows parsed by the page's script), then its row is replaced
	// by a live update; later navigations render it on the server. It must
	// stay text each time: the dialog count is checked at the end.
	evil := f.Create(t, statuspagetest.XSSName, "public")
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(
		`[...document.querySelectorAll("#checks .nm")].some(e => e.textContent === %q)`, statuspagetest.XSSName))); err != nil {
		t.Fatalf("the malicious name did not show as text: %v", err)
	}
	f.Ping(t, evil.ID, model.PingSuccess, "")
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#checks li.ck[data-id="`+hidOf(t, bctx, statuspagetest.XSSName)+`"].s-up`))); err != nil {
		t.Fatal(err)
	}

	// The detail page of the failed check, authorised: the ping body shows.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#checks li.ck[data-id="`+victimHID+`"] a.nm`)),
		chromedp.WaitVisible(chromedp.CSS("table.pings")),
	); err != nil {
		t.Fatal(err)
	}
	detail, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	// The check is named by its unique key; its UUID is the ping secret,
	// not shown even to authorised (possibly read-only) readers.
	if err != nil || !strings.Contains(detail, "disk full") || !strings.Contains(detail, victim.ID.UniqueKey()) ||
		strings.Contains(detail, victim.ID.Secret()) {
		t.Errorf("detail page (want the ping body and the unique key %s, not the UUID): %v\n%s", victim.ID.UniqueKey(), err, detail)
	}
	shot("statuspage-detail.png")
	// The detail page follows its check live too.
	f.Ping(t, victim.ID, model.PingSuccess, "back again")
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector("main").textContent.includes("back again")`)); err != nil {
		t.Fatalf("the detail page did not update: %v", err)
	}
	// A deleted check leaves the overview without a reload.
	if err := chromedp.Do(bctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#live.on"))); err != nil {
		t.Fatal(err)
	}
	names, err = chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#checks li.ck .nm")].map(e => e.textContent)`))
	if err != nil || !contains(names, statuspagetest.XSSName) {
		t.Fatalf("the server-rendered names lack the malicious one as text (%v): %q", err, names)
	}
	if err := f.Engine.Delete(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`![...document.querySelectorAll("#checks .nm")].some(e => e.textContent === "legacy ftp")`)); err != nil {
		t.Fatalf("the deleted check stayed: %v", err)
	}
	// The banner follows: the api gateway is up again, nothing is paused,
	// and two checks have never reported.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("banner").textContent === "12 up, 2 new."`)); err != nil {
		banner, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#banner")))
		t.Errorf("banner after the deletion %q, want %q (%v)", banner, "12 up, 2 new.", err)
	}

	// Phone-sized viewport.
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#checks li.ck")),
	); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Errorf("the phone layout scrolls sideways (%v)", err)
	}
	shot("statuspage-phone.png")

	// The public view: no key, internal checks hidden, no UUIDs.
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#checks li.ck")),
	); err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"new importer", victim.ID.Secret(), "fail ping", "disk full"} {
		if strings.Contains(html, secret) {
			t.Errorf("public view shows %q", secret)
		}
	}
	if !strings.Contains(html, "public website") || !strings.Contains(html, "sign in") {
		t.Error("public view lacks the public checks or the sign-in link")
	}
	shot("statuspage-public.png")

	if n := dialogs.Load(); n != 0 {
		t.Fatalf("%d JavaScript dialogs opened: a check name ran as script", n)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// hidOf returns the page id of the row named name.
func hidOf(t *testing.T, bctx context.Context, name string) string {
	t.Helper()
	id, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll("#checks li.ck")].find(e => e.querySelector(".nm").textContent === %q).dataset.id`, name)))
	if err != nil {
		t.Fatal(err)
	}
	return id
}
