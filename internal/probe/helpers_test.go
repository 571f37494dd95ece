package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCert is a certificate and its key, in memory and as PEM files.
type testCert struct {
	tls      tls.Certificate
	x509     *x509.Certificate
	certFile string // PEM certificate
	keyFile  string // PEM key
}

// newCA returns a self-signed CA certificate.
func newCA(t *testing.T) testCert {
	t.Helper()
	return issue(t, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "vitals test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
}

// newServerCert returns a server certificate for localhost and 127.0.0.1
// signed by ca.
func newServerCert(t *testing.T, ca testCert) testCert {
	t.Helper()
	return issue(t, &ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost", "probe.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
}

// newClientCert returns a client certificate signed by ca.
func newClientCert(t *testing.T, ca testCert) testCert {
	t.Helper()
	return issue(t, &ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "probe client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
}

func issue(t *testing.T, parent *testCert, tmpl *x509.Certificate) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	parentCert, parentKey := tmpl, any(key)
	if parent != nil {
		parentCert, parentKey = parent.x509, parent.tls.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := testCert{
		tls:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		x509:     cert,
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
	}
	writePEM(t, c.certFile, "CERTIFICATE", der)
	writePEM(t, c.keyFile, "EC PRIVATE KEY", keyDER)
	return c
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentServer accepts connections and never answers; it returns its address.
// The listener and the accepted connections are closed at the end of the test.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// mustProber returns a Prober for opts or fails the test.
func mustProber(t *testing.T, opts Options) *Prober {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// probeURL parses raw and probes it with opts.
func probeURL(t *testing.T, raw string, opts Options) Result {
	t.Helper()
	target, err := ParseTarget(raw)
	if err != nil {
		t.Fatal(err)
	}
	return mustProber(t, opts).Probe(context.Background(), target)
}
