package config_test

import (
	"fmt"

	"github.com/vitals-go/vitals/internal/config"
)

func ExampleParse() {
	yaml := `
api_keys:
  - {name: ops, key: "${OPS_KEY}", access: read-write}
checks:
  - name: backup
    cron: "0 3 * * *"
    tz: Europe/Paris
  - name: api
    http:
      url: http://127.0.0.1:8080/readyz
      json: ['$.status == "UP"']
    interval: 10s
    thrsholds: {failures: 3}
`
	env := func(name string) (string, bool) { return "", false }
	_, err := config.Parse("watchdog.yaml", []byte(yaml), env)
	fmt.Println(err)
	// Output:
	// watchdog.yaml:3: api_keys[0].key: environment variable OPS_KEY is not set (write ${OPS_KEY:-default} for a default)
	// watchdog.yaml:13: checks[1].thrsholds: unknown field (did you mean "thresholds"?)
}
