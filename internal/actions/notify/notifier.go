package notify

import (
	"context"
	"errors"
)

// Notifier sends a notification or performs an action for it. Send is
// called by the Dispatcher once per attempt, with a context that carries the
// attempt's deadline; it must honour it. A nil error means the receiver
// accepted it (the row is then marked delivered and never sent again); an
// error is retried with backoff, unless it wraps ErrPermanent. Notifiers
// are safe for concurrent use.
type Notifier interface {
	Send(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n Notification) error

// Send calls f(ctx, n).
func (f NotifierFunc) Send(ctx context.Context, n Notification) error { return f(ctx, n) }

// ErrPermanent marks a failure that retrying cannot fix (a 4xx answer, an
// unknown container): the Dispatcher marks the row failed at once.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// Runner is an optional interface of a Notifier with work of its own
// between sends (the alertmanager kind re-sends its firing alerts). The
// actions System calls Run in a goroutine it owns once the channel is in
// use (at Start, or when a reload adds or changes the channel while
// running), and cancels ctx and waits for Run to return when the channel
// is removed or replaced by a reload, or the System stops.
type Runner interface {
	Run(ctx context.Context)
}
