package mqttcheck_test

import (
	"log"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/mqttcheck"
)

func ExampleNew() {
	client := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://127.0.0.1:1883").SetAutoReconnect(true))
	if tok := client.Connect(); tok.Wait() && tok.Error() != nil {
		log.Fatal(tok.Error())
	}
	m := health.New(health.Options{})
	m.Register(health.Check{
		Name:    "mqtt",
		Checker: mqttcheck.New(client, mqttcheck.Options{RoundTrip: true}),
		Timeout: 2 * time.Second,
	})
}
