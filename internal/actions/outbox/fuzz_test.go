package outbox

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// Outbox payloads come back from the store (a file others can write):
// decoding any bytes gives a Notification or ErrBadPayload, never a panic,
// and a decoded one re-encodes to a payload that decodes the same.
func FuzzDecode(f *testing.F) {
	good, _ := json.Marshal(testNotification("ops"))
	f.Add(good)
	f.Add([]byte(`{"event":"down","time":"nope"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, payload []byte) {
		row := model.Notification{CheckID: testCheck, FlipID: testFlip, Channel: "ops", Payload: payload}
		n, err := Decode(row)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if n.Key != notify.Key(testCheck, testFlip, "ops") {
			t.Fatalf("key %q", n.Key)
		}
		r2, err := Row(n, testTime, testTime)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := Decode(r2)
		if err != nil || n2.Title() != n.Title() || n2.Reason != n.Reason {
			t.Fatalf("round trip: %v %+v %+v", err, n, n2)
		}
	})
}
