package pull

import (
	"encoding/json"
	"strings"

	"github.com/vitals-go/vitals/health"
)

// RedactJSON returns a stored Spec (model.Check.Probe) as a read-only
// reader may see it: what a probe of any kind may carry as secrets is
// masked, namely header values (Authorization, API keys), the values of
// the command's environment, credentials in the URL and password- or
// token-like command arguments. The shape stays, so readers still see what
// is probed and how; the fields come out sorted by name. raw that is not a
// JSON object yields nil (nothing rather than a secret).
func RedactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil // not an object: show nothing rather than a secret
	}
	if h, ok := v["header"].(map[string]any); ok {
		for k := range h {
			h[k] = "xxxxx"
		}
	}
	if env, ok := v["env"].([]any); ok {
		for i, e := range env {
			if s, ok := e.(string); ok {
				name, _, _ := strings.Cut(s, "=")
				env[i] = name + "=xxxxx"
			}
		}
	}
	if u, ok := v["url"].(string); ok {
		v["url"] = health.Redact(u)
	}
	if cmd, ok := v["command"].([]any); ok {
		for i, a := range cmd {
			if s, ok := a.(string); ok {
				cmd[i] = health.Redact(s)
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
