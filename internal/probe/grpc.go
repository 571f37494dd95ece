package probe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/clip"
)

// probeGRPC calls grpc.health.v1.Health/Check over net/http's HTTP/2 client:
// cleartext HTTP/2 with prior knowledge (h2c) for grpc targets, TLS with
// ALPN "h2" for grpcs.
func (p *Prober) probeGRPC(ctx context.Context, t Target) Result {
	tr := p.newTransport(t)
	defer tr.CloseIdleConnections()
	watch := &connWatch{overTLS: t.usesTLS()}
	var protocols http.Protocols
	scheme := "http"
	if t.usesTLS() {
		protocols.SetHTTP2(true)
		scheme = "https"
		tr.DialTLSContext = p.dialTLSH2(watch)
	} else {
		protocols.SetUnencryptedHTTP2(true)
		tr.DialContext = watch.dial
	}
	tr.Protocols = &protocols

	body := encodeHealthCheckRequest(t.Service)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, scheme+"://"+t.urlHost()+healthCheckPath, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fail(ErrBadTarget, err.Error(), err)}
	}
	for name, values := range p.opts.Header {
		name = strings.ToLower(name)
		if name == "host" && len(values) > 0 {
			req.Host = values[len(values)-1] // the :authority pseudo-header
			continue
		}
		if strings.HasPrefix(name, "grpc-") || name == "content-type" || name == "te" {
			continue // reserved by the protocol
		}
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", DefaultUserAgent)
	}
	if deadline, ok := ctx.Deadline(); ok {
		req.Header.Set("Grpc-Timeout", grpcTimeout((time.Until(deadline) + time.Millisecond - 1).Milliseconds()))
	}

	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Result{Err: watch.diagnose(ctx, err, p.tls)}
	}
	defer resp.Body.Close()
	res := Result{StatusCode: resp.StatusCode, CertExpiry: certExpiry(resp.TLS), CertFingerprint: certFingerprint(resp.TLS)}
	// Read the body to its end: only then are the trailers known.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxGRPCResponse+1))
	if err != nil {
		res.Err = classify(ctx, err)
		return res
	}
	if len(data) > maxGRPCResponse {
		res.Err = fail(ErrProtocol, fmt.Sprintf("gRPC response larger than %d bytes", maxGRPCResponse), nil)
		return res
	}
	// grpc-status is a trailer, or a header in a trailers-only response
	// (which a proxy may send with an HTTP error status).
	statusText := resp.Trailer.Get("Grpc-Status")
	message := resp.Trailer.Get("Grpc-Message")
	if statusText == "" {
		statusText = resp.Header.Get("Grpc-Status")
		message = resp.Header.Get("Grpc-Message")
	}
	if statusText == "" {
		ct := resp.Header.Get("Content-Type")
		switch {
		case resp.StatusCode != http.StatusOK:
			res.Err = fail(ErrProtocol, fmt.Sprintf("not a gRPC server: HTTP status %d", resp.StatusCode), nil)
		case !strings.HasPrefix(ct, "application/grpc"):
			res.Err = fail(ErrProtocol, fmt.Sprintf("not a gRPC server: content-type %q", clip.Bytes(ct, 40)), nil)
		default:
			res.Err = fail(ErrProtocol, "gRPC response without grpc-status", nil)
		}
		return res
	}
	code, err := strconv.Atoi(statusText)
	if err != nil || code < 0 {
		res.Err = fail(ErrProtocol, fmt.Sprintf("bad grpc-status %q", clip.Bytes(statusText, 20)), nil)
		return res
	}
	if code != 0 {
		res.Err = grpcStatusError(ctx, code, decodeGRPCMessage(message), t.Service)
		return res
	}
	msg, err := decodeGRPCFrame(data)
	if err != nil {
		res.Err = fail(ErrProtocol, "bad gRPC response: "+err.Error(), err)
		return res
	}
	status, err := decodeHealthCheckResponse(msg)
	if err != nil {
		res.Err = fail(ErrProtocol, "bad HealthCheckResponse: "+err.Error(), err)
		return res
	}
	res.ServingStatus = servingStatusName(status)
	if status != 1 {
		res.Err = fail(ErrNotServing, res.ServingStatus, nil)
		return res
	}
	res.Healthy, res.Reason = true, res.ServingStatus
	return res
}

// grpcStatusError is the failure for a non-OK grpc-status.
func grpcStatusError(ctx context.Context, code int, message, service string) error {
	name := grpcCodeName(code)
	detail := name
	if message != "" {
		detail += ": " + message
	}
	switch code {
	case 4: // DEADLINE_EXCEEDED: the server gave up on the grpc-timeout we sent.
		settle(ctx)
		if te, ok := context.Cause(ctx).(*timeoutError); ok {
			return fail(ErrTimeout, te.Error()+" ("+name+")", nil)
		}
		return fail(ErrTimeout, "timeout ("+detail+")", nil)
	case 5: // NOT_FOUND: grpc.health.v1's answer for a service it does not know.
		return fail(ErrServiceUnknown, fmt.Sprintf("SERVICE_UNKNOWN: service %q (%s)", service, detail), nil)
	case 12:
		return fail(ErrGRPC, "health service not implemented ("+detail+")", nil)
	}
	return fail(ErrGRPC, "gRPC "+detail, nil)
}
