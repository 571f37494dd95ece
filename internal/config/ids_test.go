package config

import (
	"testing"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

func TestDeriveCheckID(t *testing.T) {
	s1, s2 := []byte("first installation secret 32 b.."), []byte("second installation secret 32 b.")
	a := DeriveCheckID(s1, "backup")
	if a != DeriveCheckID(s1, "backup") {
		t.Error("not stable")
	}
	if a == DeriveCheckID(s2, "backup") || a == DeriveCheckID(s1, "backup2") || a == LegacyCheckID("backup") {
		t.Error("two secrets, two names or the legacy derivation give the same id")
	}
	if a.UUID().Version() != 8 || a.UUID().Variant() != uuid.RFC4122 {
		t.Errorf("%s: version %d, variant %v", a, a.UUID().Version(), a.UUID().Variant())
	}
	if p, err := uuid.Parse(a.Secret()); err != nil || p != a.UUID() {
		t.Errorf("does not round-trip: %v", err)
	}
}

func TestIDs(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`
notifiers:
  ops: {webhook: {url: "http://127.0.0.1:1/hook"}}
maintenance:
  - {checks: [db], start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z}
checks:
  - {name: db, tcp: {address: "127.0.0.1:5432"}, actions: {down: [ops]}}
  - {name: api, id: 7e0e1fc8-6a4e-4a6b-9d1e-2f0f3c4b5a69, period: 1h, parents: [db]}
  - {name: job, period: 1h, parents: [db]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	pinned := model.CheckID(uuid.MustParse("7e0e1fc8-6a4e-4a6b-9d1e-2f0f3c4b5a69"))
	if got := cfg.LegacyIDs(); len(got) != 2 || got["db"] != LegacyCheckID("db") || got["job"] != LegacyCheckID("job") {
		t.Errorf("LegacyIDs %v: the checks without id, with their legacy ids", got)
	}
	for _, tc := range []struct {
		name string
		ids  IDs
		db   model.CheckID
		job  model.CheckID
	}{
		{"secret", testIDs, DeriveCheckID(testIDs.Secret, "db"), DeriveCheckID(testIDs.Secret, "job")},
		{"legacy db", IDs{Secret: testIDs.Secret, Legacy: map[string]bool{"db": true}}, LegacyCheckID("db"), DeriveCheckID(testIDs.Secret, "job")},
		{"no secret", IDs{}, model.CheckID{}, model.CheckID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checks := cfg.ModelChecks(tc.ids)
			if checks[0].ID != tc.db || checks[1].ID != pinned || checks[2].ID != tc.job {
				t.Errorf("ids %v %v %v", checks[0].ID, checks[1].ID, checks[2].ID)
			}
			a := cfg.Actions(tc.ids)
			if len(checks[0].Routes.Down) != 1 || len(a.Parents[pinned]) != 1 || a.Parents[pinned][0] != tc.db ||
				a.Parents[tc.job][0] != tc.db || a.Windows[0].Checks[0] != tc.db {
				t.Errorf("actions not keyed by the same ids: %+v", a)
			}
		})
	}
	// The config is a value: asking with other ids changes nothing.
	if cfg.ModelChecks(testIDs)[0].ID != DeriveCheckID(testIDs.Secret, "db") {
		t.Error("an earlier call changed the config")
	}

	rotate, err := Parse("c.yaml", []byte("pings: {keep_legacy_ids: false}\nchecks: [{name: job}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := rotate.LegacyIDs(); len(got) != 0 {
		t.Errorf("keep_legacy_ids: false still lists %v", got)
	}
}
