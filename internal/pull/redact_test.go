package pull

import "testing"

func TestRedactJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`{"url":"https://ops:hunter2@api.internal/readyz","header":{"Authorization":"Bearer abc","X-Trace":"1"},"status":"200"}`,
			`{"header":{"Authorization":"xxxxx","X-Trace":"xxxxx"},"status":"200","url":"https://ops:xxxxx@api.internal/readyz"}`},
		{`{"command":["backup","--password=hunter2","/data"],"env":["PGPASSWORD=hunter2","MODE"]}`,
			`{"command":["backup","--password=xxxxx","/data"],"env":["PGPASSWORD=xxxxx","MODE=xxxxx"]}`},
		{`["not","an","object"]`, ``},
	} {
		if got := string(RedactJSON([]byte(tc.in))); got != tc.want {
			t.Errorf("RedactJSON(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
