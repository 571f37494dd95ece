package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

// FuzzParseArgs feeds arbitrary command lines and HEALTHPROBE_* values (which
// come from image configuration) to the argument parser: it must return a
// target or an error, never panic, and never probe.
func FuzzParseArgs(f *testing.F) {
	f.Add("-port\x008080", "", "")
	f.Add("http://127.0.0.1:8080/readyz\x00-timeout\x002s\x00-H\x00X-A: 1", "", "")
	f.Add("-status\x00200-299,301\x00grpc://h:1/svc", "Authorization: Bearer x\nX-B: 2", "3")
	f.Add("--\x00-port", "", "")
	f.Add("", "X", "1.5")
	f.Fuzz(func(t *testing.T, args, header, timeout string) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\x00")
		}
		env := map[string]string{"HEALTHPROBE_HEADER": header, "HEALTHPROBE_TIMEOUT": timeout}
		var cfg config
		fs := newFlagSet(&cfg)
		target, err := parseArgs(fs, &cfg, argv, func(k string) string { return env[k] })
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if target.Scheme == "" {
			t.Fatalf("no error and no target for %q", argv)
		}
		if cfg.timeout.d <= 0 {
			t.Fatalf("timeout %v accepted", cfg.timeout.d)
		}
	})
}
