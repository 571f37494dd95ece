package pull

import (
	"errors"
	"strings"
	"testing"
)

func TestCondition(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"status":"UP","n":3,"f":1.5,"ready":true,"off":false,"nil":null,
		"checks":[{"name":"db","status":"UP"},{"name":"cache","status":"DOWN"}],"x-version":"2","a]b":1}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cond string
		ok   bool
		msg  string // the failure, exactly
	}{
		{`$.status == "UP"`, true, ""},
		{`$.status != "UP"`, false, `$.status != "UP": found "UP"`},
		{`$.status == "DOWN"`, false, `$.status == "DOWN": found "UP"`},
		{`$.n == 3.0`, true, ""},
		{`$.n < 3`, false, `$.n < 3: found 3`},
		{`$.n <= 3`, true, ""},
		{`$.f > 1`, true, ""},
		{`$.f >= 2`, false, `$.f >= 2: found 1.5`},
		{`$.status > 1`, false, `$.status > 1: found "UP", not a number`},
		{`$.ready == true`, true, ""},
		{`$.ready`, true, ""},
		{`$.off`, false, `$.off: is false`},
		{`$.nil`, false, `$.nil: is null`},
		{`$.nil == null`, true, ""},
		{`$.missing`, false, `$.missing: "missing" is missing`},
		{`$.checks[1].status == "DOWN"`, true, ""},
		{`$.checks[2].status == "DOWN"`, false, `$.checks[2].status == "DOWN": index 2 out of range (length 2)`},
		{`$.checks.status`, false, `$.checks.status: "status": not an object`},
		{`$.status[0]`, false, `$.status[0]: path not found`},
		{`$["x-version"] == "2"`, true, ""},
		{`$.x-version == "2"`, true, ""},
		{`$["a]b"] == 1`, true, ""},
		{`$.checks == 1`, false, `$.checks == 1: found [{"name":"db","status":"UP"},{"name":"cache","status":"DOWN"...`},
	}
	for _, tt := range tests {
		c, err := ParseCondition(tt.cond)
		if err != nil {
			t.Errorf("%s: %v", tt.cond, err)
			continue
		}
		err = c.Eval(doc)
		if (err == nil) != tt.ok || (err != nil && err.Error() != tt.msg) {
			t.Errorf("%s: got %v, want ok=%v %q", tt.cond, err, tt.ok, tt.msg)
		}
	}
}

func TestParseConditionErrors(t *testing.T) {
	tests := map[string]string{
		`status == "UP"`:         `bad condition "status == \"UP\"": the path must start with "$"`,
		`$.status=="UP"`:         `bad condition "$.status==\"UP\"": put spaces around the operator`,
		`$.status == UP`:         `bad condition "$.status == UP": the value UP is not a JSON literal (strings take double quotes: "UP")`,
		`$.status ==`:            `bad condition "$.status ==": a value expected after "=="`,
		`$.status ~ "x"`:         `bad condition "$.status ~ \"x\"": an operator (== != < <= > >=) expected at "~ \"x\""`,
		`$.a < "x"`:              `bad condition "$.a < \"x\"": < compares numbers only`,
		`$.a == [1]`:             `bad condition "$.a == [1]": the value must be a string, number, true, false or null`,
		`$.`:                     `bad condition "$.": empty member name at offset 2`,
		`$[x]`:                   `bad condition "$[x]": array index "x" is not a number 0-1000000`,
		`$[1`:                    `bad condition "$[1": "[" without "]"`,
		`$.a == "x" "y"`:         `bad condition "$.a == \"x\" \"y\"": the value "x" "y" is not a JSON literal (strings take double quotes: "UP")`,
		strings.Repeat("$", 600): `bad condition "` + strings.Repeat("$", 60) + `...": longer than 500 bytes`,
	}
	for in, want := range tests {
		_, err := ParseCondition(in)
		if err == nil || err.Error() != want || !errors.Is(err, ErrBadCondition) {
			t.Errorf("%s:\n got %v\nwant %s", in, err, want)
		}
	}
}

// FuzzCondition: any condition text and body parse or fail cleanly.
func FuzzCondition(f *testing.F) {
	f.Add(`$.status == "UP"`, `{"status":"UP"}`)
	f.Add(`$["a]"][3] >= 1e3`, `{"a]":[0,1,2,1000]}`)
	f.Add(`$.x`, `[1,2]`)
	f.Fuzz(func(t *testing.T, cond, body string) {
		c, err := ParseCondition(cond)
		if err != nil {
			if !errors.Is(err, ErrBadCondition) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		if doc, err := decodeJSON([]byte(body)); err == nil {
			_ = c.Eval(doc)
		}
	})
}
