// Package amtest tests the alertmanager notifier of package notify against
// Prometheus Alertmanager's own code: every payload Vitals posts is decoded
// and validated with Alertmanager's API v2 models, and posted to a real
// in-process Alertmanager (its API v2, alert store, dispatcher, inhibitor,
// silencer and notification pipeline with the webhook notifier) that
// routes to a webhook receiver on loopback, where the alerts arrive
// grouped and resolve.
//
// It is a module of its own, so that the library's go.mod does not carry
// Alertmanager's dependencies, and it is not in go.work (workspace mode
// would merge Alertmanager's requirements into every module's build). Run
// it with:
//
//	cd internal/actions/notify/amtest && GOWORK=off go test -race -mod=mod ./...
//
// as .ci/run does. Alertmanager's cmd/alertmanager and app packages do not
// build from the module proxy (their UI assets are generated at release
// time and not in the module), so the test wires the parts the way
// app/app.go and app/reloader.go do.
package amtest
