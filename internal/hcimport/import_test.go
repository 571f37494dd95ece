package hcimport_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/hcimport/hcimporttest"
)

// project is a healthchecks.io project (testdata/project-*.json, in the
// shapes of its documentation) and an empty destination with two channels.
func project(t *testing.T) (src, dst *hcimporttest.Server, srcC, dstC *hcimport.Client) {
	t.Helper()
	src = hcimporttest.New(t)
	src.SeedFiles(t, "testdata/project-checks.json", "testdata/project-channels.json")
	dst = hcimporttest.New(t)
	dst.Seed(nil, []hcimport.Channel{
		{ID: "aaaaaaaa-0000-4000-8000-000000000001", Name: "My Work Email", Kind: "email"},
		{ID: "aaaaaaaa-0000-4000-8000-000000000002", Name: "ops", Kind: "slack"},
	})
	return src, dst, newClient(t, src.URL, src.Key, hcimport.ClientOptions{}), newClient(t, dst.URL, dst.Key, hcimport.ClientOptions{})
}

func TestImport(t *testing.T) {
	src, dst, srcC, dstC := project(t)
	ctx := context.Background()
	cmap := map[string]string{"Ops Slack": "ops"}
	p, err := hcimport.Load(ctx, srcC, dstC, cmap)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := hcimport.Apply(ctx, dstC, p, hcimport.NewProgress(&out, false).Step)
	unnamed := "(unnamed, key " + src.Checks()[3].UUID.UniqueKey()[:8] + ")"
	wantLines := "created    Filesystem Backup\n" +
		"created    Database Backup (paused)\n" +
		"skipped    Nightly report: an OnCalendar schedule: Vitals takes 5-field cron expressions only; rewrite it as cron in healthchecks.io, or add the check by hand\n" +
		"created    " + unnamed + "\n" +
		"created    Mail import\n"
	if out.String() != wantLines {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), wantLines)
	}
	if r.Created != 4 || r.Updated != 0 || len(r.Skipped) != 1 || len(r.Failed) != 0 || r.OK() {
		t.Errorf("report %+v (an OnCalendar check is not imported: not OK)", r)
	}
	wantWrites := []string{"create Filesystem Backup", "create Database Backup", "pause Database Backup", "create unnamed", "create Mail import"}
	if got := dst.Writes(); !reflect.DeepEqual(got, wantWrites) {
		t.Errorf("writes %q, want %q", got, wantWrites)
	}
	// Every imported check is the source's, UUID first.
	got := dst.Checks()
	for i, j := range []int{0, 1, 3, 4} {
		s, d := src.Checks()[j], got[i]
		s.Tags, s.Channels, d.Channels = strings.Join(strings.Fields(s.Tags), " "), "", ""
		if s.Name == "" {
			s.Name = "unnamed" // as healthchecks.io shows it; Vitals requires a name
		}
		if s.Tags == "mail mail imap" {
			s.Tags = "mail imap"
		}
		if !s.Paused() {
			s.Status = "new"
		}
		if !reflect.DeepEqual(s, d) {
			t.Errorf("imported\n%+v\nsource\n%+v", d, s)
		}
	}
	if got[0].Channels != "aaaaaaaa-0000-4000-8000-000000000001,aaaaaaaa-0000-4000-8000-000000000002" || got[2].Channels != "" {
		t.Errorf("channels %q, %q", got[0].Channels, got[2].Channels)
	}

	var sum bytes.Buffer
	hcimport.PrintSummary(&sum, p, &r)
	wantSum := `summary: 4 created, 0 updated, 0 unchanged, 1 skipped, 0 failed
skipped:
  Nightly report: an OnCalendar schedule: Vitals takes 5-field cron expressions only; rewrite it as cron in healthchecks.io, or add the check by hand
1 channels have no counterpart in the destination; the checks that use them were imported without them:
  My Phone (sms), used by: ` + unnamed + `, Database Backup
    add to the config: notifiers: {"My Phone": {webhook: {url: "https://..."}}}
      (Vitals has no sms notifier: a webhook to a bridge, or a webhook, slack or email notifier instead)
    or map it onto a channel the destination has: --channel-map 'My Phone=NAME'
`
	if sum.String() != wantSum {
		t.Errorf("summary:\n%s\nwant:\n%s", sum.String(), wantSum)
	}

	// The second run: nothing to do, nothing written.
	p, err = hcimport.Load(ctx, srcC, dstC, cmap)
	if err != nil {
		t.Fatal(err)
	}
	n := len(dst.Writes())
	r = hcimport.Apply(ctx, dstC, p, nil)
	if r.Unchanged != 4 || r.Created+r.Updated != 0 || len(dst.Writes()) != n {
		t.Errorf("second run: %+v, writes %q", r, dst.Writes()[n:])
	}
}

