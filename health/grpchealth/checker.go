package grpchealth

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health"
)

// ErrNotReady is wrapped by the error of a [ConnState] check whose
// connection is not READY.
var ErrNotReady = errors.New("grpc connection not ready")

// ErrNotServing is wrapped by the error of a [HealthCheck] whose service
// does not answer SERVING (or is unknown to the server).
var ErrNotServing = errors.New("grpc service not serving")

// ConnStateOptions configure [NewConnState]. The zero value is useful.
type ConnStateOptions struct {
	// IdleMustConnect makes an IDLE connection healthy only if it becomes
	// READY within the check's timeout. By default an IDLE connection is
	// healthy: gRPC lets a channel go IDLE after its idle timeout without
	// RPCs, and also when a connection is lost, and reconnects on the next
	// RPC. Either way the check asks an IDLE connection to connect, so the
	// next run sees the real state. Default: false.
	IdleMustConnect bool
}

// ConnState checks the connectivity state of a *grpc.ClientConn that the
// application already holds, without sending an RPC: READY passes, IDLE
// passes (or must connect, see [ConnStateOptions]), CONNECTING is waited
// on until it settles or the check's timeout ends, TRANSIENT_FAILURE and
// SHUTDOWN fail. It is a readiness check only for a connection the
// instance cannot work without; for a downstream service, register it as
// non-critical (a failing downstream must not make this instance unready).
// Safe for concurrent use.
type ConnState struct {
	cc   *grpc.ClientConn
	opts ConnStateOptions
}

var _ health.Checker = (*ConnState)(nil)

// NewConnState returns a checker of cc's connectivity state.
func NewConnState(cc *grpc.ClientConn, opts ConnStateOptions) *ConnState {
	return &ConnState{cc: cc, opts: opts}
}

// Check passes when the connection is READY (or IDLE, by default). It
// fails with an error wrapping [ErrNotReady] that names the target and the
// state.
func (c *ConnState) Check(ctx context.Context) error {
	for {
		st := c.cc.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			c.cc.Connect()
			if !c.opts.IdleMustConnect {
				return nil
			}
		case connectivity.Connecting:
		default: // TransientFailure, Shutdown
			return fmt.Errorf("grpc %s: %w: %s", c.cc.Target(), ErrNotReady, st)
		}
		if !c.cc.WaitForStateChange(ctx, st) {
			return fmt.Errorf("grpc %s: %w: still %s: %w", c.cc.Target(), ErrNotReady, st, ctx.Err())
		}
	}
}

// HealthCheck checks a remote gRPC server through the standard
// grpc.health.v1.Health/Check call, on a connection the application
// already holds (so the check exercises the channel the service really
// uses). Safe for concurrent use.
type HealthCheck struct {
	client  healthpb.HealthClient
	service string
	opts    []grpc.CallOption
}

var _ health.Checker = (*HealthCheck)(nil)

// NewHealthCheck returns a checker that asks cc's server for the status of
// service ("" for the whole server), with opts on every call (such as
// grpc.WaitForReady(true)).
func NewHealthCheck(cc grpc.ClientConnInterface, service string, opts ...grpc.CallOption) *HealthCheck {
	return &HealthCheck{client: healthpb.NewHealthClient(cc), service: service, opts: opts}
}

// Check passes when the server answers SERVING. An answer of NOT_SERVING
// (or any status other than SERVING) and codes.NotFound (an unknown
// service) give an error wrapping [ErrNotServing]; a failed call gives the
// call's error.
func (h *HealthCheck) Check(ctx context.Context) error {
	resp, err := h.client.Check(ctx, &healthpb.HealthCheckRequest{Service: h.service}, h.opts...)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("grpc health %q: %w: unknown service", h.service, ErrNotServing)
		}
		return fmt.Errorf("grpc health %q: %w", h.service, err)
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health %q: %w: %s", h.service, ErrNotServing, st)
	}
	return nil
}
