package statuspage_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
)

var bannerRE = regexp.MustCompile(`<p id=banner class="banner (\w+)" role=status aria-live=polite>([^<]*)</p>`)

// TestBannerIsTruthful: the banner says "All checks are up." only when every
// check is up with no failure since its last success. A new check (never
// reported) and one failing below its failure threshold are named, over a
// real engine and SQLite store.
func TestBannerIsTruthful(t *testing.T) {
	f := statuspagetest.New(t, statuspage.Options{}, true)
	banner := func() (class, text string) {
		t.Helper()
		_, body, _ := f.Get(t, "", true)
		m := bannerRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no banner in %s", body)
		}
		return m[1], m[2]
	}
	expect := func(class, text string) {
		t.Helper()
		if c, txt := banner(); c != class || txt != text {
			t.Errorf("banner %q (%s), want %q (%s)", txt, c, text, class)
		}
	}

	expect("none", "No checks yet.")
	up := f.Create(t, "api")
	f.Ping(t, up.ID, model.PingSuccess, "")
	expect("ok", "All checks are up.")

	f.Create(t, "backup") // never reported
	expect("none", "1 up, 1 new.")

	flaky, err := f.Engine.Create(context.Background(), model.Check{Name: "queue", Kind: model.KindPush,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}, Thresholds: model.Thresholds{Failures: 3}})
	if err != nil {
		t.Fatal(err)
	}
	f.Ping(t, flaky.ID, model.PingSuccess, "")
	f.Ping(t, flaky.ID, model.PingFail, "")
	if cs, _ := f.Engine.Get(flaky.ID); cs.State.Status != model.StatusUp || cs.State.ConsecFailures != 1 {
		t.Fatalf("queue: %s with %d failures, want up below its threshold", cs.State.Status, cs.State.ConsecFailures)
	}
	expect("warn", "1 up, 1 failing below its threshold, 1 new.")
	_, body, _ := f.Get(t, "", true)
	if !strings.Contains(body, `class="ck s-up failing"`) {
		t.Errorf("the failing row is not marked for the page's script: %s", body)
	}

	f.Ping(t, flaky.ID, model.PingSuccess, "")
	expect("none", "2 up, 1 new.")
	f.Ping(t, flaky.ID, model.PingFail, "")
	f.Ping(t, flaky.ID, model.PingFail, "")
	f.Ping(t, flaky.ID, model.PingFail, "")
	expect("bad", "1 check is down.")
}
