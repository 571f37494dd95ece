package statuspage

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/vitals-go/vitals/internal/model"
)

func TestComputeBars(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	today := dayNum(now)
	d24 := int32(24 * 3600) // seconds
	u := &uptime{days: []day{
		{n: today - 89, up: d24, total: d24},           // oldest day shown: full
		{n: today - 90, up: 0, total: d24},             // outside the window: ignored
		{n: today - 10, up: d24 - d24/200, total: d24}, // 99.5 %
		{n: today - 9, up: d24 - d24/40, total: d24},   // 97.5 %
		{n: today - 8, up: d24 / 2, total: d24},        // 50 %
		{n: today - 7, up: d24 / 2, total: d24 / 2},    // half a day counted, all up
		{n: today, up: 6 * 3600, total: 6 * 3600},
	}}
	// Up since 06:00 today (the stored part of today ended then).
	s := &model.State{Status: model.StatusUp, Since: now.Add(-6 * time.Hour)}
	b := computeBars(u, s, now)
	want := map[int]byte{0: barFull, 79: barHigh, 80: barMid, 81: barLow, 82: barFull, 89: barFull, 1: barNone, 88: barNone}
	for i, c := range want {
		if b.class[i] != c {
			t.Errorf("day %d: %c, want %c", i, b.class[i], c)
		}
	}
	// Up 1 + .995 + .975 + .5 + .5 + .5 (today: 6 h stored, 6 h open) of
	// 1 + 1 + 1 + 1 + .5 + .5 days: 4.47 / 5.
	if b.pct != "89.40%" {
		t.Errorf("pct %q", b.pct)
	}

	// Down now: today's open interval counts as down.
	s = &model.State{Status: model.StatusDown, Since: now.Add(-time.Hour)}
	b = computeBars(&uptime{days: []day{{n: today, up: 11 * 3600, total: 11 * 3600}}}, s, now)
	if b.class[Days-1] != barLow || b.pct != "91.66%" {
		t.Errorf("down today: %c %q", b.class[Days-1], b.pct)
	}
	// New and paused time is not counted; nothing counted is no data.
	b = computeBars(nil, &model.State{Status: model.StatusNew, Since: now.AddDate(0, 0, -200)}, now)
	if b.pct != "" || strings.Trim(string(b.class[:]), "n") != "" {
		t.Errorf("new check: %q %q", b.pct, b.class)
	}
	// An interval open for a year fills exactly the window.
	b = computeBars(nil, &model.State{Status: model.StatusUp, Since: now.AddDate(-1, 0, 0)}, now)
	if b.pct != "100.00%" || strings.Trim(string(b.class[:]), "a") != "" {
		t.Errorf("up for a year: %q %q", b.pct, b.class)
	}
}

func TestFormatPct(t *testing.T) {
	for r, want := range map[float64]string{1: "100.00%", 0.99999: "99.99%", 0.5: "50.00%", 0: "0.00%", 0.12345: "12.34%"} {
		if got := formatPct(r); got != want {
			t.Errorf("formatPct(%v) = %q, want %q", r, got, want)
		}
	}
}

func TestBarsSVGRuns(t *testing.T) {
	var b bars
	for i := range b.class {
		b.class[i] = barFull
	}
	b.class[10], b.class[11], b.class[50] = barLow, barLow, barMid
	got := string(barsSVG(&b))
	for _, want := range []string{`<path class=a d="M0 .5h10M12 .5h38M51 .5h39"/>`, `<path class=c d="M50 .5h1"/>`, `<path class=d d="M10 .5h2"/>`} {
		if !strings.Contains(got, want) {
			t.Errorf("bars %s lack %s", got, want)
		}
	}
}

