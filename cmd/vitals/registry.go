package main

import (
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/notify/shoutrrr"
)

// notifiers returns the notifier registry of the daemon and of the
// commands that load its config (validate, import, notify test): the
// built-in kinds, and the kinds whose third-party clients stay in packages
// of their own (shoutrrr's chat services, kind "url").
func notifiers() *notify.Registry {
	r := notify.NewRegistry()
	shoutrrr.Register(r)
	return r
}
