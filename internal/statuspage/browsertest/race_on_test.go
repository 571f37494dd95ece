//go:build race

package browsertest

// raceEnabled: under the race detector the pure-Go SQLite driver is an
// order of magnitude slower, so TestBrowserAtScale seeds an in-memory
// store (the page reads the store only once, at its warm-up).
const raceEnabled = true
