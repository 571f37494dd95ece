package notify

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

var (
	testCheck = model.CheckID(uuid.MustParse("0b7e2f7c-58a3-4f9a-9e59-2c1c0c7b9d10"))
	testFlip  = uuid.MustParse("01936c57-7b3c-7cc0-8a4e-8d0f8d7a5b11")
	testTime  = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
)

func testNotification(channel string) Notification {
	return Notification{
		Key: Key(testCheck, testFlip, channel), Event: EventDown, CheckID: testCheck, Check: "api <prod> & co",
		Tags: []string{"prod"}, FlipID: testFlip, State: model.StatusDown, Previous: model.StatusUp,
		Reason: "3 consecutive failures: connection refused", Time: testTime, Channel: channel, Attempt: 1,
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	defer func(t0 time.Time) { t.Logf("%s: %v", what, time.Since(t0)) }(time.Now())
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
