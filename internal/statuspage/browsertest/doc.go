// Package browsertest drives the status page in real headless Chromium
// (chromedp) over a real loopback server, engine and store. It is a module of
// its own so that the library's go.mod does not carry chromedp; the
// repository's go.work puts it in the workspace, so `go test work` at the
// root runs it, and it skips without a browser (fails under
// VITALS_INTEGRATION=1; .ci/chromium installs one).
package browsertest
