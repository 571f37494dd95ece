//go:build !race

package browsertest

// raceEnabled: see race_on_test.go.
const raceEnabled = false
