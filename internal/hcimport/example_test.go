package hcimport_test

import (
	"os"

	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/model"
)

// A plan is a pure function of both sides: here one check to create (its
// e-mail channel maps by name, its SMS channel has no counterpart), and
// one already imported whose grace changed since.
func ExampleMakePlan() {
	backup, _ := model.ParseCheckID("31365bce-8da9-4729-8ff3-aaa71d56b712")
	report, _ := model.ParseCheckID("803f680d-e89b-492b-82ef-2be7b774a92d")
	src := []hcimport.Check{
		{UUID: backup, Name: "Backups", Tags: "prod", Grace: 600, Timeout: 3600, Status: "up", Channels: "c1,c2"},
		{UUID: report, Name: "Report", Grace: 1200, Schedule: "15 5 * * *", TZ: "Europe/Riga", Status: "paused"},
	}
	dest := []hcimport.Check{{UUID: report, Name: "Report", Grace: 600, Schedule: "15 5 * * *", TZ: "Europe/Riga", Status: "paused"}}
	p := hcimport.MakePlan(hcimport.Input{
		Source:         src,
		SourceChannels: []hcimport.Channel{{ID: "c1", Name: "Email to Alice", Kind: "email"}, {ID: "c2", Name: "SMS", Kind: "sms"}},
		Dest:           dest,
		DestChannels:   []hcimport.Channel{{ID: "v1", Name: "Email to Alice", Kind: "email"}},
	})
	hcimport.PrintPlan(os.Stdout, p)
	hcimport.PrintSummary(os.Stdout, p, nil)
	// Output:
	// create     Backups
	// update     Report: grace
	// dry run: would create 1, update 1, leave 0 unchanged, skip 0; nothing was written
	// 1 channels have no counterpart in the destination; the checks that use them were imported without them:
	//   SMS (sms), used by: Backups
	//     add to the config: notifiers: {"SMS": {webhook: {url: "https://..."}}}
	//       (Vitals has no sms notifier: a webhook to a bridge, or a webhook, slack or email notifier instead)
	//     or map it onto a channel the destination has: --channel-map 'SMS=NAME'
}
