package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/internal/clip"
)

// Scheme names the protocol of a Target.
type Scheme string

// The schemes ParseTarget accepts.
const (
	SchemeHTTP  Scheme = "http"  // HTTP/1.1 request
	SchemeHTTPS Scheme = "https" // HTTP/1.1 request over TLS
	SchemeGRPC  Scheme = "grpc"  // grpc.health.v1 over cleartext HTTP/2 (h2c, prior knowledge)
	SchemeGRPCS Scheme = "grpcs" // grpc.health.v1 over TLS with ALPN "h2"
	SchemeTCP   Scheme = "tcp"   // TCP connect only
	SchemeUnix  Scheme = "unix"  // HTTP/1.1 request over a unix domain socket
)

// ErrBadTarget is wrapped by every error ParseTarget returns.
var ErrBadTarget = errors.New("bad target")

// maxTargetLen bounds the length of a target string; longer input is rejected
// before it is parsed.
const maxTargetLen = 4096

// Target is a parsed probe target. The zero value is not a valid target; get
// one from ParseTarget.
type Target struct {
	// Scheme is the protocol.
	Scheme Scheme
	// Addr is "host:port" (or "host" for http and https with the
	// scheme's default port) for network schemes, and the absolute socket
	// path for SchemeUnix.
	Addr string
	// Path is the HTTP request URI: path and query, "/" when the target has
	// none. Set for http, https and unix only.
	Path string
	// Service is the gRPC service name to ask about; "" asks about the
	// server as a whole. Set for grpc and grpcs only.
	Service string
}

// String returns the target in the form ParseTarget accepts.
func (t Target) String() string {
	switch t.Scheme {
	case SchemeHTTP, SchemeHTTPS:
		return string(t.Scheme) + "://" + t.urlHost() + t.Path
	case SchemeGRPC, SchemeGRPCS:
		if t.Service == "" {
			return string(t.Scheme) + "://" + t.urlHost()
		}
		return string(t.Scheme) + "://" + t.urlHost() + "/" + url.PathEscape(t.Service)
	case SchemeTCP:
		return "tcp://" + t.urlHost()
	case SchemeUnix:
		return "unix://" + t.Addr + ":" + t.Path
	}
	return ""
}

// urlHost is Addr as it is written in a URL: an IPv6 zone's "%" escaped.
func (t Target) urlHost() string {
	return strings.ReplaceAll(t.Addr, "%", "%25")
}

// IsHTTP reports whether the target is probed with an HTTP request whose
// status code decides health (http, https, unix).
func (t Target) IsHTTP() bool {
	return t.Scheme == SchemeHTTP || t.Scheme == SchemeHTTPS || t.Scheme == SchemeUnix
}

// usesTLS reports whether the target's connection is TLS.
func (t Target) usesTLS() bool {
	return t.Scheme == SchemeHTTPS || t.Scheme == SchemeGRPCS
}

// badTarget quotes raw redacted: the error may be logged or answered.
func badTarget(raw, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrBadTarget, clip.Bytes(RedactTarget(raw), 80), fmt.Sprintf(format, args...))
}

// RedactTarget returns raw, a target URL that may be malformed, fit for an
// error message or a log: the userinfo of its authority (user:password@)
// becomes "xxxxx@" and each query parameter's value "xxxxx"; scheme, host,
// port, path and the names of query parameters are kept, so
// that a reader still sees what is wrong. The result is not a usable URL.
func RedactTarget(raw string) string {
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			rest = "xxxxx" + rest[at:]
		}
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		return prefix + rest
	}
	query, frag, _ := strings.Cut(rest[q+1:], "#")
	if query != "" {
		parts := strings.Split(query, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=xxxxx"
			}
		}
		query = strings.Join(parts, "&")
	}
	if strings.Contains(rest[q+1:], "#") {
		query += "#" + frag
	}
	return prefix + rest[:q+1] + query
}

// ParseTarget parses a probe target URL. It accepts
//
//	http://host[:port][/path][?query]
//	https://host[:port][/path][?query]
//	grpc://host:port[/service]
//	grpcs://host:port[/service]
//	tcp://host:port
//	unix:///absolute/socket/path[:/http/path[?query]]
//
// A unix target's socket path ends at the first ":/"; without one the HTTP
// path is "/". Credentials in the URL (user:pass@) are rejected so that they
// never show up in process listings or logs: send them as a header instead.
// Every error wraps ErrBadTarget and quotes the input.
func ParseTarget(raw string) (Target, error) {
	t, err := parseTarget(raw)
	if err == nil && len(t.String()) > maxTargetLen {
		// Escaping (of non-ASCII bytes, say) made it longer than the limit.
		return Target{}, badTarget(raw, "longer than %d bytes once escaped", maxTargetLen)
	}
	return t, err
}

func parseTarget(raw string) (Target, error) {
	if len(raw) > maxTargetLen {
		return Target{}, badTarget(raw, "longer than %d bytes", maxTargetLen)
	}
	if raw == "" {
		return Target{}, fmt.Errorf("%w: empty", ErrBadTarget)
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return Target{}, badTarget(raw, "control character in target")
		}
		if r == ' ' {
			return Target{}, badTarget(raw, "space in target")
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return Target{}, badTarget(raw, "missing scheme (want http, https, grpc, grpcs, tcp or unix)")
	}
	switch Scheme(strings.ToLower(scheme)) {
	case SchemeHTTP, SchemeHTTPS:
		return parseHTTP(raw)
	case SchemeGRPC, SchemeGRPCS:
		return parseGRPC(raw)
	case SchemeTCP:
		return parseTCP(raw)
	case SchemeUnix:
		return parseUnix(raw, rest)
	}
	return Target{}, badTarget(raw, "unknown scheme %q (want http, https, grpc, grpcs, tcp or unix)", clip.Bytes(scheme, 20))
}

