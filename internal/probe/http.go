package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
)

// maxResponseHeaderBytes bounds the response headers a probe accepts.
const maxResponseHeaderBytes = 64 << 10

// newTransport returns a non-pooling transport for probes of t (Conns
// turns keep-alives on in the transports it keeps).
func (p *Prober) newTransport(t Target) *http.Transport {
	dialer := &net.Dialer{}
	tr := &http.Transport{
		// A probe talks to its target directly: never through a proxy.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	if t.Scheme == SchemeUnix {
		socket := t.Addr
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	if t.usesTLS() && p.tls != nil {
		tr.TLSClientConfig = p.tls.Clone()
	}
	return tr
}

// setHeaders adds the configured headers to req.
func (p *Prober) setHeaders(req *http.Request) {
	req.Header.Set("User-Agent", DefaultUserAgent)
	req.Header.Set("Accept", "*/*") // as curl and the kubelet send
	for name, values := range p.opts.Header {
		if http.CanonicalHeaderKey(name) == "Host" {
			if len(values) > 0 {
				req.Host = values[len(values)-1]
			}
			continue
		}
		req.Header.Del(name)
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
}

func (p *Prober) probeHTTP(ctx context.Context, t Target) Result {
	var tr *http.Transport
	if p.opts.Conns != nil && !p.opts.Fresh {
		tr = p.opts.Conns.transport(p, t)
	} else {
		tr = p.newTransport(t)
		defer tr.CloseIdleConnections()
	}
	client := &http.Client{
		Transport: tr,
		// Redirects are judged as they are, as by curl -f without -L.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	scheme, host := string(t.Scheme), t.urlHost()
	if t.Scheme == SchemeUnix {
		scheme, host = "http", "localhost"
	}
	req, err := http.NewRequestWithContext(ctx, p.opts.Method, scheme+"://"+host+t.Path, nil)
	if err != nil {
		return Result{Err: fail(ErrBadTarget, err.Error(), err)}
	}
	p.setHeaders(req)
	resp, err := client.Do(req)
	if err != nil {
		return Result{Err: classify(ctx, err)}
	}
	defer func() {
		if p.opts.Conns != nil && !p.opts.Fresh {
			// Read to the end (up to drainLimit) so that the connection
			// goes back to the pool; a longer body closes it.
			_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		}
		resp.Body.Close()
	}()
	res := Result{StatusCode: resp.StatusCode, CertExpiry: certExpiry(resp.TLS), CertFingerprint: certFingerprint(resp.TLS)}
	if p.opts.MaxBody > 0 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.opts.MaxBody)+1))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			res.Body = body
			res.Err = classify(ctx, err)
			return res
		}
		if len(body) > p.opts.MaxBody {
			body, res.Truncated = body[:p.opts.MaxBody], true
		}
		res.Body = body
	}
	reason := "status " + strconv.Itoa(resp.StatusCode)
	if !p.opts.Status.Contains(resp.StatusCode) {
		res.Err = fail(ErrStatus, reason, nil)
		return res
	}
	res.Healthy, res.Reason = true, reason
	return res
}
