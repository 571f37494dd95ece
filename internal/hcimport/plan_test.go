package hcimport

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
)

// Channel ids of testdata/project-channels.json, and the destination's.
const (
	srcEmail = "4ec5a071-2d08-4baa-898a-eb4eb3cd6941"
	srcSMS   = "746a083e-f542-4554-be1a-707ce16d3acc"
	srcSlack = "9b0f3c2e-6a0b-4c4e-8f0e-2f6d7c1a5b3d"
	dstEmail = "aaaaaaaa-0000-4000-8000-000000000001"
	dstOps   = "aaaaaaaa-0000-4000-8000-000000000002"
)

var destChannels = []Channel{{ID: dstEmail, Name: "My Work Email", Kind: "email"}, {ID: dstOps, Name: "ops", Kind: "slack"}}

func readTestdata(t *testing.T) ([]Check, []Channel) {
	t.Helper()
	b, err := os.ReadFile("testdata/project-checks.json")
	if err != nil {
		t.Fatal(err)
	}
	checks, err := DecodeChecks(b)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile("testdata/project-channels.json"); err != nil {
		t.Fatal(err)
	}
	chans, err := DecodeChannels(b)
	if err != nil {
		t.Fatal(err)
	}
	return checks, chans
}

// summary is an action as one comparable line.
func summary(a Action) string {
	s := string(a.Op) + " " + a.Label
	if len(a.Changed) > 0 {
		s += ": " + strings.Join(a.Changed, ",")
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	if a.Op == OpCreate && a.Pause {
		s += " (paused)"
	}
	return s
}

func summaries(p Plan) []string {
	out := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		out[i] = summary(a)
	}
	return out
}

