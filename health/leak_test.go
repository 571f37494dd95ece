package health

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStopLeavesNoGoroutines runs a monitor for real (not in a synctest
// bubble) and checks that Stop leaves no goroutine of this package behind.
func TestStopLeavesNoGoroutines(t *testing.T) {
	m := New(Options{Logger: quiet})
	for _, c := range []Check{
		{Name: "fast", Checker: up(), Interval: time.Millisecond},
		{Name: "slow", Checker: &switchable{delay: time.Hour}, Interval: time.Millisecond, Timeout: 5 * time.Millisecond},
		{Name: "demand", Checker: up(), OnDemand: true},
	} {
		must(t, m.Register(c))
	}
	must(t, m.Start())
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ := m.Result("slow")
		if r.ConsecutiveFailures >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	get(t, m, "/readyz")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Stop has waited for every goroutine; give the runtime a moment to
	// retire them from the goroutine list.
	for {
		leaked := goroutinesOf("vitals/health.")
		if leaked == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Stop:\n%s", leaked)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutinesOf returns the stacks of goroutines running code matching pkg,
// other than the test's own.
func goroutinesOf(pkg string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, pkg) && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
