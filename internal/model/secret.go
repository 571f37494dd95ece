package model

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// Secret is a value that a check's definition took from the environment
// (a ${NAME} reference in the config file), see [Check.Secrets].
type Secret struct {
	// Name is the variable's name, NAME.
	Name string
	// Value is its value. An empty value is ignored.
	Value string
}

// Placeholder returns "${NAME}", what [Check.Redacted] writes instead of
// the value.
func (s Secret) Placeholder() string { return "${" + s.Name + "}" }

// Redacted returns c as it may be written down or shown to someone who may
// not see secrets: every value of c.Secrets, wherever it occurs in Name,
// Slug, PingKey, Tags, Desc and the strings of Probe (a JSON document),
// replaced by its [Secret.Placeholder], and Secrets cleared. The store
// writes this form, so that no secret value reaches the database; the
// running definition keeps the values in memory. Schedule is left as it
// is (it must stay parseable; secrets have no place there). Without
// Secrets, c is returned as it is.
func (c Check) Redacted() Check {
	if len(c.Secrets) == 0 {
		return c
	}
	// Longest values first, so that a value inside another does not cut
	// the longer one.
	secrets := slices.Clone(c.Secrets)
	slices.SortStableFunc(secrets, func(a, b Secret) int { return cmp.Compare(len(b.Value), len(a.Value)) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		if s.Value != "" {
			pairs = append(pairs, s.Value, s.Placeholder())
		}
	}
	r := strings.NewReplacer(pairs...)
	c.Secrets = nil
	c.Name, c.Slug, c.PingKey, c.Desc = r.Replace(c.Name), r.Replace(c.Slug), r.Replace(c.PingKey), r.Replace(c.Desc)
	if c.Tags != nil {
		tags := make([]string, len(c.Tags))
		for i, t := range c.Tags {
			tags[i] = r.Replace(t)
		}
		c.Tags = tags
	}
	c.Probe = redactJSON(c.Probe, r)
	return c
}

// redactJSON replaces within the strings (keys and values) of the JSON
// document b; b that is not JSON is replaced in as bytes.
func redactJSON(b []byte, r *strings.Replacer) []byte {
	if len(b) == 0 {
		return b
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return []byte(r.Replace(string(b)))
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(replaceStrings(v, r)); err != nil {
		return []byte(r.Replace(string(b)))
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

func replaceStrings(v any, r *strings.Replacer) any {
	switch v := v.(type) {
	case string:
		return r.Replace(v)
	case []any:
		for i := range v {
			v[i] = replaceStrings(v[i], r)
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[r.Replace(k)] = replaceStrings(x, r)
		}
		return out
	}
	return v
}
