package model

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestValidateFieldErrors: each error of Validate reads "invalid check:
// field: problem", matches ErrInvalidCheck, and holds a *FieldError naming
// the field, which Flatten keeps whole.
func TestValidateFieldErrors(t *testing.T) {
	c := Check{ID: NewCheckID(), Name: "", Kind: KindPush, Schedule: Schedule{Period: time.Millisecond, Grace: time.Hour, TZ: "UTC"}}
	errs := Flatten(c.Validate())
	want := []struct{ field, text string }{
		{"name", "invalid check: name: is required"},
		{"schedule.period", "invalid check: schedule.period: 1ms is under 1s"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(want))
	}
	for i, w := range want {
		var fe *FieldError
		if !errors.Is(errs[i], ErrInvalidCheck) || !errors.As(errs[i], &fe) || fe.Field != w.field || errs[i].Error() != w.text {
			t.Errorf("error %d = %q (field %v), want %q in field %q", i, errs[i], fe, w.text, w.field)
		}
	}
}

func TestFlatten(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	sentinel := errors.New("invalid")
	got := Flatten(fmt.Errorf("%w: %w", sentinel, errors.Join(a, errors.Join(b, nil, c))))
	if fmt.Sprint(got) != fmt.Sprint([]error{sentinel, a, b, c}) {
		t.Fatalf("Flatten = %v", got)
	}
	if got := Flatten(a); len(got) != 1 || got[0] != a {
		t.Fatalf("Flatten(a) = %v", got)
	}
	if got := Flatten(nil); got != nil {
		t.Fatalf("Flatten(nil) = %v", got)
	}
	fe := &FieldError{Field: "http.url", Err: a}
	if fe.Error() != "http.url: a" || !errors.Is(fe, a) {
		t.Fatalf("FieldError = %q", fe)
	}
}
