package daemon

import "testing"

// TestBulkLookups runs the tests of what start reads from the store
// (legacy ids, the routes written before the engine starts) with every
// lookup going through the bulk path (one ListChecks), which files of
// more than manyLookups checks take.
func TestBulkLookups(t *testing.T) {
	defer func(m int) { manyLookups = m }(manyLookups)
	manyLookups = -1
	t.Run("legacy ids", TestLegacyCheckIDsKept)
	t.Run("routes before start", TestConfigCheckKeepsItsActions)
}
