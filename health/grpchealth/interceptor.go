package grpchealth

import (
	"context"
	"io"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health/checks"
)

// InterceptorOptions configure the passive-health interceptors. The zero
// value is useful.
type InterceptorOptions struct {
	// Failed classifies the status code of a finished RPC as a failure. It
	// is called on the request path and must be fast. Default:
	// [DefaultFailed].
	Failed func(codes.Code) bool

	// Skip leaves RPCs out of the count by full method name
	// ("/package.Service/Method"). Default: the grpc.health.v1.Health
	// service is skipped, so that frequent health probes do not dilute the
	// failure ratio.
	Skip func(fullMethod string) bool
}

// DefaultFailed reports whether code is a failure of the server rather than
// of the caller: Unknown, DeadlineExceeded, ResourceExhausted, Internal,
// Unavailable and DataLoss. Codes such as InvalidArgument, NotFound,
// PermissionDenied or Canceled are the caller's business and count as
// successes.
func DefaultFailed(code codes.Code) bool {
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.ResourceExhausted,
		codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

func skipHealth(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/")
}

func (o InterceptorOptions) withDefaults() InterceptorOptions {
	if o.Failed == nil {
		o.Failed = DefaultFailed
	}
	if o.Skip == nil {
		o.Skip = skipHealth
	}
	return o
}

// record counts the outcome of one RPC that ended with err.
func (o *InterceptorOptions) record(p *checks.Passive, err error) {
	p.Record(err != nil && o.Failed(status.Code(err)))
}

// UnaryServerInterceptor counts the outcome of every unary RPC the server
// handles into p, the passive health check of this instance (see
// [checks.Passive]; register it as a readiness check). A handler that
// panics counts as a failure and the panic goes on up. While p is disabled
// the interceptor only calls the handler. p must not be nil.
func UnaryServerInterceptor(p *checks.Passive, opts InterceptorOptions) grpc.UnaryServerInterceptor {
	o := opts.withDefaults()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !p.Enabled() || o.Skip(info.FullMethod) {
			return handler(ctx, req)
		}
		done := false
		defer func() {
			if !done { // the handler panicked
				p.Record(true)
			}
		}()
		resp, err := handler(ctx, req)
		done = true
		o.record(p, err)
		return resp, err
	}
}

// StreamServerInterceptor counts the outcome of every streaming RPC the
// server handles into p, like [UnaryServerInterceptor]: the outcome is the
// error the handler returns.
func StreamServerInterceptor(p *checks.Passive, opts InterceptorOptions) grpc.StreamServerInterceptor {
	o := opts.withDefaults()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !p.Enabled() || o.Skip(info.FullMethod) {
			return handler(srv, ss)
		}
		done := false
		defer func() {
			if !done {
				p.Record(true)
			}
		}()
		err := handler(srv, ss)
		done = true
		o.record(p, err)
		return err
	}
}

// UnaryClientInterceptor counts the outcome of every unary RPC made through
// a connection into p. It measures a downstream service, not this
// instance: register that Passive as a non-critical check of its own, so
// that a failing downstream shows in details and metrics without making
// this instance unready (which would cascade).
func UnaryClientInterceptor(p *checks.Passive, opts InterceptorOptions) grpc.UnaryClientInterceptor {
	o := opts.withDefaults()
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		if p.Enabled() && !o.Skip(method) {
			o.record(p, err)
		}
		return err
	}
}

// StreamClientInterceptor counts the outcome of every streaming RPC made
// through a connection into p, like [UnaryClientInterceptor]. The outcome
// is known when RecvMsg returns an error (io.EOF is a success) or the
// stream cannot be created; a stream the caller abandons without reading
// to the end is not counted.
func StreamClientInterceptor(p *checks.Passive, opts InterceptorOptions) grpc.StreamClientInterceptor {
	o := opts.withDefaults()
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		if !p.Enabled() || o.Skip(method) {
			return cs, err
		}
		if err != nil {
			o.record(p, err)
			return cs, err
		}
		return &countedClientStream{ClientStream: cs, p: p, o: &o}, nil
	}
}

// countedClientStream records the outcome of its stream once.
type countedClientStream struct {
	grpc.ClientStream
	p    *checks.Passive
	o    *InterceptorOptions
	once sync.Once
}

func (s *countedClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(func() {
			if err == io.EOF {
				s.p.Record(false)
			} else {
				s.o.record(s.p, err)
			}
		})
	}
	return err
}
