package supervise

import (
	"strings"
	"testing"
)

func TestGroupSync(t *testing.T) {
	g := NewGroup(nil)
	defer g.Stop()
	a := Config{Name: "a", Command: []string{"sleep", "3600"}}
	b := Config{Name: "b", Command: []string{"sleep", "3600"}}
	if err := g.Sync([]Config{a, b}); err != nil {
		t.Fatal(err)
	}
	pa, _ := g.Get("a")
	pb, _ := g.Get("b")
	waitForReal(t, func() bool { return pa.Status().Running && pb.Status().Running })

	b.Env = map[string]string{"X": "1"} // changed: restarted; a unchanged; c new
	c := Config{Name: "c", Command: []string{"sleep", "3600"}}
	if err := g.Sync([]Config{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.Get("a"); p != pa {
		t.Error("unchanged process was replaced")
	}
	if p, _ := g.Get("b"); p == pb || pb.Status().Running {
		t.Error("changed process was not replaced")
	}
	if got := strings.Join(g.Names(), ","); got != "a,b,c" {
		t.Errorf("names %s", got)
	}
	if err := g.Sync([]Config{a}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.Names(), ","); got != "a" {
		t.Errorf("after removal: %s", got)
	}
	err := g.Sync([]Config{a, a, {Name: "x"}})
	if err == nil || !strings.Contains(err.Error(), `processes[1]: name: "a" used twice`) || !strings.Contains(err.Error(), "processes[2]: command: required") {
		t.Fatalf("invalid sync: %v", err)
	}
	if got := strings.Join(g.Names(), ","); got != "a" {
		t.Errorf("invalid sync changed the group: %s", got)
	}
}
