package statuspage_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
)

func TestPrivateByDefault(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{}, false)
	f.Create(t, "db backup")
	for _, path := range []string{"", "events", "status.json", "check/0123456789ab", "login"} {
		code, _, h := f.Get(t, path, false)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("GET /%s anonymous: %d %q, want 401 with a Basic challenge", path, code, h.Get("WWW-Authenticate"))
		}
	}
	code, body, _ := f.Get(t, "", true)
	if code != 200 || !strings.Contains(body, "db backup") {
		t.Fatalf("authorised overview: %d\n%s", code, body)
	}
	// A browser's Basic password is presented to Authorize as X-Api-Key.
	req, _ := http.NewRequest("GET", f.Server.URL+"/status/", nil)
	req.SetBasicAuth("anyone", statuspagetest.APIKey)
	res, err := f.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("Basic auth: %d", res.StatusCode)
	}
	// /login sends an authorised browser back to the page.
	req, _ = http.NewRequest("GET", f.Server.URL+"/status/login", nil)
	req.SetBasicAuth("", statuspagetest.APIKey)
	res, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "./" {
		t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestPublicHidesSecrets(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true, PublicTag: "public", Title: "ACME status"}, false)
	api := f.Create(t, "public api", "public")
	internal := f.Create(t, "internal cron")
	f.Ping(t, api.ID, model.PingSuccess, "")
	f.Ping(t, api.ID, model.PingFail, "password=hunter2 in the ping body")
	f.Ping(t, internal.ID, model.PingSuccess, "")
	if _, err := f.Engine.Report(context.Background(), api.ID, model.Result{}); err != nil {
		t.Fatal(err)
	}

	_, priv, _ := f.Get(t, "", true)
	code, pub, h := f.Get(t, "", false)
	if code != 200 {
		t.Fatalf("public overview: %d", code)
	}
	if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("missing security headers: %v", h)
	}
	for _, want := range []string{"ACME status", "public api", "1 check is down."} {
		if !strings.Contains(pub, want) {
			t.Errorf("public overview lacks %q", want)
		}
	}
	for _, secret := range []string{"internal cron", api.ID.Secret(), internal.ID.Secret(), "fail ping", "hunter2"} {
		if strings.Contains(pub, secret) {
			t.Errorf("public overview leaks %q", secret)
		}
	}
	for _, want := range []string{"internal cron", "public api", "fail ping"} {
		if !strings.Contains(priv, want) {
			t.Errorf("authorised overview lacks %q", want)
		}
	}

	link := detailPath(t, pub, "public api")
	code, pubDetail, _ := f.Get(t, link, false)
	if code != 200 || !strings.Contains(pubDetail, "public api") {
		t.Fatalf("public detail %s: %d", link, code)
	}
	for _, secret := range []string{api.ID.Secret(), "hunter2", "192.0.2.7", "curl/8", "fail ping", "Recent pings"} {
		if strings.Contains(pubDetail, secret) {
			t.Errorf("public detail leaks %q", secret)
		}
	}
	_, privDetail, _ := f.Get(t, link, true)
	for _, want := range []string{api.ID.UniqueKey(), "hunter2", "192.0.2.7", "curl/8", "fail ping", "Recent pings"} {
		if !strings.Contains(privDetail, want) {
			t.Errorf("authorised detail lacks %q", want)
		}
	}
	// The authorised view is for read-only keys too: it names the check by
	// its unique key, never by its UUID (the ping secret).
	if strings.Contains(privDetail, api.ID.Secret()) {
		t.Errorf("authorised detail shows the ping UUID")
	}

	// The internal check's page exists for the authorised view only.
	internalLink := detailPath(t, priv, "internal cron")
	if code, _, _ := f.Get(t, internalLink, false); code != http.StatusNotFound {
		t.Errorf("public GET %s: %d, want 404", internalLink, code)
	}
	if code, _, _ := f.Get(t, internalLink, true); code != http.StatusOK {
		t.Errorf("authorised GET %s: %d, want 200", internalLink, code)
	}

	// status.json follows the same rules.
	_, js, _ := f.Get(t, "status.json", false)
	var out struct {
		Checks []struct{ ID, Name, Status, Days string }
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Checks) != 1 || out.Checks[0].Name != "public api" || out.Checks[0].Status != "down" || len(out.Checks[0].Days) != statuspage.Days {
		t.Errorf("public status.json: %+v", out.Checks)
	}
	if strings.Contains(js, api.ID.Secret()) {
		t.Error("status.json leaks the UUID")
	}
}

