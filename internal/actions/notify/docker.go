package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/actions/restart"
)

// DefaultDockerSocket is the Docker Engine API socket used when neither
// DockerConfig.Socket nor DOCKER_HOST=unix://… says otherwise.
const DefaultDockerSocket = "/var/run/docker.sock"

// Docker talks to the Docker Engine API over its unix socket with net/http
// (the documented HTTP API, https://docs.docker.com/engine/api/): the
// official client module would add dozens of dependencies for one POST.
// Requests use the unversioned path, which the engine serves at its own
// API version. Safe for concurrent use.
type Docker struct {
	socket string
	client *http.Client
}

// NewDocker returns an Engine API client on the unix socket (default
// DOCKER_HOST's unix:// path, else DefaultDockerSocket).
func NewDocker(socket string) *Docker {
	if socket == "" {
		if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
			socket = strings.TrimPrefix(h, "unix://")
		} else {
			socket = DefaultDockerSocket
		}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 2,
	}
	return &Docker{socket: socket, client: &http.Client{Transport: tr}}
}

// ErrNoSuchContainer is wrapped when the engine answers 404 for the container.
var ErrNoSuchContainer = errors.New("no such container")

// Ping checks the engine answers (GET /_ping).
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.do(ctx, http.MethodGet, "/_ping", nil)
	return err
}

// RestartContainer restarts a container by name or id: POST
// /containers/{id}/restart?t=<stop timeout seconds>. It returns when the
// engine has restarted it (or failed to).
func (d *Docker) RestartContainer(ctx context.Context, container string, stopTimeout time.Duration) error {
	q := url.Values{"t": {strconv.Itoa(int(stopTimeout / time.Second))}}
	_, err := d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/restart", q)
	return err
}

func (d *Docker) do(ctx context.Context, method, path string, q url.Values) ([]byte, error) {
	u := "http://docker" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker %s: %w", d.socket, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode < 300:
		return body, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, Permanent(fmt.Errorf("docker %s %s: %w: %s", method, path, ErrNoSuchContainer, strings.TrimSpace(string(body))))
	case resp.StatusCode < 500:
		return nil, Permanent(fmt.Errorf("docker %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body))))
	default:
		return nil, fmt.Errorf("docker %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
}

// DockerConfig configures the restart of a container (config kind
// "docker").
type DockerConfig struct {
	// Container is the container's name or id. Required.
	Container string `yaml:"container" json:"container"`
	// Socket is the Engine API unix socket. Default DOCKER_HOST's unix://
	// path, else /var/run/docker.sock.
	Socket string `yaml:"socket" json:"socket,omitempty"`
	// StopTimeout is how long the engine waits after SIGTERM before it
	// kills the container (the API's t). Default 10s.
	StopTimeout time.Duration `yaml:"stop_timeout" json:"stop_timeout,omitempty"`
	// Restart bounds restart loops (restart.Policy; defaults there).
	Restart restart.Policy `yaml:"restart" json:"restart"`
	// Alert names the channels told, once, when restarts give up.
	// Default none (the row then fails with ErrGaveUp).
	Alert []string `yaml:"alert" json:"alert,omitempty"`
}

// Validate reports every problem of c, naming the fields.
func (c *DockerConfig) Validate() error {
	var errs []error
	if c.Container == "" {
		errs = append(errs, errors.New("container: required"))
	}
	if c.StopTimeout < 0 {
		errs = append(errs, errors.New("stop_timeout: negative"))
	}
	if err := c.Restart.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("restart.%w", err))
	}
	return errors.Join(errs...)
}

// Build returns the guarded container restart c describes.
func (c *DockerConfig) Build(d Deps) (Notifier, error) {
	st := c.StopTimeout
	if st == 0 {
		st = 10 * time.Second
	}
	dk := NewDocker(c.Socket)
	target := RestarterFunc(func(ctx context.Context) error { return dk.RestartContainer(ctx, c.Container, st) })
	g := NewGuard("docker restart "+c.Container, target, c.Restart, d.GaveUp(c.Alert))
	g.Timeout = st + 30*time.Second
	return g, nil
}

// GaveUp returns the GaveUpFunc that raises n on channels through Raise, or
// nil when there are no channels or no Raise.
func (d Deps) GaveUp(channels []string) GaveUpFunc {
	if len(channels) == 0 || d.Raise == nil {
		return nil
	}
	return func(n Notification) { d.Raise(n, channels) }
}