func TestSparkSVG(t *testing.T) {
	if got := string(sparkSVG([]float32{5})); strings.Contains(got, "<path") {
		t.Errorf("one sample drew a line: %s", got)
	}
	if got := string(sparkSVG([]float32{0, 0, 0})); strings.Contains(got, "<path") {
		t.Errorf("zero durations drew a line: %s", got)
	}
	got := string(sparkSVG([]float32{10, 20, 5, 20}))
	// x starts at (30-4)*2 = 52; y = 19 - round(v/20*18): 10, 1, 14, 1.
	if !strings.Contains(got, `d="M52 10l2-9 2 13 2-13"`) {
		t.Errorf("spark %s", got)
	}
}

func TestRing(t *testing.T) {
	var r ring
	for i := range sparkLen + 5 {
		r.add(float32(i))
	}
	v := r.values(nil)
	if len(v) != sparkLen || v[0] != 5 || v[sparkLen-1] != sparkLen+4 {
		t.Errorf("ring values %v", v)
	}
}

func TestSamples(t *testing.T) {
	p := &Page{spark: map[model.CheckID]*ring{}}
	id := model.NewCheckID()
	t0 := time.Now()
	push := []model.State{
		{LastPing: t0, LastDuration: 0},                                    // plain ping: no run time
		{LastPing: t0.Add(time.Minute), LastDuration: time.Second},         // a run
		{LastPing: t0.Add(2 * time.Minute), LastDuration: time.Second},     // plain ping, same LastDuration
		{LastPing: t0.Add(time.Minute), LastDuration: 3 * time.Second},     // older: ignored
		{LastPing: t0.Add(3 * time.Minute), LastDuration: 2 * time.Second}, // a run
	}
	for _, s := range push {
		p.sampleLocked(model.KindPush, id, s)
	}
	if v := p.spark[id].values(nil); len(v) != 2 || v[0] != 1000 || v[1] != 2000 {
		t.Errorf("push samples %v", v)
	}
	pull := model.NewCheckID()
	for i := range 3 {
		p.sampleLocked(model.KindPull, pull, model.State{LastPing: t0.Add(time.Duration(i) * time.Second), LastDuration: 5 * time.Millisecond})
	}
	if v := p.spark[pull].values(nil); len(v) != 3 {
		t.Errorf("pull samples %v", v)
	}
}

// allowedRowTags are the only elements a row may contain, whatever the
// check's name.
var allowedRowTags = map[string]bool{"li": true, "a": true, "span": true, "svg": true, "path": true}

// FuzzRowEscaping renders a row for an arbitrary check name and parses it
// as a browser would: the name must never become markup, nor must a
// channel name in the authorised view's warning (a title attribute).
func FuzzRowEscaping(f *testing.F) {
	for _, s := range []string{"api", `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `</li><li>`, "&amp;", "\x00<", `<svg onload=alert(1)>`} {
		f.Add(s)
	}
	p := &Page{tmpl: templates}
	f.Fuzz(func(t *testing.T, name string) {
		r := &row{hid: "0123456789ab"}
		warn := (&channelSet{}).warning(&model.Check{Routes: model.Routes{Down: []string{name}}})
		p.renderRow(r, rowKey{name: name, status: model.StatusUp, warn: warn}, []float32{1, 2})
		if bytes.Equal(r.html, r.authHTML) || !bytes.Contains(r.authHTML, []byte(" cw")) {
			t.Fatalf("the authorised fragment does not differ: %s", r.authHTML)
		}
		for _, out := range [][]byte{r.html, r.authHTML} {
			wantRowText(t, name, out)
		}
	})
}

// wantRowText fails unless the row out parses into allowed elements only,
// without event attributes, with name shown as text.
func wantRowText(t *testing.T, name string, out []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(out))
	var text strings.Builder
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			if !allowedRowTags[tok.Data] {
				t.Fatalf("name %q produced element <%s> in %s", name, tok.Data, out)
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Fatalf("name %q produced attribute %s", name, a.Key)
				}
			}
		case html.TextToken:
			text.WriteString(tok.Data)
		}
	}
	if !strings.Contains(text.String(), strings.ReplaceAll(name, "\x00", "\uFFFD")) && !strings.ContainsRune(name, '\r') && !strings.ContainsRune(name, 0) {
		t.Fatalf("name %q not shown as text: %q", name, text.String())
	}
}
