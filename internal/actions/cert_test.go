package actions

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
)

// shortLivedServer serves https on loopback with a self-signed certificate
// for 127.0.0.1 valid for life; it returns the URL and the certificate's
// SHA-256.
func shortLivedServer(t *testing.T, life time.Duration) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "vitals test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(life), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(der)
	return srv.URL, hex.EncodeToString(sum[:])
}

// A pull check with min_cert_validity probing a real TLS server whose
// certificate expires within its notice period: its cert channels hear of
// it once per certificate, however many probes find it, across a restart
// (a new System on the same store); a new certificate is announced again;
// one outside the notice period is not.
func TestCertNotice(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	rec := &recorder{}
	c := routed(0, model.Routes{Down: []string{"ops"}, Cert: []string{"ops"}})
	ctx := context.Background()
	if err := st.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	newSystem := func() *System {
		sys := NewSystem(st, SystemOptions{Logger: quiet})
		if err := sys.Apply(Config{Notifiers: map[string]notify.Spec{"ops": &recSpec{rec}}}); err != nil {
			t.Fatal(err)
		}
		if err := sys.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return sys
	}
	probe := func(url string) model.Result {
		p, err := pull.Compile(pull.Spec{URL: url, TLS: pull.TLS{InsecureSkipVerify: true},
			MinCertValidity: pull.Duration(time.Hour), CertNotice: pull.Duration(3 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return p.Probe(ctx)
	}
	soon, soonSum := shortLivedServer(t, 2*time.Hour)
	renewed, renewedSum := shortLivedServer(t, 2*time.Hour)
	later, _ := shortLivedServer(t, 30*24*time.Hour)

	sys := newSystem()
	for range 3 { // three probes: one notice
		r := probe(soon)
		if !r.OK || r.CertExpiring == nil || r.CertExpiring.Fingerprint != soonSum {
			t.Fatalf("probe: %+v (cert %+v), want ok with the certificate %s expiring", r, r.CertExpiring, soonSum)
		}
		sys.CertNotice(c, *r.CertExpiring)
	}
	if r := probe(later); r.CertExpiring != nil {
		t.Errorf("a certificate valid for 30 days is announced: %+v", r.CertExpiring)
	}
	waitUntil(t, "one notice", func() bool { return len(rec.Sent()) == 1 })
	sys.Stop()

	sys = newSystem() // a restart: the same certificate is not announced again
	defer func() { sys.Stop() }()
	sys.CertNotice(c, *probe(soon).CertExpiring)
	sys.CertNotice(c, *probe(renewed).CertExpiring) // a new certificate is
	waitUntil(t, "the renewed certificate's notice", func() bool { return len(rec.Sent()) >= 2 })
	// Raise enqueues synchronously: the store holds two rows, the old
	// certificate's second one was skipped.
	if rows, err := st.Notifications(ctx, store.NotificationQuery{CheckID: c.ID, Limit: 10}); err != nil || len(rows) != 2 {
		t.Fatalf("outbox rows %d (%v), want 2", len(rows), err)
	}
	got := rec.Sent()
	if len(got) != 2 {
		t.Fatalf("%d notices, want 2: %+v", len(got), got)
	}
	for i, sum := range []string{soonSum, renewedSum} {
		n := got[i]
		if n.Event != notify.EventCertExpiring || n.Check != "job-0" || n.Title() != `"job-0": certificate expires soon` || !strings.Contains(n.Reason, sum) {
			t.Errorf("notice %d: %+v", i, n)
		}
	}
}
