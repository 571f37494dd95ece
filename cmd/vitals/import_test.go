package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/hcimport/hcimporttest"
)

const hcTestdata = "../../internal/hcimport/testdata/"

func TestImportHealthchecks(t *testing.T) {
	src := hcimporttest.New(t)
	src.SeedFiles(t, hcTestdata+"project-checks.json", hcTestdata+"project-channels.json")
	dst := hcimporttest.New(t)
	dst.Seed(nil, []hcimport.Channel{{ID: "aaaaaaaa-0000-4000-8000-000000000001", Name: "My Work Email", Kind: "email"}})
	env := func(k string) (string, bool) {
		switch k {
		case "HC_API_KEY":
			return src.Key, true
		case "VITALS_API_KEY":
			return dst.Key, true
		}
		return "", false
	}
	args := []string{"import", "healthchecks", "-from", src.URL, "-to", dst.URL, "-rate", "0", "--channel-map", "Ops Slack=My Work Email"}

	code, out, errOut := runCLI(env, append(args, "--dry-run")...)
	if code != exitFail || errOut != "" || len(dst.Writes()) != 0 {
		t.Fatalf("dry run: %d, writes %q, stderr %s", code, dst.Writes(), errOut)
	}
	for _, want := range []string{
		"create     Filesystem Backup\n", "create     Database Backup (paused)\n", "skip       Nightly report: an OnCalendar schedule",
		"dry run: would create 4, update 0, leave 0 unchanged, skip 1; nothing was written\n",
		"My Phone (sms), used by: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: no %q in\n%s", want, out)
		}
	}

	code, out, errOut = runCLI(env, args...)
	if code != exitFail || errOut != "" || !strings.Contains(out, "summary: 4 created, 0 updated, 0 unchanged, 1 skipped, 0 failed\n") ||
		!strings.Contains(out, "created    Mail import\n") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	n := len(dst.Writes())
	code, out, _ = runCLI(env, args...)
	if !strings.Contains(out, "summary: 0 created, 0 updated, 4 unchanged, 1 skipped, 0 failed\n") || len(dst.Writes()) != n {
		t.Errorf("second run: %d\n%s\nwrites %q", code, out, dst.Writes()[n:])
	}
	for _, secret := range []string{src.Key, dst.Key, src.Checks()[0].UUID.Secret()} {
		if strings.Contains(out, secret) {
			t.Errorf("output holds a secret")
		}
	}

	// Without the OnCalendar check, the import is complete: exit 0.
	code, _, _ = runCLI(env, "import", "healthchecks", "-from", dst.URL, "-to", dst.URL, "-rate", "0")
	if code != exitOK {
		t.Errorf("a complete import exits %d", code)
	}
}

func TestImportUsage(t *testing.T) {
	keys := func(k string) (string, bool) { return "key-0123456789abcdef", strings.HasSuffix(k, "API_KEY") }
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vitals.yaml")
	if err := os.WriteFile(cfg, []byte("server: {listen: [\":1\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    lookupEnv
		args   []string
		code   int
		stderr string
	}{
		{"no source", noEnv, []string{"import"}, exitUsage, "usage: vitals import healthchecks"},
		{"unknown source", noEnv, []string{"import", "cronitor"}, exitUsage, `unknown source "cronitor"`},
		{"help", noEnv, []string{"import", "healthchecks", "-h"}, exitUsage, "-channel-map"},
		{"no source key", noEnv, []string{"import", "healthchecks"}, exitUsage, "set $HC_API_KEY or -from-key"},
		{"no destination key", func(k string) (string, bool) { return "k", k == "HC_API_KEY" }, []string{"import", "healthchecks"},
			exitUsage, "set $VITALS_API_KEY or -to-key"},
		{"bad map", keys, []string{"import", "healthchecks", "-channel-map", "x"}, exitUsage, `-channel-map "x": want`},
		{"bad from", keys, []string{"import", "healthchecks", "-from", "ftp://x"}, exitUsage, `-from: "ftp://x" is not an http(s) URL`},
		{"bad config", keys, []string{"import", "healthchecks", "-config", filepath.Join(dir, "nope.yaml")}, exitFail, "-config: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(tt.env, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("%v: %d %q, want %d %q", tt.args, code, stderr, tt.code, tt.stderr)
			}
			if strings.Contains(stderr, "key-0123456789abcdef") {
				t.Error("the key is printed")
			}
		})
	}
	// The config's listen ":1" is every interface: the import goes to the
	// loopback address.
	if u, err := watchdogURL(cfg, noEnv); err != nil || u != "http://127.0.0.1:1" {
		t.Errorf("watchdogURL = %q, %v", u, err)
	}
}
