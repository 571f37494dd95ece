package config

import (
	"fmt"
	"strings"
	"testing"
)

// bigFile is a config of n heartbeat checks without aliases; with merge,
// every check takes its period and tags from one anchored mapping
// (`<<: *hb`), an honest use of aliases.
func bigFile(n int, merge bool) []byte {
	var b strings.Builder
	b.WriteString("retention: {pings: 20}\npings: {ping_key: abcdefghijklmnopqrstuv}\n")
	if merge {
		b.WriteString("defaults_for_checks: &hb {period: 5m, grace: 1m, tags: [scale, heartbeat]}\n")
	}
	b.WriteString("checks:\n")
	for i := range n {
		if merge {
			fmt.Fprintf(&b, "  - {<<: *hb, name: c%06d}\n", i)
		} else {
			fmt.Fprintf(&b, "  - {name: nightly-backup-%06d, slug: nightly-backup-%06d, period: %dm, grace: 5m, tags: [scale, team%d]}\n", i, i, 1+i%60, i%20)
		}
	}
	return []byte(b.String())
}

// TestHundredThousandChecksLoad: a file of 100,000 checks (over 8 MiB)
// loads; the guard against alias bombs does not count the nodes of an
// honest file (it was refused at check 16,664 before).
func TestHundredThousandChecksLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	data := bigFile(100_000, false)
	if len(data) <= 8<<20 {
		t.Fatalf("the file is %d bytes: make it larger than the old limit", len(data))
	}
	cfg, err := Parse("big.yaml", data, nil)
	if err != nil {
		t.Fatal(clipErr(err))
	}
	if len(cfg.Checks) != 100_000 || cfg.Checks[99_999].Name != "nightly-backup-099999" {
		t.Fatalf("%d checks", len(cfg.Checks))
	}
}

// TestMergeKeysAtScale: 20,000 checks that each merge one anchored
// mapping load: half their nodes come through aliases, well under the
// share an alias bomb reaches.
func TestMergeKeysAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	_, err := Parse("merge.yaml", bigFile(20_000, true), nil)
	// The anchor's holder is an unknown field: that is the one error.
	if err == nil || strings.Contains(err.Error(), "aliases") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("want only the unknown field, got %v", clipErr(err))
	}
}

// TestAliasBombInSchema: aliases the schema walk follows (a list of
// 2,000 tags repeated by 2,000 checks: 4,000,000 nodes from a 40 kB
// file) are refused by the alias share, quickly, before decoding.
func TestAliasBombInSchema(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n  - name: c0\n    period: 1m\n    tags: &t [")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("x")
	}
	b.WriteString("]\n")
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, "  - {name: c%d, period: 1m, tags: *t}\n", i)
	}
	_, err := Parse("bomb.yaml", []byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "aliases expand too far") {
		t.Fatalf("want the alias guard, got %v", clipErr(err))
	}
}

func clipErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}

// BenchmarkParse100k measures loading a file of 100,000 checks
// (BENCHMARKS.md, "100,000 checks in one process"); 10k is the baseline.
func BenchmarkParse100k(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := bigFile(n, false)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse("big.yaml", data, nil); err != nil {
					b.Fatal(clipErr(err))
				}
			}
		})
	}
}
