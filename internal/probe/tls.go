package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions configures the TLS client of https and grpcs probes. The zero
// value verifies the server's certificate against the system roots and the
// target's host name.
type TLSOptions struct {
	// CAFile is a PEM file of certificates to trust instead of the system
	// roots. Default: the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// servers that require mutual TLS. Set both or neither. Default: none.
	CertFile, KeyFile string
	// ServerName is the name sent in SNI and checked against the server's
	// certificate. Default: the target's host.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. Default false.
	InsecureSkipVerify bool
}

// config builds the tls.Config, or returns nil when every field is zero (the
// transport's default then applies).
func (o TLSOptions) config() (*tls.Config, error) {
	if o == (TLSOptions{}) {
		return nil, nil
	}
	conf := &tls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // the user asked for it
		MinVersion:         tls.VersionTLS12,
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate found", o.CAFile)
		}
		conf.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	case o.CertFile != "":
		return nil, errors.New("client certificate given without its key")
	case o.KeyFile != "":
		return nil, errors.New("client key given without its certificate")
	}
	return conf, nil
}
