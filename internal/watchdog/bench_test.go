package watchdog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

type downTimes struct {
	mu   sync.Mutex
	at   map[model.CheckID]time.Time
	done chan struct{}
	want int
}

func (d *downTimes) OnFlip(t model.Transition) {
	if t.Flip.To != model.StatusDown {
		return
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.at[t.Check.ID] = now
	if len(d.at) == d.want {
		close(d.done)
	}
}

// BenchmarkDeadlineLateness: 1000 push checks on the SQLite store (durable
// writes) whose deadlines are staggered over 10 s; each is pinged once and
// then left silent. Reported: how long after its deadline each check's down
// flip was committed and published (p50, p99, max), in real time.
//
//	go test -run '^$' -bench DeadlineLateness -benchtime 1x ./internal/watchdog/
func BenchmarkDeadlineLateness(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchLateness(b, true) })
	// Baseline: the same timers and engine, no durable write.
	b.Run("memory", func(b *testing.B) { benchLateness(b, false) })
}

func benchLateness(b *testing.B, durable bool) {
	for range b.N {
		const n = 1000
		var st store.Store = memstore.New(memstore.Options{})
		if durable {
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "d.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			st = s
		}
		rec := &downTimes{at: map[model.CheckID]time.Time{}, done: make(chan struct{}), want: n}
		e := watchdog.New(st, watchdog.Options{})
		hook(b, e, rec)
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		deadlines := map[model.CheckID]time.Time{}
		for i := range n {
			// Period 1 s + i*10 ms, grace 1 s: deadlines from ~2 s to ~12 s.
			c, err := e.Create(ctx, model.Check{Name: fmt.Sprint(i), Kind: model.KindPush,
				Schedule: model.Schedule{Period: time.Second + time.Duration(i)*10*time.Millisecond, Grace: time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			s, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
			if err != nil {
				b.Fatal(err)
			}
			deadlines[c.ID] = s.Deadline
		}
		select {
		case <-rec.done:
		case <-time.After(60 * time.Second):
			b.Fatalf("only %d of %d checks went down", len(rec.at), n)
		}
		e.Close()
		st.Close()
		var late []time.Duration
		for id, d := range deadlines {
			late = append(late, rec.at[id].Sub(d))
		}
		slices.Sort(late)
		b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(late[len(late)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "max-ms")
		if late[0] < 0 {
			b.Fatalf("a check went down %v before its deadline", -late[0])
		}
	}
}

// BenchmarkMemoryPerCheck: heap held by the engine per check, with 10,000
// push checks each pinged once (deadline armed), over the SQLite store.
//
//	go test -run '^$' -bench MemoryPerCheck -benchtime 1x ./internal/watchdog/
func BenchmarkMemoryPerCheck(b *testing.B) {
	for range b.N {
		const n = 10_000
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "m.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		e := watchdog.New(st, watchdog.Options{})
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					c, err := e.Create(ctx, model.Check{Name: fmt.Sprintf("check %d", i), Slug: fmt.Sprintf("check-%d", i),
						PingKey: "key", Tags: []string{"prod"}, Kind: model.KindPush,
						Schedule: model.Schedule{Cron: "*/5 * * * *", TZ: "Europe/Paris", Grace: time.Minute}})
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingStart, RID: uuid.New()}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/check")
		if len(e.List()) != n {
			b.Fatal("checks missing")
		}
		e.Close()
		st.Close()
	}
}
