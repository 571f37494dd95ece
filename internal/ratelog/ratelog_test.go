package ratelog_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/ratelog"
)

// lines is a slog handler that keeps each record as "LEVEL msg k=v …".
type lines struct {
	mu  sync.Mutex
	got []string
}

func (h *lines) Enabled(context.Context, slog.Level) bool { return true }
func (h *lines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *lines) WithGroup(string) slog.Handler            { return h }
func (h *lines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, b.String())
	return nil
}

// take returns the lines logged since the last take.
func (h *lines) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

func expect(t *testing.T, h *lines, want ...string) {
	t.Helper()
	synctest.Wait()
	got := h.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRepeatedErrorsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &lines{}
		l := ratelog.New(slog.New(h), ratelog.Options{Interval: 10 * time.Second})
		defer l.Close()
		ctx := context.Background()

		// A burst: the first at once, the rest counted.
		for i := range 1000 {
			l.Error(ctx, "ping not recorded", "n", i)
		}
		expect(t, h, "ERROR ping not recorded n=0")
		// Another message has its own window.
		l.Log(ctx, slog.LevelWarn, "other", "n", 0)
		expect(t, h, "WARN other n=0")
		time.Sleep(10 * time.Second)
		expect(t, h, "ERROR ping not recorded n=999 repeated=999")

		// Still failing: at most one line per interval, with its count.
		for i := range 50 {
			l.Error(ctx, "ping not recorded", "n", i)
			time.Sleep(100 * time.Millisecond)
		}
		expect(t, h)
		time.Sleep(5 * time.Second)
		expect(t, h, "ERROR ping not recorded n=49 repeated=50")

		// Quiet for a whole window: the window closes without a line, and
		// the next occurrence is logged at once.
		time.Sleep(time.Minute)
		expect(t, h)
		l.Error(ctx, "ping not recorded", "n", 7)
		expect(t, h, "ERROR ping not recorded n=7")
		time.Sleep(time.Minute)
		expect(t, h)
	})
}

// Close logs what is counted at once, stops the timers, and later lines
// are not limited.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &lines{}
		l := ratelog.New(slog.New(h), ratelog.Options{})
		ctx := context.Background()
		l.Log(ctx, slog.LevelWarn, "disk full", "n", 1)
		l.Log(ctx, slog.LevelError, "disk full", "n", 2) // the highest level counted is kept
		l.Log(ctx, slog.LevelWarn, "disk full", "n", 3)
		l.Error(ctx, "once", "n", 1)
		expect(t, h, "WARN disk full n=1", "ERROR once n=1")
		l.Close()
		expect(t, h, "ERROR disk full n=3 repeated=2")
		l.Close()
		l.Error(ctx, "once", "n", 2)
		l.Error(ctx, "once", "n", 3)
		time.Sleep(time.Minute)
		expect(t, h, "ERROR once n=2", "ERROR once n=3")
	})
}

// The default interval is DefaultInterval.
func TestDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &lines{}
		l := ratelog.New(slog.New(h), ratelog.Options{})
		defer l.Close()
		l.Error(context.Background(), "x")
		l.Error(context.Background(), "x")
		time.Sleep(ratelog.DefaultInterval - time.Nanosecond)
		expect(t, h, "ERROR x")
		time.Sleep(time.Nanosecond)
		expect(t, h, "ERROR x repeated=1")
	})
}
