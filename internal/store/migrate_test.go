package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/store"
)

// Steps that are not numbered 1, 2, 3, … or lack a description or a
// function are refused before the database is touched (a nil driver).
func TestMigrateRefusesBadSteps(t *testing.T) {
	up := func(context.Context, int) error { return nil }
	for _, steps := range [][]store.Migration[int]{
		{{Version: 2, Description: "two", Up: up}},
		{{Version: 1, Description: "one", Up: up}, {Version: 1, Description: "again", Up: up}},
		{{Version: 1, Up: up}},
		{{Version: 1, Description: "one"}},
	} {
		if _, err := store.Migrate[int](context.Background(), nil, steps); err == nil || !strings.Contains(err.Error(), "want version") {
			t.Errorf("steps %+v: %v", steps, err)
		}
	}
	err := &store.SchemaTooNewError{Have: 7, Know: 5}
	if got := err.Error(); got != "the database is at schema version 7; this vitals knows up to 5: upgrade vitals" {
		t.Errorf("message: %s", got)
	}
}
