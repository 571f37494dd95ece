package actions

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// CertNotice tells check c's Routes.Cert channels, once per certificate,
// that the certificate of its target expires soon (a probe's
// model.Result.CertExpiring; the daemon calls it from the pull scheduler's
// Observe). The notice is raised through the outbox with a flip id derived
// from the check and the certificate's fingerprint, so it is sent once per
// certificate and channel across restarts and replicas (the outbox keeps
// one row per flip and channel); in memory, the last certificate announced
// per check spares the store a write on every probe. A check without cert
// channels is ignored; while a maintenance window, a silence or a down
// parent keeps the check quiet, the notice waits for a later probe.
func (s *System) CertNotice(c model.Check, n model.CertNotice) {
	if len(c.Routes.Cert) == 0 || n.Fingerprint == "" {
		return
	}
	if why, quiet := s.sup.Quiet(c.ID, c.Tags, time.Now()); quiet {
		s.log.Debug("certificate notice left for later", "check", c.Name, "unique_key", model.UniqueKey(c.ID), "reason", why)
		return // a later probe, once the window closes, sends it
	}
	s.certMu.Lock()
	if s.certs == nil {
		s.certs = map[model.CheckID]string{}
	}
	if s.certs[c.ID] == n.Fingerprint {
		s.certMu.Unlock()
		return
	}
	s.certs[c.ID] = n.Fingerprint
	s.certMu.Unlock()
	s.log.Info("certificate expires soon", "check", c.Name, "unique_key", model.UniqueKey(c.ID), "expiry", n.Expiry, "channels", c.Routes.Cert)
	s.disp.Raise(CertNotification(c, n, time.Now()), c.Routes.Cert)
}

// CertNotification is the notification that check c's certificate n
// expires soon, found at now.
func CertNotification(c model.Check, n model.CertNotice, now time.Time) notify.Notification {
	left := n.Expiry.Sub(now).Round(time.Hour)
	return notify.Notification{
		Event: notify.EventCertExpiring, CheckID: c.ID, Check: c.Name, Tags: c.Tags,
		FlipID: uuid.NewSHA1(c.ID.UUID(), []byte("cert@"+n.Fingerprint)),
		Time:   now.UTC(),
		Reason: fmt.Sprintf("the certificate (SHA-256 %s) expires at %s, in %v", n.Fingerprint, n.Expiry.UTC().Format(time.RFC3339), left),
	}
}
