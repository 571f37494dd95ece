package checkrun

import (
	"strings"
	"testing"

	"github.com/vitals-go/vitals/health"
)

type ev struct {
	r *health.Result
	c *health.CheckEvent
}

func ok() ev { return ev{r: &health.Result{Status: health.StatusUp}} }
func fail(n int, s health.Status) ev {
	return ev{r: &health.Result{Status: s, Error: "x", ConsecutiveFailures: n}}
}
func to(s health.Status) ev { return ev{c: &health.CheckEvent{To: s}} }

func TestCheckOutageLog(t *testing.T) {
	up, down := health.StatusUp, health.StatusDown
	cases := []struct {
		name string
		log  []ev
		want string // empty: valid
	}{
		{"valid", []ev{ok(), to(up), fail(1, up), fail(2, up), fail(3, down), to(down), ok(), ok(), to(up)}, ""},
		{"down too early", []ev{ok(), to(up), fail(1, up), fail(2, down), to(down), ok(), ok(), to(up)}, "after 2 consecutive failures"},
		{"not up before the threshold", []ev{ok(), to(up), fail(1, down), fail(2, up), fail(3, down), to(down), ok(), ok(), to(up)}, "want UP until 3"},
		{"up too early", []ev{ok(), to(up), fail(1, up), fail(2, up), fail(3, down), to(down), ok(), to(up)}, "after 1 consecutive successes"},
		{"success streak broken", []ev{ok(), to(up), fail(1, up), fail(2, up), fail(3, down), to(down), ok(), fail(4, down), ok(), to(up)}, "after 1 consecutive successes"},
		{"never recovered", []ev{ok(), to(up), fail(1, up), fail(2, up), fail(3, down), to(down)}, "not seen in full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOutageLog(tc.log, func(e ev) (*health.Result, *health.CheckEvent) { return e.r, e.c })
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