func TestUnknownCheck404(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true}, false)
	c := f.Create(t, "known")
	for _, path := range []string{"check/000000000000", "check/" + c.ID.Secret(), "check/", "nope", "static/nope.js", "check/../../etc/passwd"} {
		for _, auth := range []bool{false, true} {
			if code, _, _ := f.Get(t, path, auth); code != http.StatusNotFound {
				t.Errorf("GET /%s (auth %v): %d, want 404", path, auth, code)
			}
		}
	}
	req, _ := http.NewRequest("POST", f.Server.URL+"/status/", nil)
	res, err := f.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
}

func TestNamesAreEscaped(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true}, false)
	c := f.Create(t, statuspagetest.XSSName)
	f.Ping(t, c.ID, model.PingStart, "")
	f.Ping(t, c.ID, model.PingFail, `</pre><script>alert(2)</script>`)
	_, overview, _ := f.Get(t, "", true)
	_, js, _ := f.Get(t, "status.json", true)
	link := detailPath(t, overview, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;")
	_, detail, _ := f.Get(t, link, true)
	for name, body := range map[string]string{"overview": overview, "detail": detail, "json": js} {
		for _, raw := range []string{"<script>", "<img", "onerror=alert(1)>"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s contains raw %q", name, raw)
			}
		}
	}
	if !strings.Contains(detail, "&lt;/pre&gt;&lt;script&gt;alert(2)") {
		t.Error("detail page does not show the escaped ping body")
	}
}

func TestGzipAndAssets(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true}, false)
	for i := range 50 {
		f.Create(t, "check "+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	req, _ := http.NewRequest("GET", f.Server.URL+"/status/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), "check xb") {
		t.Fatalf("gunzipped page: %v", err)
	}
	for _, a := range []string{"app.css", "app.js", "icon.svg"} {
		code, body, h := f.Get(t, "static/"+a, false)
		if code != 200 || len(body) == 0 || h.Get("ETag") == "" {
			t.Errorf("static/%s: %d, %d bytes, ETag %q", a, code, len(body), h.Get("ETag"))
		}
	}
}

// TestLiveStream reads the event stream over a real connection: a ping
// that flips a check arrives as a "check" event with the new row.
func TestLiveStream(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true, FlushInterval: 10 * time.Millisecond}, false)
	c := f.Create(t, "worker")
	f.Ping(t, c.ID, model.PingSuccess, "")
	f.Get(t, "", false) // renders the rows the stream then updates

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.Server.URL+"/status/events", nil)
	res, err := f.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	waitLine(t, sc, ": hello") // registered: changes from now on are streamed
	f.Ping(t, c.ID, model.PingFail, "")
	for {
		line := waitLine(t, sc, "data: ")
		var m struct{ ID, HTML string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.HTML, "s-down") {
			if !strings.Contains(m.HTML, "worker") {
				t.Fatalf("row %q", m.HTML)
			}
			return
		}
	}
}

func waitLine(t *testing.T, sc *bufio.Scanner, prefix string) string {
	t.Helper()
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	t.Fatalf("stream ended waiting for %q: %v", prefix, sc.Err())
	return ""
}

func TestMaxClientsAndClose(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{Public: true, MaxClients: 1}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.Server.URL+"/status/events", nil)
	res, err := f.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	waitLine(t, sc, ": hello")
	if code, _, _ := f.Get(t, "events", false); code != http.StatusServiceUnavailable {
		t.Fatalf("second stream: %d, want 503", code)
	}
	// Close ends the open stream and returns only after it has.
	if err := f.Page.Close(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	if code, _, _ := f.Get(t, "events", false); code != http.StatusServiceUnavailable {
		t.Fatalf("stream after Close: %d, want 503", code)
	}
}

// TestWarmSeedsSparklines: a page started over an engine with history (as
// after a daemon restart) fills a push check's sparkline from the stored
// pings' run times once its row has been shown (the first render asks, the
// page's goroutine reads them, a later render shows them).
func TestWarmSeedsSparklines(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{}, true)
	c := f.Create(t, "cron job")
	for range 3 {
		f.Ping(t, c.ID, model.PingStart, "")
		f.Ping(t, c.ID, model.PingSuccess, "")
	}
	p := statuspage.New(statuspage.Options{Engine: f.Engine, Store: f.Store, ScanInterval: 10 * time.Millisecond})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var buf bytes.Buffer
		if err := p.Render(ctx, &buf, true); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), `<svg class=s viewBox="0 0 58 20" preserveAspectRatio=none><path d="M`) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no sparkline after warm-up:\n%s", buf.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
