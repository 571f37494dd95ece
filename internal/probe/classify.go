package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// classify turns an error from dialing or a request into a probe failure
// with a short reason. ctx is the probe's context.
func classify(ctx context.Context, err error) error {
	settle(ctx)
	if cause := context.Cause(ctx); cause != nil {
		var te *timeoutError
		switch {
		case errors.As(cause, &te):
			return fail(ErrTimeout, te.Error(), err)
		case errors.Is(cause, context.DeadlineExceeded):
			return fail(ErrTimeout, "deadline exceeded", err)
		default:
			return fail(ErrCanceled, "canceled", err)
		}
	}
	var (
		dnsErr     *net.DNSError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		recordErr  tls.RecordHeaderError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(ErrRefused, "connection refused", err)
	case errors.As(err, &verifyErr):
		return fail(ErrTLS, "TLS: "+verifyErr.Err.Error(), err)
	case errors.As(err, &unknownCA):
		return fail(ErrTLS, "TLS: "+unknownCA.Error(), err)
	case errors.As(err, &hostErr):
		return fail(ErrTLS, "TLS: "+hostErr.Error(), err)
	case errors.As(err, &invalidErr):
		return fail(ErrTLS, "TLS: "+invalidErr.Error(), err)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fail(ErrTLS, "TLS: server did not answer with TLS (is it plain HTTP?)", err)
	case isRemoteTLSAlert(err):
		return fail(ErrTLS, "TLS: remote error: "+strings.TrimPrefix(innermost(err).Error(), "tls: "), err)
	case errors.As(err, &dnsErr):
		msg := "lookup " + dnsErr.Name + ": " + dnsErr.Err
		if dnsErr.IsNotFound {
			msg = "lookup " + dnsErr.Name + ": no such host"
		}
		return fail(ErrConnect, msg, err)
	case errors.Is(err, syscall.EPIPE):
		return fail(ErrConnect, "connection closed by server", err)
	case errors.Is(err, syscall.ECONNRESET):
		return fail(ErrConnect, "connection reset by peer", err)
	case errors.Is(err, syscall.EHOSTUNREACH):
		return fail(ErrConnect, "host unreachable", err)
	case errors.Is(err, syscall.ENETUNREACH):
		return fail(ErrConnect, "network unreachable", err)
	case errors.Is(err, os.ErrNotExist):
		return fail(ErrConnect, "socket: no such file", err)
	case errors.Is(err, os.ErrPermission):
		return fail(ErrConnect, "socket: permission denied", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fail(ErrConnect, "connection closed by server", err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fail(ErrTimeout, "timeout", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fail(ErrTimeout, "timeout", err)
	case errors.Is(err, context.Canceled):
		return fail(ErrCanceled, "canceled", err)
	}
	msg := innermost(err).Error()
	if strings.HasPrefix(msg, "tls: ") {
		return fail(ErrTLS, "TLS: "+strings.TrimPrefix(msg, "tls: "), err)
	}
	return fail(ErrConnect, msg, err)
}

// settle waits for ctx to be done when its deadline has passed. A failure
// after the deadline is the deadline's doing (a server that gave up on the
// grpc-timeout we sent resets the stream, for one), but on a busy machine the
// context's timer may not have run yet; it is about to.
func settle(ctx context.Context) {
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		<-ctx.Done()
	}
}

// innermost strips the wrappers that only repeat the operation and address
// (url.Error, net.OpError, os.SyscallError), which a reason does not need.
func innermost(err error) error {
	for {
		var (
			ue *url.Error
			oe *net.OpError
			se *os.SyscallError
		)
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &oe) && oe.Err != nil:
			err = oe.Err
		case errors.As(err, &se) && se.Err != nil:
			err = se.Err
		default:
			return err
		}
	}
}

// isRemoteTLSAlert reports whether err is an alert the TLS peer sent, such as
// "certificate required" from a server that wants a client certificate.
func isRemoteTLSAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}
