package postgres

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
)

// A notification's payload is read from the database; whatever it holds,
// parseIDs returns only ids, each of them written in the payload, and
// never panics.
func FuzzParseIDs(f *testing.F) {
	id := model.NewCheckID()
	f.Add(uuidText(id))
	f.Add(uuidText(id) + "," + uuidText(model.NewCheckID()))
	f.Add("")
	f.Add(",,x,")
	f.Add(strings.Repeat("0", 40))
	f.Fuzz(func(t *testing.T, payload string) {
		for _, got := range parseIDs(payload) {
			if !strings.Contains(strings.ToLower(payload), uuidText(got)[:8]) {
				t.Fatalf("id %s not in the payload %q", uuidText(got), payload)
			}
		}
	})
}

func uuidText(id model.CheckID) string { return uuid.UUID(id).String() }
