package statuspage_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
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

// pingCounter is a History that counts its Pings queries.
type pingCounter struct {
	statuspage.History
	n atomic.Int64
}

func (c *pingCounter) Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error) {
	c.n.Add(1)
	return c.History.Pings(ctx, id, q)
}
