package statuspage

// Settle does at once what the page's goroutine does in the background
// after a start (the scan of every rollup, once) and after a render (the
// sparklines the render asked for), for the benchmarks and tests: when it
// returns, every seed queued before it is done, whichever goroutine ran it.
func Settle(p *Page) {
	if !p.warmed.Load() {
		p.warm()
	}
	p.seedQueued()
}
