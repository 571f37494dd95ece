// Package statuspage is the watchdog's status page: an HTML overview of the
// checks (their states, 90 days of uptime bars, a response-time sparkline,
// recent flips) and a detail page per check, served by the daemon with no
// front-end build step. Templates, CSS and a small vanilla JS file are
// embedded (embed.FS).
//
// Scale: the overview sends a summary, the checks needing attention, the
// tag groups and one page of the list (PageSize rows), filtered by the
// URL's q, tag and status; the script windows the rest from checks.json.
// Requests read an index the listeners keep current, not every check: it
// holds the engine's snapshots (no copy) and follows creates, deletes and
// renames through the engine's change log. After a start, a push check's
// sparkline is read from its stored pings when its row is first shown, not
// for every check at once.
//
// Live updates: the page's script subscribes to a Server-Sent Events stream
// (events) fed by the engine's listeners, so a state change shows up without
// a reload. The number of streams is bounded (Options.MaxClients); every
// stream ends when the Page is closed.
//
// Access: with Options.Public, anonymous visitors get a read-only view that
// leaks nothing secret (no check UUIDs, which are the ping URLs' secrets, no
// ping bodies, no error texts or flip reasons, no probe targets), optionally
// restricted to checks tagged Options.PublicTag. Everything else needs a
// request that Options.Authorize accepts (the daemon's API keys).
//
// Wiring (the daemon):
//
//	eng := watchdog.New(st, watchdog.Options{})
//	page := statuspage.New(statuspage.Options{Engine: eng, Store: st, Public: true, Authorize: authorized})
//	eng.AddListener(page) // before eng.Start
//	mux.Handle("/status/", http.StripPrefix("/status", page))
//	srv.RegisterOnShutdown(func() { page.Close() }) // Shutdown waits for open streams
//
// The page uses relative links only, so it can be mounted under any prefix.
package statuspage
