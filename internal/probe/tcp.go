package probe

import (
	"context"
	"net"
)

func (p *Prober) probeTCP(ctx context.Context, t Target) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return Result{Err: classify(ctx, err)}
	}
	conn.Close()
	return Result{Healthy: true, Reason: "connected"}
}
