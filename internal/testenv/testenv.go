// Package testenv connects Vitals' integration tests to the real servers that
// scripts/services.sh installs and starts on loopback (PostgreSQL, MariaDB,
// Redis, RabbitMQ, NATS, Mosquitto).
//
// A test reads the address of a server from its environment variable (with
// the same default that `scripts/services.sh env` prints), tries to reach it,
// and hands the error to [Require]:
//
//	db, err := sql.Open("pgx", testenv.PostgresDSN())
//	testenv.Require(t, "postgres", err)
//	testenv.Require(t, "postgres", db.PingContext(ctx))
//
// Without VITALS_INTEGRATION=1 a missing server skips the test with a reason
// that says how to start the servers; with it (CI sets it) the test fails.
//
// To take a dependency down and bring it back, tests route their client
// through a [Proxy] and cut it, instead of stopping the shared server: go test
// runs packages in parallel, and stopping a server under one package would
// fail another package's tests. `scripts/services.sh stop-one NAME` and
// `start-one NAME` remain for trying it by hand.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// IntegrationEnv is the environment variable that makes a missing server a
// test failure instead of a skip when set to "1".
const IntegrationEnv = "VITALS_INTEGRATION"

// StartHint tells a developer how to get the servers.
const StartHint = "start the servers with scripts/services.sh start (tests default to the addresses it prints with: scripts/services.sh env)"

// Integration reports whether VITALS_INTEGRATION=1 is set, that is whether
// integration tests must run rather than skip.
func Integration() bool { return os.Getenv(IntegrationEnv) == "1" }

// Require does nothing when err is nil. Otherwise it ends the test: with
// t.Fatalf under VITALS_INTEGRATION=1, with t.Skipf (naming what is missing
// and how to start it) otherwise. what names the server, such as "postgres".
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if Integration() {
		tb.Fatalf("%s is required (%s=1) but not available: %v", what, IntegrationEnv, err)
	}
	tb.Skipf("%s not available: %v; %s", what, err, hintFor(what))
}

// hintFor says how to make what available: the services script for the
// servers it starts, something specific for the rest.
func hintFor(what string) string {
	switch what {
	case "docker", "docker-compose":
		return "these tests need a running Docker engine (and docker-compose for the compose test)"
	case "chromium":
		return "install Debian's chromium (apt-get install -y chromium) for the browser tests"
	case "root", "mount", "cgroup":
		return "run the tests as root on Linux for real mounts and cgroups"
	}
	return StartHint
}

// The connection settings of the servers, as printed by
// `scripts/services.sh env`. Each function returns its environment
// variable, or the script's default when the variable is unset or empty.

// PostgresDSN returns VITALS_PG_DSN, a libpq URL.
// Default: postgres://vitals:vitals@127.0.0.1:55432/vitals?sslmode=disable.
func PostgresDSN() string {
	return env("VITALS_PG_DSN", "postgres://vitals:vitals@127.0.0.1:55432/vitals?sslmode=disable")
}

// MySQLDSN returns VITALS_MYSQL_DSN, a go-sql-driver/mysql DSN for MariaDB.
// Default: vitals:vitals@tcp(127.0.0.1:53306)/vitals.
func MySQLDSN() string { return env("VITALS_MYSQL_DSN", "vitals:vitals@tcp(127.0.0.1:53306)/vitals") }

// RedisAddr returns VITALS_REDIS_ADDR. Default: 127.0.0.1:56379.
func RedisAddr() string { return env("VITALS_REDIS_ADDR", "127.0.0.1:56379") }

// AMQPURL returns VITALS_AMQP_URL, RabbitMQ's AMQP 0-9-1 URL.
// Default: amqp://guest:guest@127.0.0.1:55672/.
func AMQPURL() string { return env("VITALS_AMQP_URL", "amqp://guest:guest@127.0.0.1:55672/") }

// NATSURL returns VITALS_NATS_URL. Default: nats://127.0.0.1:54222.
func NATSURL() string { return env("VITALS_NATS_URL", "nats://127.0.0.1:54222") }

// MQTTAddr returns VITALS_MQTT_ADDR, Mosquitto's host:port.
// Default: 127.0.0.1:51883.
func MQTTAddr() string { return env("VITALS_MQTT_ADDR", "127.0.0.1:51883") }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Reachable reports whether a TCP connection to addr (host:port) can be
// opened within two seconds: a quick way to tell "no server" from a real
// failure before building a client.
func Reachable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// WaitFor calls cond every tick (50 ms) until it returns nil, and fails the
// test with cond's last error when within passes first. It is for waiting on
// real external servers and clients that reconnect on their own schedule;
// within is a generous upper bound, not a performance assertion.
func WaitFor(tb testing.TB, what string, within time.Duration, cond func() error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s: not reached within %v: %v", what, within, err)
		case <-tick.C:
		}
	}
}

// Not turns a check into a condition for [WaitFor] that holds when the check
// fails: WaitFor(t, "down", d, testenv.Not(check)).
func Not(check func() error) func() error {
	return func() error {
		if err := check(); err == nil {
			return fmt.Errorf("still passing")
		}
		return nil
	}
}
