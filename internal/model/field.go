package model

// FieldError is a problem with one field of a definition (a check, a probe
// spec): Field is the field's path, as "schedule.period" or
// "http.headers[2]", and Err the problem. Callers that show fields under
// other names (the config loader names the YAML's fields, the API
// healthchecks.io's) find it with errors.As rather than parsing messages.
type FieldError struct {
	Field string
	Err   error
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// checkError is one error of [Check.Validate]: "invalid check: field:
// problem". errors.Is matches ErrInvalidCheck and errors.As finds the
// *FieldError; it joins nothing, so [Flatten] keeps it whole.
type checkError struct{ field *FieldError }

func (e checkError) Error() string        { return ErrInvalidCheck.Error() + ": " + e.field.Error() }
func (e checkError) Unwrap() error        { return e.field }
func (e checkError) Is(target error) bool { return target == ErrInvalidCheck }

// Flatten returns the errors joined in err (by errors.Join, or by
// fmt.Errorf with several %w), recursively and in order: err itself when
// it joins none, nil when err is nil. It is how every caller lists the
// problems of a validation, one per line or per JSON detail.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