// parseURL parses a network target and checks what all network schemes share.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, badTarget(raw, "%v", err)
	}
	if u.User != nil {
		return nil, badTarget(raw, "credentials in the URL are not supported (send an Authorization header instead)")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return nil, badTarget(raw, "fragment (#...) not allowed")
	}
	if u.Hostname() == "" {
		return nil, badTarget(raw, "missing host")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if err := checkPort(p); err != nil {
			return nil, badTarget(raw, "%v", err)
		}
	}
	if err := checkHost(u); err != nil {
		return nil, badTarget(raw, "%v", err)
	}
	return u, nil
}

// checkHost accepts a DNS name, an IPv4 address, or a bracketed IPv6
// address with an optional zone, followed by an optional port; it rejects
// what url.Parse lets through but no probe can mean.
func checkHost(u *url.URL) error {
	host, port := u.Hostname(), u.Port()
	want := host
	if strings.HasPrefix(u.Host, "[") {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return fmt.Errorf("bad IPv6 address %q", clip.Bytes(host, 50))
		}
		for _, r := range addr.Zone() {
			if !isHostChar(r) {
				return fmt.Errorf("bad IPv6 zone %q", clip.Bytes(addr.Zone(), 20))
			}
		}
		want = "[" + host + "]"
	} else {
		for _, r := range host {
			if !isHostChar(r) {
				return fmt.Errorf("bad host %q", clip.Bytes(host, 50))
			}
		}
	}
	if port != "" || strings.HasSuffix(u.Host, ":") {
		want += ":" + port
	}
	if u.Host != want {
		return fmt.Errorf("bad host %q", clip.Bytes(u.Host, 50))
	}
	return nil
}

// isHostChar reports whether r may appear in a host name or an IPv6 zone.
func isHostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
}

func checkPort(p string) error {
	if p == "" {
		return errors.New("empty port")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' {
		return fmt.Errorf("bad port %q (want 1-65535)", clip.Bytes(p, 10))
	}
	return nil
}

func parseHTTP(raw string) (Target, error) {
	u, err := parseURL(raw)
	if err != nil {
		return Target{}, err
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		path += "?" + u.RawQuery
	}
	return Target{Scheme: Scheme(strings.ToLower(u.Scheme)), Addr: u.Host, Path: path}, nil
}

// requirePort returns an error unless the URL names an explicit port.
func requirePort(raw string, u *url.URL) error {
	if u.Port() == "" {
		return badTarget(raw, "missing port (want %s://host:port)", strings.ToLower(u.Scheme))
	}
	return nil
}

func parseGRPC(raw string) (Target, error) {
	u, err := parseURL(raw)
	if err != nil {
		return Target{}, err
	}
	if err := requirePort(raw, u); err != nil {
		return Target{}, err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return Target{}, badTarget(raw, "query not allowed in a gRPC target")
	}
	service := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(service, "/") {
		return Target{}, badTarget(raw, "service name %q contains '/'", clip.Bytes(service, 40))
	}
	return Target{Scheme: Scheme(strings.ToLower(u.Scheme)), Addr: u.Host, Service: service}, nil
}

func parseTCP(raw string) (Target, error) {
	u, err := parseURL(raw)
	if err != nil {
		return Target{}, err
	}
	if err := requirePort(raw, u); err != nil {
		return Target{}, err
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery {
		return Target{}, badTarget(raw, "path or query not allowed in a tcp target")
	}
	return Target{Scheme: SchemeTCP, Addr: u.Host}, nil
}

func parseUnix(raw, rest string) (Target, error) {
	if !strings.HasPrefix(rest, "/") {
		return Target{}, badTarget(raw, "socket path must be absolute (want unix:///path/to.sock:/http/path)")
	}
	socket, path := rest, "/"
	if i := strings.Index(rest, ":/"); i >= 0 {
		socket, path = rest[:i], rest[i+1:]
	} else if strings.HasSuffix(rest, ":") {
		socket = strings.TrimSuffix(rest, ":")
	}
	if socket == "/" || strings.HasSuffix(socket, "/") {
		return Target{}, badTarget(raw, "socket path %q names a directory", clip.Bytes(socket, 40))
	}
	if len(socket) > 107 {
		// sun_path holds 108 bytes including the terminating NUL on Linux.
		return Target{}, badTarget(raw, "socket path longer than 107 bytes")
	}
	if strings.ContainsAny(socket, "?#") {
		return Target{}, badTarget(raw, "socket path contains '?' or '#' (separate the HTTP path with ':/')")
	}
	// Validate the HTTP path by parsing it the way a request line is parsed.
	u, err := url.ParseRequestURI(path)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Target{}, badTarget(raw, "HTTP path: %v", err)
	}
	if strings.Contains(path, "#") {
		return Target{}, badTarget(raw, "fragment (#...) not allowed")
	}
	if u.Host != "" || strings.HasPrefix(path, "//") {
		return Target{}, badTarget(raw, "HTTP path must not start with //")
	}
	return Target{Scheme: SchemeUnix, Addr: socket, Path: path}, nil
}