func TestImportUpdatesOnlyWhatChanged(t *testing.T) {
	src, dst, srcC, dstC := project(t)
	ctx := context.Background()
	p, err := hcimport.Load(ctx, srcC, dstC, nil)
	if err != nil {
		t.Fatal(err)
	}
	hcimport.Apply(ctx, dstC, p, nil)

	// Edited at the source since: one check resumed and regraced, one
	// retagged; a third owned by the destination's config.
	checks := src.Checks()
	fresh := hcimporttest.New(t)
	checks[1].Status, checks[1].Grace = "up", 60
	checks[4].Tags = "mail"
	checks[0].Desc = "changed"
	fresh.Seed(checks, nil)
	dst.Own(checks[0].UUID)
	srcC = newClient(t, fresh.URL, fresh.Key, hcimport.ClientOptions{})
	if p, err = hcimport.Load(ctx, srcC, dstC, nil); err != nil {
		t.Fatal(err)
	}
	var plan bytes.Buffer
	hcimport.PrintPlan(&plan, p)
	unnamed := "(unnamed, key " + checks[3].UUID.UniqueKey()[:8] + ")"
	wantPlan := "update     Filesystem Backup: channels, desc\n" +
		"update     Database Backup: channels, grace, resumed\n" +
		"skip       Nightly report: an OnCalendar schedule: Vitals takes 5-field cron expressions only; rewrite it as cron in healthchecks.io, or add the check by hand\n" +
		"unchanged  " + unnamed + "\n" +
		"update     Mail import: tags\n"
	if plan.String() != wantPlan {
		t.Errorf("plan:\n%s\nwant:\n%s", plan.String(), wantPlan)
	}
	n := len(dst.Writes())
	var out bytes.Buffer
	r := hcimport.Apply(ctx, dstC, p, hcimport.NewProgress(&out, true).Step)
	wantWrites := []string{
		"update Database Backup: channels, grace", "resume Database Backup",
		"update Mail import: tags",
	}
	if got := dst.Writes()[n:]; !reflect.DeepEqual(got, wantWrites) {
		t.Errorf("writes %q, want %q", got, wantWrites)
	}
	if r.Updated != 2 || r.Unchanged != 1 || len(r.Skipped) != 2 || r.Skipped[0].Problem || !r.Skipped[1].Problem ||
		r.Skipped[0].Reason != "the destination refuses to change it, e.g. its config file owns it (update: 409 Conflict: this check is defined in the config file <uuid>)" {
		t.Errorf("report %+v", r)
	}
	// The terminal's bar ends on its own line, with the skips above it.
	if s := out.String(); !strings.HasSuffix(s, "[==============================] 5/5  0 created, 2 updated, 1 unchanged, 2 skipped, 0 failed\n") ||
		!strings.Contains(s, "\r\x1b[Kskipped    Filesystem Backup: the destination refuses") {
		t.Errorf("progress bar: %q", s)
	}
	for _, secret := range []string{checks[0].UUID.Secret(), src.Key, dst.Key} {
		if strings.Contains(out.String()+plan.String(), secret) {
			t.Errorf("a secret is printed: %s", secret)
		}
	}
}

func TestImportCancelled(t *testing.T) {
	_, _, srcC, dstC := project(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := hcimport.Load(ctx, srcC, dstC, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	r := hcimport.Apply(ctx, dstC, p, nil)
	if len(r.Failed) != 5 || r.Created != 0 || r.Failed[0].Reason != "not done: context canceled" {
		t.Errorf("report %+v", r)
	}
}
