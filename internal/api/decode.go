package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// readBody reads the request body, at most Options.MaxBodyBytes (413
// past it); nil when empty. The Content-Type is not checked, as
// healthchecks.io does not (its documented curl examples send JSON as a
// form), but a charset other than UTF-8 is refused (415).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errorf(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body larger than %d bytes", h.opts.MaxBodyBytes))
		}
		return nil, errorf(http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, errorf(http.StatusUnsupportedMediaType,
				fmt.Sprintf("charset %q: the body must be UTF-8", clipPath(cs)))
		}
	}
	// encoding/json would quietly turn invalid UTF-8 in a string into
	// U+FFFD: a name would not be what the client sent.
	if !utf8.Valid(body) {
		return nil, errorf(http.StatusBadRequest, "could not parse request body",
			fmt.Sprintf("invalid UTF-8 at byte %d: the body must be UTF-8", invalidUTF8At(body)))
	}
	return body, nil
}

// invalidUTF8At returns the offset of the first byte of b that is not part
// of valid UTF-8, or len(b).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// decodeStrict decodes one JSON object from body into v: unknown fields,
// trailing data and wrong types are errors naming the field. The error
// is healthchecks.io's text where it has one, Vitals' in the details.
func decodeStrict(body []byte, v any) *apiError {
	if _, err := parseObject(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := jsonError(err)
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" && !strings.Contains(te.Field, ".") {
			return errorf(http.StatusBadRequest, "json validation error: "+hcTypeError(te), msg)
		}
		return errorf(http.StatusBadRequest, msg)
	}
	return nil
}

// hcTypeError is healthchecks.io's text for a value of the wrong type:
// "timeout is not a number", "an item in 'unique' is not a string".
func hcTypeError(te *json.UnmarshalTypeError) string {
	field := te.Field
	kind := te.Type.Kind().String()
	if field == "unique" && kind == "string" {
		return "an item in 'unique' is not a string"
	}
	switch kind {
	case "string":
		return field + " is not a string"
	case "bool":
		return field + " is not a boolean"
	case "slice", "array":
		if field == "tags" {
			return field + " is not a string"
		}
		return field + " is not an array"
	case "struct", "map":
		return field + " is not an object"
	default:
		return field + " is not a number"
	}
}

// jsonError turns encoding/json's errors into messages for API users.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field == "tags" {
			return fmt.Sprintf("tags: expected an array of strings or a space-separated string, got %s", te.Value)
		}
		if v, ok := strings.CutPrefix(te.Value, "number "); ok {
			return fmt.Sprintf("%s: %s is not %s in range", te.Field, v, jsonType(te.Type.Kind().String()))
		}
		if te.Field == "" {
			return fmt.Sprintf("invalid JSON: expected an object, got %s", te.Value)
		}
		return fmt.Sprintf("%s: expected %s, got %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: unexpected end of input"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return "invalid JSON: " + strings.TrimPrefix(msg, "json: ")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	default:
		return "a number"
	}
}

// jsonKind names the JSON type of a value, for error messages.
func jsonKind(b []byte) string {
	switch c := firstByte(b); {
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == '{':
		return "object"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	default:
		return "number"
	}
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}
