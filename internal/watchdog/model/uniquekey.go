package model

import (
	"crypto/sha1"
	"encoding/hex"

	"github.com/google/uuid"
)

// UniqueKey returns a check's unique_key: the hex SHA-1 of its UUID's
// canonical string, as healthchecks.io computes it. The UUID is the check's
// ping secret (whoever knows it can ping the check), so everything that is
// shown to readers who must not ping — logs, metrics labels, read-only API
// answers — names a check by its unique key instead.
func UniqueKey(id uuid.UUID) string {
	sum := sha1.Sum([]byte(id.String()))
	return hex.EncodeToString(sum[:])
}
