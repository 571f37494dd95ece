package natscheck_test

import (
	"log"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/natscheck"
)

func ExampleNew() {
	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	m := health.New(health.Options{})
	m.Register(health.Check{Name: "nats", Checker: natscheck.New(nc, natscheck.Options{}), Timeout: time.Second})
}
