package statuspage_test

import (
	"strings"
	"testing"
)

// detailPath finds the detail link of the check named name on the overview.
func detailPath(t testing.TB, overview, name string) string {
	t.Helper()
	i := strings.Index(overview, ">"+name+"</a>")
	if i < 0 {
		t.Fatalf("%q not on the overview", name)
	}
	j := strings.LastIndex(overview[:i], `href="check/`)
	if j < 0 {
		t.Fatalf("no link for %q", name)
	}
	rest := overview[j+len(`href="`):]
	return rest[:strings.IndexByte(rest, '"')]
}
