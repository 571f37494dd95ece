package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/systemd"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
)

// startBackground starts the dead man's switch pinger and the systemd
// watchdog keep-alive (WATCHDOG=1 through health/systemd), when configured;
// they stop when ctx ends (d.bg).
func (d *Daemon) startBackground(ctx context.Context) {
	if cfg := d.cfg.Load(); cfg.Server.DeadMansSwitch != "" {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.deadMansSwitch(ctx, cfg.Server.DeadMansSwitch, cfg.Server.DeadMansSwitchInterval.D())
		}()
	}
	if every := systemd.WatchdogInterval(); every > 0 {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.systemdWatchdog(ctx, every)
		}()
	}
}

// deadMansSwitch GETs url every interval while the daemon is live (its
// liveness probe passes), so that an external monitor notices a dead or
// stuck watchdog.
func (d *Daemon) deadMansSwitch(ctx context.Context, url string, every time.Duration) {
	client := &http.Client{Timeout: 10 * time.Second}
	d.whileLive(ctx, every, func() {
		if err := get(ctx, client, url); err != nil && ctx.Err() == nil {
			d.log.Warn("dead man's switch ping failed", "err", err)
		}
	})
}

// whileLive calls beat at once and then on every tick of d.ticker(every),
// skipping the beats that come while the daemon's liveness probe is DOWN,
// until ctx ends. It is the one place deciding that a stuck daemon stops
// telling the outside world it is alive.
func (d *Daemon) whileLive(ctx context.Context, every time.Duration, beat func()) {
	ticks, stop := d.ticker(every)
	defer stop()
	for {
		if d.mon.Peek(health.Liveness).Status != health.StatusDown {
			beat()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}

// realTicker is the default Daemon.ticker: a time.Ticker.
func realTicker(every time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(every)
	return t.C, t.Stop
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// systemdWatchdog sends WATCHDOG=1 every period while liveness passes. It
// is not health/systemd's Notifier: the daemon tells systemd it is ready
// when it starts serving, not when readiness first passes, and its beats
// share whileLive with the dead man's switch.
func (d *Daemon) systemdWatchdog(ctx context.Context, every time.Duration) {
	d.whileLive(ctx, every, func() {
		systemd.Notify("WATCHDOG=1") //nolint:errcheck // best effort, like sd_notify
	})
}

// logStart logs what runs and, for a few push checks, the curl line that
// pings each. Its "vitals watchdog started" is the one start line: it comes
// after the config is applied, so its checks count is what runs (config,
// API and auto-provisioned checks together).
func (d *Daemon) logStart(cfg *config.Config) {
	addrs := d.listenAddrs()
	refs, _ := d.eng.Refs()
	d.log.Info("vitals watchdog started", "version", d.opts.Version, "listen", strings.Join(addrs, ","), "store", storeName(cfg),
		"config", d.opts.ConfigPath, "checks", len(refs))
	base := strings.TrimSuffix(publicURL(cfg, addrs), "/")
	var push []*model.Check // the config's push checks, by id (as the log showed them before)
	for _, r := range refs {
		if c := &r.Load().Check; c.Kind == model.KindPush && c.Source == model.SourceConfig {
			push = append(push, c)
		}
	}
	slices.SortFunc(push, func(a, b *model.Check) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	shown := 0
	for _, c := range push {
		if shown++; shown > 10 {
			d.log.Info("more push checks: list them with GET /api/v3/checks/")
			break
		}
		// The ping URL holds a secret (the UUID, or the ping key), which
		// the log never shows: the slug URL with a placeholder for the
		// key, or where the API shows the URL to a read-write key.
		if c.Slug != "" && c.PingKey != "" {
			d.log.Info("heartbeat check: ping it with", "check", c.Name,
				"curl", "curl -fsS -m 10 --retry 5 "+base+"/ping/<pings.ping_key>/"+c.Slug)
			continue
		}
		d.log.Info("heartbeat check: its ping URL is ping_url in the API's answer to a read-write key", "check", c.Name,
			"api", "GET "+base+"/api/v3/checks/"+c.ID.UniqueKey())
	}
	d.log.Info("endpoints", "readyz", base+"/readyz", "metrics", base+"/metrics", "api", base+"/api/v3/checks/")
}

// listenAddrs are the addresses the daemon listens on.
func (d *Daemon) listenAddrs() []string {
	d.lnsMu.Lock()
	defer d.lnsMu.Unlock()
	addrs := make([]string, len(d.lns))
	for i, ln := range d.lns {
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// checkURL is the absolute URL of a check's status page, for links in
// notifications: server.public_url (as reloaded) + /status/check/<hid>.
func (d *Daemon) checkURL(id model.CheckID) string {
	return strings.TrimSuffix(publicURL(d.cfg.Load(), d.listenAddrs()), "/") + "/status/" + statuspage.CheckPath(id)
}

// statusURL is the absolute URL of the status page's overview, which alert
// storm digests link to.
func (d *Daemon) statusURL() string {
	return strings.TrimSuffix(publicURL(d.cfg.Load(), d.listenAddrs()), "/") + "/status/"
}

// publicURL is server.public_url, with the real port when the config
// listens on port 0.
func publicURL(cfg *config.Config, addrs []string) string {
	if len(addrs) > 0 && cfg.Server.PublicURL == "http://"+cfg.Server.Listen[0] {
		host, _, _ := net.SplitHostPort(addrs[0])
		_, port, _ := net.SplitHostPort(addrs[0])
		if h, _, err := net.SplitHostPort(cfg.Server.Listen[0]); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			host = h
		} else if host == "::" || host == "0.0.0.0" || host == "" {
			host = "127.0.0.1"
		}
		return "http://" + net.JoinHostPort(host, port)
	}
	return cfg.Server.PublicURL
}
