package pull_test

import (
	"encoding/json"
	"fmt"

	"github.com/vitals-go/vitals/internal/pull"
)

func ExampleParseCondition() {
	c, err := pull.ParseCondition(`$.checks[0].latency_ms < 100`)
	if err != nil {
		panic(err)
	}
	var doc any
	json.Unmarshal([]byte(`{"checks":[{"name":"db","latency_ms":250}]}`), &doc)
	fmt.Println(c.Eval(doc))
	// Output: $.checks[0].latency_ms < 100: found 250
}