func TestPlanCreatesEveryCheckWithItsUUID(t *testing.T) {
	src, chans := readTestdata(t)
	p := MakePlan(Input{Source: src, SourceChannels: chans, DestChannels: destChannels, ChannelMap: map[string]string{"Ops Slack": "ops"}})
	want := []string{
		"create Filesystem Backup",
		"create Database Backup (paused)",
		"skip Nightly report: an OnCalendar schedule: Vitals takes 5-field cron expressions only; rewrite it as cron in healthchecks.io, or add the check by hand",
		"create (unnamed, key " + src[3].UUID.UniqueKey()[:8] + ")",
		"create Mail import",
	}
	if got := summaries(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fs := p.Actions[0].Body
	wantFS := map[string]any{
		"uuid": "31365bce-8da9-4729-8ff3-aaa71d56b712", "name": "Filesystem Backup", "slug": "filesystem-backup",
		"tags": "backup fs", "desc": "Runs incremental backup every hour", "grace": int64(600), "timeout": int64(3600),
		"manual_resume": false, "methods": "", "start_kw": "", "success_kw": "", "failure_kw": "",
		"filter_subject": false, "filter_body": false, "filter_http_body": false, "filter_default_fail": false,
		"channels": dstEmail + "," + dstOps,
	}
	if !reflect.DeepEqual(fs, wantFS) {
		t.Errorf("create body:\n%v\nwant\n%v", fs, wantFS)
	}
	db := p.Actions[1].Body
	if db["schedule"] != "15 5 * * *" || db["tz"] != "Europe/Riga" || db["methods"] != "POST" || db["manual_resume"] != true ||
		db["channels"] != dstEmail || db["timeout"] != nil {
		t.Errorf("cron check's body: %v", db)
	}
	if mail := p.Actions[4].Body; mail["tags"] != "mail imap" || mail["filter_default_fail"] != true || mail["success_kw"] != "SUCCESS,DONE" {
		t.Errorf("tags are sent without repeats, filters kept: %v", mail)
	}
	wantUnmapped := []UnmappedChannel{{
		Channel: Channel{ID: srcSMS, Name: "My Phone", Kind: "sms"}, Target: "My Phone",
		Checks: []string{"(unnamed, key " + src[3].UUID.UniqueKey()[:8] + ")", "Database Backup"},
	}}
	if !reflect.DeepEqual(p.Unmapped, wantUnmapped) {
		t.Errorf("unmapped = %+v, want %+v", p.Unmapped, wantUnmapped)
	}
	if len(p.Warnings) != 0 || p.Untouched != 0 {
		t.Errorf("warnings %v, untouched %d", p.Warnings, p.Untouched)
	}
}

// dest returns the checks as the destination shows them once created:
// the channels as destination ids.
func asDest(src []Check, p Plan) []Check {
	var out []Check
	for i, s := range src {
		a := p.Actions[i]
		if a.Op != OpCreate {
			continue
		}
		d := s
		d.Name = a.Body["name"].(string)
		d.Tags = a.Body["tags"].(string)
		d.Channels = a.Body["channels"].(string)
		if !s.Paused() {
			d.Status = "new"
		}
		out = append(out, d)
	}
	return out
}

func TestPlanSecondRunChangesNothing(t *testing.T) {
	src, chans := readTestdata(t)
	in := Input{Source: src, SourceChannels: chans, DestChannels: destChannels, ChannelMap: map[string]string{"Ops Slack": "ops"}}
	in.Dest = asDest(src, MakePlan(in))
	for _, a := range MakePlan(in).Actions {
		if a.Op != OpUnchanged && a.Op != OpSkip {
			t.Errorf("second run: %s", summary(a))
		}
	}
}

func TestPlanUpdatesOnlyWhatDiffers(t *testing.T) {
	id := model.NewCheckID()
	s := Check{UUID: id, Name: "job", Slug: "job", Tags: "a b", Grace: 60, Timeout: 300, Status: "up", Channels: srcEmail}
	chans := []Channel{{ID: srcEmail, Name: "My Work Email", Kind: "email"}}
	tests := []struct {
		name    string
		dest    func(d *Check)
		src     func(s *Check)
		changed []string
		body    map[string]any
	}{
		{"same", func(*Check) {}, nil, nil, nil},
		{"tags in another order, spaced", func(d *Check) { d.Tags = " b  a" }, nil, nil, nil},
		{"channel named instead of id", func(d *Check) { d.Channels = "My Work Email" }, nil, nil, nil},
		{"channel id in upper case", func(d *Check) { d.Channels = strings.ToUpper(dstEmail) }, nil, nil, nil},
		{"grace and name", func(d *Check) { d.Grace, d.Name = 120, "old" }, nil,
			[]string{"grace", "name"}, map[string]any{"grace": int64(60), "name": "job"}},
		{"channels", func(d *Check) { d.Channels = "" }, nil, []string{"channels"}, map[string]any{"channels": dstEmail}},
		{"simple to cron", nil, func(s *Check) { s.Schedule, s.TZ, s.Timeout = "0 3 * * *", "Europe/Paris", 0 },
			[]string{"schedule", "tz"}, map[string]any{"schedule": "0 3 * * *", "tz": "Europe/Paris"}},
		{"cron to simple", func(d *Check) { d.Schedule, d.TZ, d.Timeout = "0 3 * * *", "UTC", 0 }, nil,
			[]string{"timeout"}, map[string]any{"timeout": int64(300)}},
		{"cron without tz is UTC", func(d *Check) { d.Schedule, d.TZ, d.Timeout = "0 3 * * *", "UTC", 0 },
			func(s *Check) { s.Schedule, s.TZ, s.Timeout = "0 3 * * *", "", 0 }, nil, nil},
		{"config-owned, unchanged", func(d *Check) { d.Source = "config" }, nil, nil, nil},
		{"paused at the source", nil, func(s *Check) { s.Status = "paused" }, []string{"paused"}, nil},
		{"paused at the destination", func(d *Check) { d.Status = "paused" }, nil, []string{"resumed"}, nil},
		{"filters", func(d *Check) { d.FilterBody, d.StartKW = true, "go" }, nil,
			[]string{"filter_body", "start_kw"}, map[string]any{"filter_body": false, "start_kw": ""}},
		{"methods and manual resume", nil, func(s *Check) { s.Methods, s.ManualResume = "POST", true },
			[]string{"manual_resume", "methods"}, map[string]any{"manual_resume": true, "methods": "POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := s
			if tt.src != nil {
				tt.src(&src)
			}
			d := s
			d.Channels, d.Status = dstEmail, "new"
			if tt.dest != nil {
				tt.dest(&d)
			}
			p := MakePlan(Input{Source: []Check{src}, Dest: []Check{d}, SourceChannels: chans, DestChannels: destChannels})
			a := p.Actions[0]
			wantOp := OpUpdate
			if tt.changed == nil {
				wantOp = OpUnchanged
			}
			if a.Op != wantOp || !reflect.DeepEqual(a.Changed, tt.changed) || !reflect.DeepEqual(a.Body, tt.body) {
				t.Errorf("got %s %v %v, want %s %v %v", a.Op, a.Changed, a.Body, wantOp, tt.changed, tt.body)
			}
			if a.Pause != (src.Paused() && !d.Paused()) || a.Resume != (!src.Paused() && d.Paused()) {
				t.Errorf("pause %v resume %v", a.Pause, a.Resume)
			}
		})
	}
}

func TestPlanSkipsWhatTheConfigOwns(t *testing.T) {
	s := Check{UUID: model.NewCheckID(), Name: "job", Grace: 60, Timeout: 300, Status: "paused"}
	d := s
	d.Grace, d.Status, d.Source = 120, "up", "config"
	a := MakePlan(Input{Source: []Check{s}, Dest: []Check{d}}).Actions[0]
	if a.Op != OpSkip || !a.Owned || a.Body != nil || a.Pause ||
		a.Reason != "the watchdog's config file owns it; change it there (differs in grace, paused)" {
		t.Errorf("%+v", a)
	}
}

func TestPlanSkips(t *testing.T) {
	ok := Check{UUID: model.NewCheckID(), Name: "ok", Grace: 60, Timeout: 60}
	bad := func(f func(c *Check)) Check {
		c := ok
		c.UUID = model.NewCheckID()
		f(&c)
		return c
	}
	tests := []struct {
		name   string
		check  Check
		reason string
	}{
		{"OnCalendar", bad(func(c *Check) { c.Schedule = "*-*-* 02:00:00" }), "an OnCalendar schedule"},
		{"cron robfig refuses", bad(func(c *Check) { c.Schedule = "0 0 L * *" }), "Vitals cannot take it: schedule.cron:"},
		{"unknown zone", bad(func(c *Check) { c.Schedule, c.TZ = "0 0 * * *", "Mars/Olympus" }), `schedule.tz: unknown time zone "Mars/Olympus"`},
		{"long tag", bad(func(c *Check) { c.Tags = strings.Repeat("x", 65) }), "Vitals cannot take it: tags:"},
		{"zero timeout", bad(func(c *Check) { c.Timeout = 0 }), "schedule.period: must be positive"},
		{"name over 100 bytes", bad(func(c *Check) { c.Name = strings.Repeat("é", 60) }), "name: longer than 100 bytes"},
		{"a Vitals pull check", bad(func(c *Check) { c.Kind = "pull" }), "a pull check: only push (heartbeat) checks are imported"},
		{"twice", ok, "the source lists this UUID twice"},
	}
	src := []Check{ok}
	for _, tt := range tests {
		src = append(src, tt.check)
	}
	p := MakePlan(Input{Source: src})
	if p.Actions[0].Op != OpCreate {
		t.Fatalf("first: %s", summary(p.Actions[0]))
	}
	for i, tt := range tests {
		a := p.Actions[i+1]
		if a.Op != OpSkip || !strings.Contains(a.Reason, tt.reason) || a.Body != nil {
			t.Errorf("%s: %s, want a skip for %q", tt.name, summary(a), tt.reason)
		}
	}
}

func TestPlanChannelMap(t *testing.T) {
	src, chans := readTestdata(t)
	tests := []struct {
		name     string
		cmap     map[string]string
		slack    string // the destination channels of "Mail import"
		unmapped []string
		warnings []string
	}{
		{"by name", map[string]string{"Ops Slack": "ops"}, dstOps, []string{"My Phone"}, nil},
		{"by source id onto a destination id", map[string]string{srcSlack: dstOps, strings.ToUpper(srcSMS): dstEmail}, dstOps, nil, nil},
		{"none", nil, "", []string{"My Phone", "Ops Slack"}, nil},
		{"typos", map[string]string{"Ops Slak": "ops", "Ops Slack": "opz"}, "", []string{"My Phone", "Ops Slack"}, []string{
			`--channel-map Ops Slack=opz: the destination has no channel of that name or id (or more than one)`,
			`--channel-map Ops Slak: the source has no channel of that name or id`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MakePlan(Input{Source: src, SourceChannels: chans, DestChannels: destChannels, ChannelMap: tt.cmap})
			if got := p.Actions[4].Body["channels"]; got != tt.slack {
				t.Errorf("channels of Mail import = %v, want %q", got, tt.slack)
			}
			var names []string
			for _, u := range p.Unmapped {
				names = append(names, u.Name)
			}
			if !reflect.DeepEqual(names, tt.unmapped) || !reflect.DeepEqual(p.Warnings, tt.warnings) {
				t.Errorf("unmapped %v warnings %q, want %v %q", names, p.Warnings, tt.unmapped, tt.warnings)
			}
		})
	}
}

func TestPlanUnknownAndUnnamedChannels(t *testing.T) {
	// The docs' checks name channels their channel list does not have.
	b, _ := os.ReadFile("testdata/hc-docs-checks.json")
	src, err := DecodeChecks(b)
	if err != nil {
		t.Fatal(err)
	}
	unnamed := Channel{ID: "1bdea468-03bf-47b8-ab27-29a9dd0e4b94", Kind: "email"}
	p := MakePlan(Input{Source: src, SourceChannels: []Channel{unnamed}, DestChannels: destChannels})
	if len(p.Unmapped) != 2 || p.Unmapped[0].Kind != "email" || p.Unmapped[1].Kind != "" ||
		!reflect.DeepEqual(p.Unmapped[0].Checks, []string{"Database Backup", "Filesystem Backup"}) {
		t.Fatalf("unmapped = %+v", p.Unmapped)
	}
	p = MakePlan(Input{Source: src, SourceChannels: []Channel{unnamed}, DestChannels: destChannels,
		ChannelMap: map[string]string{unnamed.ID: "My Work Email"}})
	if p.Actions[0].Body["channels"] != dstEmail || len(p.Unmapped) != 1 {
		t.Errorf("an unnamed channel maps by id: %v, %+v", p.Actions[0].Body["channels"], p.Unmapped)
	}
}

func TestPlanLabelsAndUntouched(t *testing.T) {
	a, b, c, d := model.NewCheckID(), model.NewCheckID(), model.NewCheckID(), model.NewCheckID()
	mk := func(id model.CheckID, name string) Check {
		return Check{UUID: id, Name: name, Grace: 60, Timeout: 60}
	}
	p := MakePlan(Input{
		Source: []Check{mk(a, "backup"), mk(b, "backup"), mk(c, "web"), mk(d, "bad\x1b[2J")},
		Dest:   []Check{mk(model.NewCheckID(), "elsewhere"), mk(c, "web")},
	})
	want := []string{"backup (key " + a.UniqueKey()[:8] + ")", "backup (key " + b.UniqueKey()[:8] + ")", "web", `"bad\x1b[2J"`}
	for i, w := range want {
		if p.Actions[i].Label != w {
			t.Errorf("label %d = %q, want %q", i, p.Actions[i].Label, w)
		}
		if strings.Contains(fmt.Sprint(p.Actions[i].Label, p.Actions[i].ID), p.Actions[i].ID.Secret()) {
			t.Errorf("the UUID shows in %q", p.Actions[i].Label)
		}
	}
	if p.Untouched != 1 || p.Actions[2].Op != OpUnchanged || p.Actions[3].Op != OpSkip {
		t.Errorf("untouched %d, third %s", p.Untouched, summary(p.Actions[2]))
	}
}
