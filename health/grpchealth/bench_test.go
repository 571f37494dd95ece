package grpchealth

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health/checks"
)

var (
	benchInfo = &grpc.UnaryServerInfo{FullMethod: "/accounts.v1.Accounts/Get"}
	errUnav   = status.Error(codes.Unavailable, "x")
)

// benchReqs are pre-boxed requests; benchHandler fails one call in eight,
// so both paths of the count run. It is called through a variable in both
// cases, so that the baseline cannot be inlined away.
var (
	benchReqs = func() (r [8]any) {
		for i := range r {
			r[i] = i
		}
		return r
	}()
	benchHandler grpc.UnaryHandler = func(_ context.Context, req any) (any, error) {
		if req.(int) == 0 {
			return nil, errUnav
		}
		return req, nil
	}
)

// BenchmarkUnaryServerInterceptor measures the interceptor's cost over
// calling the handler directly (the baseline, same run), in parallel: run
// with -cpu 1,2 to see that the count does not contend.
func BenchmarkUnaryServerInterceptor(b *testing.B) {
	p := checks.NewPassive(checks.PassiveOptions{})
	ic := UnaryServerInterceptor(p, InterceptorOptions{})
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				_, _ = benchHandler(ctx, benchReqs[i&7])
			}
		})
	})
	b.Run("intercepted", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				_, _ = ic(ctx, benchReqs[i&7], benchInfo, benchHandler)
			}
		})
	})
}
