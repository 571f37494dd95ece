package model

import (
	"time"

	"github.com/google/uuid"
)

// Silence is a one-off window, created through the API, that holds back the
// alerts of the checks it covers (policy.Window says how): monitoring and
// state go on, and what is still down when it ends is alerted then. Stores
// keep silences (store.SilenceStore) as this JSON, which is also the form
// of the silences.json file of earlier versions.
type Silence struct {
	ID uuid.UUID `json:"id"`
	// Name names it for people; Checks and Tags select the checks it
	// covers (both empty: every check).
	Name   string    `json:"name,omitempty"`
	Checks []CheckID `json:"checks,omitempty"`
	Tags   []string  `json:"tags,omitempty"`
	// Start and End bound it (UTC): it holds alerts in [Start, End).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Reason and CreatedBy are for people reading the list.
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
}
