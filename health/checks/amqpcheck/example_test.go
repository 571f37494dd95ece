package amqpcheck_test

import (
	"log"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/amqpcheck"
)

// An application that redials keeps its current connection and hands the
// checker a getter, so the check follows the reconnects.
func ExampleConnectionFunc() {
	var current atomic.Pointer[amqp.Connection]
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		log.Fatal(err)
	}
	current.Store(conn) // and again from the application's redial loop

	m := health.New(health.Options{})
	m.Register(health.Check{
		Name:    "rabbitmq",
		Checker: amqpcheck.New(amqpcheck.ConnectionFunc(current.Load), amqpcheck.Options{Queue: "jobs"}),
		Timeout: 2 * time.Second,
	})
}
