package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// uptimeAller is the status page's optional interface.
type uptimeAller interface {
	store.Store
	UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error
}

// TestUptimeAll: every check's rollups in the window, and only those, in
// one call; the same answer from the SQLite and the memory store.
func TestUptimeAll(t *testing.T) {
	sq, err := sqlite.Open(t.TempDir()+"/u.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	mem := memstore.New(memstore.Options{})
	defer mem.Close()
	for name, st := range map[string]uptimeAller{"sqlite": sq, "memstore": mem} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
			want := map[model.CheckID]int{}
			for i := range 3 {
				id := model.NewCheckID()
				c := model.Check{ID: id, Name: "c", Kind: model.KindPush}.WithDefaults()
				if err := st.CreateCheck(ctx, c, model.NewState(id, day)); err != nil {
					t.Fatal(err)
				}
				var days []model.UptimeDay
				for d := -1; d <= i+1; d++ { // day -1 and day 3 are outside [day, day+3)
					days = append(days, model.UptimeDay{CheckID: id, Day: day.AddDate(0, 0, d), Up: time.Hour, Total: 2 * time.Hour})
				}
				if err := st.Apply(ctx, store.Update{CheckID: id, State: model.NewState(id, day), Uptime: days}); err != nil {
					t.Fatal(err)
				}
				want[id] = min(i+2, 3)
			}
			var got []model.UptimeDay
			if err := st.UptimeAll(ctx, day, day.AddDate(0, 0, 3), func(d model.UptimeDay) { got = append(got, d) }); err != nil {
				t.Fatal(err)
			}
			n := map[model.CheckID]int{}
			for _, d := range got {
				if d.Day.Before(day) || !d.Day.Before(day.AddDate(0, 0, 3)) || d.Up != time.Hour || d.Total != 2*time.Hour {
					t.Errorf("row %+v", d)
				}
				n[d.CheckID]++
			}
			for id, w := range want {
				if n[id] != w {
					t.Errorf("check %s: %d days, want %d", id, n[id], w)
				}
			}
			st.Close()
			if err := st.UptimeAll(ctx, day, day, func(model.UptimeDay) {}); err == nil {
				t.Error("UptimeAll on a closed store: no error")
			}
		})
	}
}
