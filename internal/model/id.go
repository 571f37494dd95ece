package model

import (
	"crypto/sha1"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
)

// CheckID is a check's identity, a UUID. For a push check it is also the
// secret of its ping URL (/ping/<uuid>): whoever knows it can ping the
// check, fake its successes or send /fail. So a CheckID never prints as its
// UUID by accident: String, every fmt verb and LogValue give its unique key
// (see [CheckID.UniqueKey]), which names the check in logs, errors, metrics
// and read-only answers without letting anyone ping it.
//
// The UUID itself comes out only where it is asked for by name:
// [CheckID.Secret] (ping URLs, answers to read-write API keys), and the
// encodings that store it and carry it between the parts of the watchdog:
// MarshalText (JSON in the store and the outbox) and Value (SQL). Do not log
// a struct that holds a CheckID through a JSON logger, which would use
// MarshalText: log the CheckID itself, or the check's name.
//
// The zero CheckID is "no check" (see [CheckID.IsZero]).
type CheckID uuid.UUID

// NewCheckID returns a random (version 4) CheckID.
func NewCheckID() CheckID { return CheckID(uuid.New()) }

// ParseCheckID parses a UUID in any form uuid.Parse accepts. Its error does
// not repeat the input, which may be a secret.
func ParseCheckID(s string) (CheckID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return CheckID{}, fmt.Errorf("invalid check id (want a UUID, got %d characters)", len(s))
	}
	return CheckID(u), nil
}

// UUID returns the check's UUID: its secret. Use [CheckID.Secret] for the
// canonical string.
func (id CheckID) UUID() uuid.UUID { return uuid.UUID(id) }

// Secret returns the canonical form of the check's UUID, the secret part of
// its ping URL. Only for places that must reveal it: ping URLs and answers
// to callers allowed to ping.
func (id CheckID) Secret() string { return uuid.UUID(id).String() }

// IsZero reports whether id is the zero CheckID.
func (id CheckID) IsZero() bool { return id == CheckID{} }

// UniqueKey returns the check's unique_key, as healthchecks.io computes it
// (hc/api/models.py, Check.unique_key): the hex SHA-1 of the first 16 hex
// digits of the UUID (its first 8 bytes, lower case, no dashes). A check
// imported from healthchecks.io with its UUID keeps its unique_key, so
// read-only clients that stored it still find it. It identifies the check
// to readers who must not ping it: half the UUID goes into a one-way hash.
func (id CheckID) UniqueKey() string {
	var half [16]byte
	hex.Encode(half[:], id[:8])
	sum := sha1.Sum(half[:])
	return hex.EncodeToString(sum[:])
}

// String returns the unique key, never the UUID.
func (id CheckID) String() string { return id.UniqueKey() }

// Format prints the unique key for every verb, so that neither %v nor %x
// nor %d can print the UUID's bytes.
func (id CheckID) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", id.UniqueKey())
		return
	}
	f.Write([]byte(id.UniqueKey()))
}

// GoString prints the unique key for %#v too.
func (id CheckID) GoString() string { return "model.CheckID(" + id.UniqueKey() + ")" }

// LogValue implements slog.LogValuer: the unique key.
func (id CheckID) LogValue() slog.Value { return slog.StringValue(id.UniqueKey()) }

// MarshalText implements encoding.TextMarshaler with the canonical UUID:
// it is how the store and the outbox keep the id.
func (id CheckID) MarshalText() ([]byte, error) { return uuid.UUID(id).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *CheckID) UnmarshalText(b []byte) error {
	u, err := ParseCheckID(string(b))
	if err != nil {
		return err
	}
	*id = u
	return nil
}

// Value implements driver.Valuer: the canonical UUID, as the store keeps it.
func (id CheckID) Value() (driver.Value, error) { return id.Secret(), nil }

// Scan implements sql.Scanner.
func (id *CheckID) Scan(src any) error {
	var u uuid.UUID
	if err := u.Scan(src); err != nil {
		return err
	}
	*id = CheckID(u)
	return nil
}

// UniqueKey returns id's unique key; see [CheckID.UniqueKey].
func UniqueKey(id CheckID) string { return id.UniqueKey() }
