// Package grpchealth connects the health library to gRPC (grpc-go), in a
// package of its own so that the health core stays standard-library only.
//
// It provides three things:
//
//   - [Server], a bridge that serves the standard grpc.health.v1.Health
//     service (Check, Watch, List) from a [health.Monitor]: the service ""
//     is readiness, named services map to probes or to sets of checks, and
//     Watch streams get every change as it happens. It works with
//     grpc-health-probe, the kubelet's gRPC probe and gRPC's client-side
//     health checking.
//   - Checkers for the gRPC connections the application already holds:
//     [ConnState] (the channel's connectivity state, no RPC) and
//     [HealthCheck] (a grpc.health.v1 Check call through the connection).
//   - Interceptors that feed a [checks.Passive] window with the outcomes of
//     real RPCs: [UnaryServerInterceptor] and [StreamServerInterceptor] for
//     this instance's own health, [UnaryClientInterceptor] and
//     [StreamClientInterceptor] for a downstream's.
//
// A typical server:
//
//	m := health.New(health.Options{})
//	passive := checks.NewPassive(checks.PassiveOptions{})
//	m.Register(health.Check{Name: "db", Checker: health.CheckerFunc(db.PingContext)})
//	m.Register(health.Check{Name: "passive", Checker: passive, Interval: time.Second})
//
//	gs := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpchealth.UnaryServerInterceptor(passive, grpchealth.InterceptorOptions{})),
//		grpc.ChainStreamInterceptor(grpchealth.StreamServerInterceptor(passive, grpchealth.InterceptorOptions{})),
//	)
//	hs, _ := grpchealth.New(m, grpchealth.Options{Services: map[string][]string{"accounts.v1.Accounts": {"db"}}})
//	hs.Register(gs)
//	m.Start(); hs.Start()
//	...
//	hs.Stop()          // every service NOT_SERVING, Watch streams end
//	gs.GracefulStop()  // can now complete
package grpchealth
