package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// Test notifications: `vitals notify test NOTIFIER` and the API's POST
// /channels/{id}/test send one through the real notifier, built as the
// daemon builds it, and say what the receiver answered.

// EventTest is the event of a test notification (Notification.Test is
// set too): no check changed.
const EventTest = "test"

// TestCheckName is the check name a test notification carries.
const TestCheckName = "vitals test"

// DefaultTestTimeout bounds a test send.
const DefaultTestTimeout = 15 * time.Second

// Acting is implemented by the specs of kinds that act rather than tell
// people (restart a container or a process, run a command): a test does
// not run them. Action says what a notification would do ("restarts the
// container api").
type Acting interface {
	Action() string
}

// ErrActs is wrapped by SendTest's refusal to test a notifier that acts.
var ErrActs = errors.New("not sent: this notifier acts instead of telling people, and a test must not")

// Action implements Acting.
func (c *DockerConfig) Action() string { return "restarts the container " + c.Container }

// Action implements Acting.
func (c *ExecConfig) Action() string {
	if len(c.Command) == 0 {
		return "runs a command"
	}
	return fmt.Sprintf("runs the command %q", c.Command[0])
}

// Action implements Acting.
func (c *ProcessConfig) Action() string { return "restarts the supervised process " + c.Name }

// testCheckID is the CheckID of test notifications: no check has it.
var testCheckID = model.CheckID(uuid.NewSHA1(uuid.NameSpaceURL, []byte("vitals:notify-test")))

// TestNotification returns the notification a test sends to channel at
// now: event "test", marked Test, a fresh flip id (so that receivers that
// drop duplicates by Idempotency-Key show every test).
func TestNotification(channel string, now time.Time) Notification {
	flip, err := uuid.NewV7()
	if err != nil {
		flip = uuid.New()
	}
	return Notification{
		Key: Key(testCheckID, flip, channel), Event: EventTest, CheckID: testCheckID, Check: TestCheckName, FlipID: flip,
		State: model.StatusUp, Previous: model.StatusUp, Reason: "a test notification: no check changed",
		Time: now.UTC(), Channel: channel, Attempt: 1, Sent: now.UTC(), Test: true,
	}
}

// Answers collects what receivers answered during a test (the HTTP
// status of each request an HTTP notifier made, with its host, never its
// path: the path of a webhook may be its secret). Safe for concurrent use.
type Answers struct {
	mu  sync.Mutex
	all []string
}

type answersKey struct{}

// withAnswers returns ctx carrying a fresh Answers.
func withAnswers(ctx context.Context) (context.Context, *Answers) {
	a := &Answers{}
	return context.WithValue(ctx, answersKey{}, a), a
}

// recordAnswer adds s to the Answers ctx carries, if any (at most 20).
func recordAnswer(ctx context.Context, s string) {
	a, _ := ctx.Value(answersKey{}).(*Answers)
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.all) < 20 {
		a.all = append(a.all, s)
	}
}

// List returns the answers recorded.
func (a *Answers) List() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.all...)
}

// SendTest sends TestNotification(channel) through n, the notifier built
// from spec (nil: SendTest builds it with d), within timeout
// (DefaultTestTimeout when 0), and returns what receivers answered (empty
// for notifiers that do not say: e-mail, shoutrrr's services) and the
// error of the send. A spec that acts (Acting) is refused with an error
// wrapping ErrActs: nothing is built or sent.
func SendTest(ctx context.Context, spec Spec, n Notifier, d Deps, channel string, timeout time.Duration) ([]string, error) {
	if a, ok := spec.(Acting); ok {
		return nil, fmt.Errorf("%w: it %s", ErrActs, a.Action())
	}
	if n == nil {
		var err error
		if n, err = spec.Build(d); err != nil {
			return nil, err
		}
	}
	if timeout <= 0 {
		timeout = DefaultTestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, answers := withAnswers(ctx)
	err := n.Send(ctx, TestNotification(channel, time.Now()))
	return answers.List(), err
}
