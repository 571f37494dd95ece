package statuspage_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/statuspage/statuspagetest"
	"github.com/vitals-go/vitals/internal/store"
)

// A check's time-zone warning (State.TZWarning, as the engine left it in
// the store) is shown with its schedule on the authorised detail page, and
// not on the public one, which shows no schedule either.
func TestDetailShowsTZWarning(t *testing.T) {
	warning := "the last 5 pings came 2 hours before the schedule in UTC: is the schedule meant for Europe/Berlin? (tz: Europe/Berlin)"
	f := statuspagetest.NewSeeded(t, statuspage.Options{Public: true, PublicTag: "public"}, true, func(st store.Store) {
		now := time.Now().UTC()
		c := model.Check{ID: model.NewCheckID(), Name: "nightly backup", Kind: model.KindPush, Tags: []string{"public"},
			Schedule: model.Schedule{Cron: "0 3 * * *", Grace: time.Hour}, Created: now, Updated: now}.WithDefaults()
		s := model.NewState(c.ID, now)
		s.TZWarning = warning
		if err := st.CreateCheck(context.Background(), c, s); err != nil {
			t.Fatal(err)
		}
	})
	_, overview, _ := f.Get(t, "", true)
	path := detailPath(t, overview, "nightly backup")
	_, private, _ := f.Get(t, path, true)
	if !strings.Contains(html.UnescapeString(private), "<dt>Time zone</dt><dd class=tzw>"+warning+"</dd>") {
		t.Fatalf("the authorised detail page does not show the warning:\n%s", private)
	}
	if _, public, _ := f.Get(t, path, false); strings.Contains(public, "Time zone") || strings.Contains(public, "Europe/Berlin") {
		t.Fatalf("the public detail page shows the warning:\n%s", public)
	}
}
