package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestCheckIDNeverPrintsItsUUID: whatever way a CheckID is printed or
// logged (fmt verbs, errors, slog text and JSON), the output holds its
// unique key and not its UUID, in any case or byte form.
func TestCheckIDNeverPrintsItsUUID(t *testing.T) {
	id := NewCheckID()
	secret := id.Secret()
	hexBytes := strings.ReplaceAll(secret, "-", "")
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, id), fmt.Sprintf(verb, &id), fmt.Sprintf(verb, struct{ ID CheckID }{id}))
	}
	outs = append(outs, fmt.Errorf("check %s: %w", id, ErrInvalidCheck).Error(), fmt.Sprint(id), fmt.Sprint([]CheckID{id}))
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "check", id, "ptr", &id)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "check", id, "ptr", &id)
	outs = append(outs, text.String(), js.String())
	for _, o := range outs {
		low := strings.ToLower(o)
		if strings.Contains(low, secret) || strings.Contains(low, hexBytes) {
			t.Errorf("prints the UUID: %s", o)
		}
	}
	if !strings.Contains(text.String(), id.UniqueKey()) || !strings.Contains(js.String(), id.UniqueKey()) || fmt.Sprint(id) != id.UniqueKey() {
		t.Errorf("logs do not name the check by its unique key: %s %s", text.String(), js.String())
	}
}

// TestCheckIDEncodings: the encodings that store the id round-trip the
// UUID (JSON in the store and the outbox); parse errors do not echo input.
func TestCheckIDEncodings(t *testing.T) {
	id := NewCheckID()
	b, err := json.Marshal(struct {
		ID CheckID `json:"id"`
	}{id})
	if err != nil || string(b) != `{"id":"`+id.Secret()+`"}` {
		t.Fatalf("json %s, %v", b, err)
	}
	var back struct {
		ID CheckID `json:"id"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Fatalf("round trip %v, %v", back.ID, err)
	}
	if v, _ := id.Value(); v != id.Secret() {
		t.Errorf("Value %v", v)
	}
	var scanned CheckID
	if err := scanned.Scan(id.Secret()); err != nil || scanned != id {
		t.Errorf("Scan %v %v", scanned, err)
	}
	const bad = "not-a-uuid-but-maybe-a-secret"
	if _, err := ParseCheckID(bad); err == nil || strings.Contains(err.Error(), bad) {
		t.Errorf("ParseCheckID error %v", err)
	}
	if !(CheckID{}).IsZero() || id.IsZero() {
		t.Error("IsZero")
	}
}

// TestUniqueKeyMatchesHealthchecks: unique_key is computed as
// healthchecks.io does (sha1 of code.hex[:16]), so a check imported with its
// UUID keeps the unique_key read-only clients know it by. The expected value
// is the one healthchecks.io's API docs show for this UUID (templates/docs/api.md).
func TestUniqueKeyMatchesHealthchecks(t *testing.T) {
	id, err := ParseCheckID("31365bce-8da9-4729-8ff3-aaa71d56b712")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.UniqueKey(), "a6c7b0a8a66bed0df66abfdab3c77736861703ee"; got != want {
		t.Errorf("UniqueKey = %s, want %s", got, want)
	}
}
