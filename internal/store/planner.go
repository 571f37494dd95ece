package store

import "github.com/vitals-go/vitals/internal/model"

// UpdatePlanner is an optional interface of a model.Planner that adds more
// than outbox rows to a flip's transaction: the engine calls PlanUpdate
// instead of Plan, under the same rules, with the update being built. It
// appends its rows to u.Notifications and may set the fields it owns (the
// alert policy's memory, u.Policy). The function it returns, if not nil, is
// called once the update is durable, before the listeners, and never if
// the write failed: a planner's memory never runs ahead of the store.
//
// It is declared here rather than next to model.Planner because it names
// Update, the store's unit of write, and package model imports nothing of
// the project.
type UpdatePlanner interface {
	model.Planner
	PlanUpdate(t model.Transition, u *Update) (committed func())
}
