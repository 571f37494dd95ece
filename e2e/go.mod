module github.com/vitals-go/vitals/e2e

go 1.26.0

require github.com/vitals-go/vitals v0.0.0

// The suite builds this repository's binaries and image.
replace github.com/vitals-go/vitals => ../
