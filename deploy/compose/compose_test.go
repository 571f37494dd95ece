// Package compose holds the example docker-compose files and the test that
// validates their structure: every file decoded strictly (an unknown key is
// an error) into the subset of the Compose specification they use, then
// checked for what matters. The high-availability one (ha/) runs
// PostgreSQL and two watchdog replicas: each replica waits for the
// database to be healthy, takes its secrets from the environment, probes
// its own /readyz with the image's healthprobe, publishes on loopback
// only, and mounts a config that the watchdog's own loader accepts. When
// docker-compose is installed, `docker-compose config -q` must accept
// each file too. No test here starts them: no registry here serves a
// postgres image; the e2e suite runs the same two replicas without
// Docker (e2e/ha_test.go) and the account service's file with it.
package compose

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/config"
)

// file is the part of the Compose specification the files use.
type file struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
	// Extension fields (x-…) hold anchors for the services.
	Watchdog any `yaml:"x-watchdog"`
}

type service struct {
	Image           string               `yaml:"image"`
	Entrypoint      []string             `yaml:"entrypoint"`
	Environment     map[string]string    `yaml:"environment"`
	Ports           []string             `yaml:"ports"`
	Volumes         []string             `yaml:"volumes"`
	DependsOn       map[string]dependsOn `yaml:"depends_on"`
	Healthcheck     *healthcheck         `yaml:"healthcheck"`
	Restart         string               `yaml:"restart"`
	StopGracePeriod string               `yaml:"stop_grace_period"`
}

type dependsOn struct {
	Condition string `yaml:"condition"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

func decode(t *testing.T, path string) file {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f file
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Services) == 0 {
		t.Fatalf("%s: no services", path)
	}
	return f
}

// TestComposeFiles decodes every compose file strictly and, with
// docker-compose installed, has it check each one.
func TestComposeFiles(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob("*/docker-compose.yaml")
	files = append(files, more...)
	if len(files) < 2 {
		t.Fatalf("compose files: %v", files)
	}
	for _, path := range files {
		f := decode(t, path)
		for name, s := range f.Services {
			for _, p := range s.Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("%s: %s publishes %q beyond loopback", path, name, p)
				}
			}
			for dep := range s.DependsOn {
				if _, ok := f.Services[dep]; !ok {
					t.Errorf("%s: %s depends on %s, which is no service", path, name, dep)
				}
			}
		}
		if _, err := exec.LookPath("docker-compose"); err == nil {
			cmd := exec.Command("docker-compose", "-f", path, "config", "-q")
			cmd.Env = append(os.Environ(), "POSTGRES_PASSWORD=stand-in", "VITALS_API_KEY=stand-in-0123456789", "VITALS_PING_KEY=stand-in")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: docker-compose config: %v\n%s", path, err, out)
			}
		}
	}
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}`)

// TestHACompose: PostgreSQL and two watchdog replicas (SPEC §5).
func TestHACompose(t *testing.T) {
	const path = "ha/docker-compose.yaml"
	f := decode(t, path)
	var db string
	var replicas []string
	for name, s := range f.Services {
		switch {
		case strings.HasPrefix(s.Image, "${POSTGRES_IMAGE:-postgres:"):
			db = name
			if s.Healthcheck == nil || !slices.Contains(s.Healthcheck.Test, "pg_isready") {
				t.Errorf("%s: %s: want a pg_isready healthcheck, which the replicas wait for", path, name)
			}
		case strings.HasPrefix(s.Image, "${IMAGE:-vitals/watchdog:"):
			replicas = append(replicas, name)
		default:
			t.Errorf("%s: %s: image %q is neither postgres nor vitals/watchdog", path, name, s.Image)
		}
	}
	if db == "" || len(replicas) != 2 {
		t.Fatalf("%s: want a postgres service and two watchdog replicas; have %q and %v", path, db, replicas)
	}
	slices.Sort(replicas)
	var configs []string
	for _, name := range replicas {
		s := f.Services[name]
		at := path + ": " + name
		if s.DependsOn[db].Condition != "service_healthy" {
			t.Errorf("%s: want depends_on %s with condition service_healthy", at, db)
		}
		if h := s.Healthcheck; h == nil || len(h.Test) != 3 || h.Test[1] != "/healthprobe" || !strings.HasSuffix(h.Test[2], ":8000/readyz") {
			t.Errorf("%s: healthcheck %+v, want the image's /healthprobe on :8000/readyz", at, s.Healthcheck)
		}
		if s.Environment["VITALS_LISTEN"] != ":8000" {
			t.Errorf("%s: VITALS_LISTEN %q, want :8000", at, s.Environment["VITALS_LISTEN"])
		}
		// Secrets only through the environment, never written here.
		for _, name := range []string{"VITALS_API_KEY", "VITALS_PING_KEY"} {
			if !interpolation.MatchString(s.Environment[name]) {
				t.Errorf("%s: %s = %q, want ${%s:?…} from the environment", at, name, s.Environment[name], name)
			}
		}
		if dsn := s.Environment["VITALS_PG_DSN"]; !strings.Contains(dsn, "${POSTGRES_PASSWORD") || !strings.Contains(dsn, "@"+db+":5432/") {
			t.Errorf("%s: VITALS_PG_DSN %q, want the password from ${POSTGRES_PASSWORD} and the host %s", at, dsn, db)
		}
		for _, v := range s.Volumes {
			if src, dst, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(dst, "/etc/vitals/watchdog.yaml") {
				configs = append(configs, filepath.Join("ha", src))
			}
		}
	}
	if len(configs) != 2 || configs[0] != configs[1] {
		t.Fatalf("%s: want both replicas to mount one config at /etc/vitals/watchdog.yaml; have %v", path, configs)
	}
	b, err := os.ReadFile(configs[0])
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VITALS_LISTEN": ":8000", "VITALS_PG_DSN": "postgres://vitals:stand-in@postgres:5432/vitals",
		"VITALS_API_KEY": "stand-in-0123456789", "VITALS_PING_KEY": "stand-in-key"}
	cfg, err := config.Parse(configs[0], b, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("%s: %v", configs[0], err)
	}
	if cfg.Store.Postgres == nil {
		t.Errorf("%s: want store.postgres", configs[0])
	}
}
