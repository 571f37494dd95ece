package outbox

import (
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/notify"
)

func TestBuildAndCheckRules(t *testing.T) {
	specs := map[string]notify.Spec{
		"ops":    &notify.WebhookConfig{URL: "http://127.0.0.1:1/hook"},
		"worker": &notify.ProcessConfig{Name: "worker"},
	}
	ch, err := notify.Build(specs, notify.Deps{})
	if err == nil || !strings.Contains(err.Error(), "notifiers.worker: name: no such supervised process") || ch["ops"] == nil {
		t.Fatalf("Build: %v, %v", ch, err)
	}
	ch, err = notify.Build(specs, notify.Deps{Processes: func(string) (notify.Restarter, bool) { return notify.RestarterFunc(nil), true }})
	if err != nil || len(ch) != 2 {
		t.Fatalf("Build with processes: %v", err)
	}
	_, known := ch["ops"]
	_ = known
	err = CheckRules(Rules{Down: []string{"ops", "pager"}, Flapping: []string{"x"}}, func(n string) bool { _, ok := ch[n]; return ok })
	if err == nil || err.Error() != "actions.down[1]: unknown notifier \"pager\"\nactions.flapping[0]: unknown notifier \"x\"" {
		t.Fatalf("CheckRules: %v", err)
	}
}
