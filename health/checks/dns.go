package checks

import (
	"context"
	"fmt"
	"net"

	"github.com/vitals-go/vitals/health"
)

// DNS checks that a host name resolves to at least a minimum number of
// addresses. It observes the number of addresses. Create it with [NewDNS];
// it is safe for concurrent use.
type DNS struct {
	host     string
	network  string
	resolver *net.Resolver
	min      int
}

var _ health.Checker = (*DNS)(nil)

// DNSOptions configures [NewDNS]. The zero value is ready to use.
type DNSOptions struct {
	// Resolver resolves the name, for a specific DNS server (set PreferGo
	// and Dial). Default: net.DefaultResolver.
	Resolver *net.Resolver
	// Network is "ip" (IPv4 and IPv6), "ip4" or "ip6". Default: "ip".
	Network string
	// MinAddresses is the number of addresses the name must resolve to.
	// Default: 1.
	MinAddresses int
}

// NewDNS returns a checker that resolves host.
//
//	checks.NewDNS("db.internal", checks.DNSOptions{})
func NewDNS(host string, opts DNSOptions) *DNS {
	c := &DNS{host: host, network: opts.Network, resolver: opts.Resolver, min: opts.MinAddresses}
	if c.network == "" {
		c.network = "ip"
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.min <= 0 {
		c.min = 1
	}
	return c
}

// Check resolves the host. It fails with the resolver's error (such as "no
// such host") or with [ErrTooFewAddresses].
func (c *DNS) Check(ctx context.Context) error {
	addrs, err := c.resolver.LookupNetIP(ctx, c.network, c.host)
	if err != nil {
		return fmt.Errorf("dns %s: %w", c.host, err)
	}
	health.Observe(ctx, float64(len(addrs)), "addresses")
	if len(addrs) < c.min {
		return fmt.Errorf("dns %s: %w: resolved %d (%v), want at least %d", c.host, ErrTooFewAddresses, len(addrs), addrs, c.min)
	}
	return nil
}
