package hcimport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeChecks decodes arbitrary answers of GET /api/v3/checks/: no
// panic; what decodes has a UUID on every check, plans without ever
// printing one, and a source planned against itself changes nothing.
func FuzzDecodeChecks(f *testing.F) {
	files, _ := filepath.Glob("testdata/*checks*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"checks":[]}`, `{"checks":null}`, `{}`, `[]`, `{"checks":[{}]}`, `{"checks":[{"unique_key":"x"}]}`,
		`{"checks":[{"uuid":"31365bce-8da9-4729-8ff3-aaa71d56b712","grace":1e308}]}`,
		`{"checks":[{"uuid":"31365bce-8da9-4729-8ff3-aaa71d56b712","grace":-1}]}`,
		`{"checks":[{"uuid":"31365bce-8da9-4729-8ff3-aaa71d56b712","timeout":60.4,"grace":60,"name":"a"}]} x`,
		`{"checks":[{"uuid":"31365bce-8da9-4729-8ff3-aaa71d56b712","schedule":"* * * * *","tz":"","grace":60,"tags":"a  a b"}]}`,
		`{"checks":[{"uuid":"31365bce8da947298ff3aaa71d56b712","schedule":"Mon 02:00","grace":60,"channels":",x,,X"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checks, err := DecodeChecks(b)
		if err != nil {
			return
		}
		for _, c := range checks {
			if c.UUID.IsZero() {
				t.Fatal("a check without UUID decoded")
			}
		}
		p := MakePlan(Input{Source: checks, SourceChannels: []Channel{{ID: "x", Name: "x"}}})
		for _, a := range p.Actions {
			line := actionLine(string(a.Op), a, "")
			for _, c := range checks {
				if strings.Contains(line, c.UUID.Secret()) {
					t.Fatalf("%q prints a UUID", line)
				}
			}
			if a.Op == OpCreate && a.Body["uuid"] != a.ID.Secret() {
				t.Fatalf("create without its uuid: %v", a.Body)
			}
		}
		dest := make([]Check, len(checks))
		for i := range checks {
			checks[i].Channels = ""
			dest[i] = checks[i]
			dest[i].Name = wantName(checks[i])
		}
		for _, a := range MakePlan(Input{Source: checks, Dest: dest}).Actions {
			if a.Op != OpUnchanged && a.Op != OpSkip {
				t.Fatalf("a source against itself: %s %v", a.Op, a.Changed)
			}
		}
	})
}

// FuzzDecodeChannels decodes arbitrary answers of GET /api/v3/channels/:
// no panic, and every channel that decodes has an id.
func FuzzDecodeChannels(f *testing.F) {
	for _, s := range []string{
		`{"channels":[{"id":"4ec5a071-2d08-4baa-898a-eb4eb3cd6941","name":"My Work Email","kind":"email"}]}`,
		`{"channels":[]}`, `{"channels":null}`, `{"channels":[{"id":" "}]}`, `{"channels":[{"id":1}]}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		chans, err := DecodeChannels(b)
		if err != nil {
			return
		}
		for _, c := range chans {
			if strings.TrimSpace(c.ID) == "" {
				t.Fatal("a channel without id decoded")
			}
		}
		MakePlan(Input{SourceChannels: chans, DestChannels: chans, ChannelMap: map[string]string{"a": "b"}})
	})
}
