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
// past it). A non-empty body must be application/json (415 otherwise).
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
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType,
			fmt.Sprintf("content type %q: the body must be application/json", ct))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, errorf(http.StatusUnsupportedMediaType,
			fmt.Sprintf("charset %q: the body must be UTF-8", cs))
	}
	// encoding/json would quietly turn invalid UTF-8 in a string into
	// U+FFFD: a name would not be what the client sent.
	if !utf8.Valid(body) {
		return nil, errorf(http.StatusBadRequest,
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
// trailing data and wrong types are errors naming the field.
func decodeStrict(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(http.StatusBadRequest, "empty body: expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "invalid JSON: data after the object")
	}
	return nil
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
