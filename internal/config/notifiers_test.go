package config

import (
	"context"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/notify"
)

// pagerSpec is a notifier kind that only a test registers.
type pagerSpec struct {
	Number string `yaml:"number"`
}

func (s *pagerSpec) Validate() error { return nil }

func (s *pagerSpec) Build(notify.Deps) (notify.Notifier, error) {
	return notify.NotifierFunc(func(context.Context, notify.Notification) error { return nil }), nil
}

// A kind registered once, in the registry passed to the loader, is known
// to validation; the default registry does not know it.
func TestLoadOptionsNotifiers(t *testing.T) {
	src := []byte("notifiers:\n  oncall: {pager: {number: '555'}}\n")
	_, err := Parse("n.yaml", src, nil)
	want := "n.yaml:2: notifiers.oncall.pager: unknown notifier kind (known: docker, email, exec, process, slack, webhook)"
	if err == nil || err.Error() != want {
		t.Fatalf("default registry: %v, want %q", err, want)
	}
	reg := notify.NewRegistry()
	reg.Register("pager", func() notify.Spec { return new(pagerSpec) })
	cfg, err := LoadOptions{Notifiers: reg}.Parse("n.yaml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := cfg.Actions(IDs{}).Notifiers["oncall"].(*pagerSpec)
	if !ok || sp.Number != "555" {
		t.Fatalf("decoded %#v", cfg.Actions(IDs{}).Notifiers["oncall"])
	}
}
