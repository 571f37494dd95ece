package badge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/vitals-go/vitals/internal/model"
)

// Format is a badge's encoding: the last part of its URL.
type Format string

// The badge formats.
const (
	// FormatSVG is the image (image/svg+xml).
	FormatSVG Format = "svg"
	// FormatJSON is the Tally (application/json).
	FormatJSON Format = "json"
	// FormatShields is a shields.io endpoint document (application/json).
	FormatShields Format = "shields"
)

// AllTags is the tag of the badge of every check.
const AllTags = "*"

// sigLen is the length of a tag's signature, as healthchecks.io's (8
// characters of URL-safe base64: 48 bits).
const sigLen = 8

// twoStateSuffix marks the signature of a two-state tag badge.
const twoStateSuffix = "-2"

// Keys derives an installation's badge keys and signatures from its secret
// (store.Store.InstallationSecret), so that they are the same across
// restarts and on every replica sharing the store, and cannot be computed
// without the secret. Every value comes from HMAC-SHA256 under a key of
// its own, itself HMAC-SHA256(secret, "vitals-badges"), so no badge value
// can equal a check id, a channel id or another badge value, and none
// reveals anything about a check's UUID (the secret of its ping URL): the
// per-check key is a one-way function of it.
//
//   - the project key (URL part <badge_key> of the tag badges): the first
//     16 bytes of HMAC(k, "project"), printed as a UUID (version 8);
//   - a tag's signature: the first 8 characters of the URL-safe base64 of
//     HMAC(k, "tag:" + tag), healthchecks.io's length;
//   - a check's key (/b/<states>/<key>): the first 16 bytes of
//     HMAC(k, "check:" + the UUID's 16 bytes), printed as a UUID.
//
// A Keys is immutable and safe for concurrent use.
type Keys struct {
	k       []byte
	project string
}

// NewKeys returns the keys derived from secret. It keeps only the derived
// key, not secret.
func NewKeys(secret []byte) *Keys {
	k := &Keys{k: mac(secret, "vitals-badges")}
	k.project = uuidString(k.sum("project"))
	return k
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (k *Keys) sum(msg string) []byte { return mac(k.k, msg) }

// uuidString prints the first 16 bytes of b as a lower-case UUID with the
// version (8, RFC 9562's custom layout) and variant bits set, the shape of
// healthchecks.io's badge keys.
func uuidString(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ProjectKey returns the key of the tag badges (<badge_key> in their URLs).
func (k *Keys) ProjectKey() string { return k.project }

// Signature returns tag's signature (without the two-state suffix).
func (k *Keys) Signature(tag string) string {
	return base64.RawURLEncoding.EncodeToString(k.sum("tag:" + tag))[:sigLen]
}

// CheckKey returns the key of check id's own badges.
func (k *Keys) CheckKey(id model.CheckID) string {
	return uuidString(k.sum("check:" + string(id[:])))
}

// validSignature reports, in constant time, whether sig (without its
// two-state suffix) is tag's signature.
func (k *Keys) validSignature(tag, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(k.Signature(tag)))
}

// validProject reports, in constant time, whether key is the project key.
func (k *Keys) validProject(key string) bool {
	return hmac.Equal([]byte(key), []byte(k.project))
}

// TagPath returns the path of tag's badge (AllTags: every check) in
// format f with states: /badge/<badge_key>/<signature>/<tag>.<format>, or
// /badge/<badge_key>/<signature>.<format> for AllTags, the signature
// ending in "-2" for a two-state badge, as healthchecks.io's
// get_badge_url. The tag is escaped as healthchecks.io's URLs carry it:
// percent-encoded (all but letters, digits and "_.-~"), then the "%"
// encoded again ("db@dc1" is "db%2540dc1").
func (k *Keys) TagPath(tag string, f Format, states States) string {
	sig := k.Signature(tag)
	if states != ThreeStates {
		sig += twoStateSuffix
	}
	if tag == AllTags {
		return "/badge/" + k.project + "/" + sig + "." + string(f)
	}
	return "/badge/" + k.project + "/" + sig + "/" + quoteTag(tag) + "." + string(f)
}

// CheckPath returns the path of check id's badge in format f with states:
// /b/<2|3>/<check key>.<format>.
func (k *Keys) CheckPath(id model.CheckID, f Format, states States) string {
	n := "2"
	if states == ThreeStates {
		n = "3"
	}
	return "/b/" + n + "/" + k.CheckKey(id) + "." + string(f)
}

// BadgeURLs returns the paths of tag's badges (AllTags: every check) by
// format, the keys of healthchecks.io's GET /api/v3/badges/: svg, json and
// shields (two states), svg3, json3 and shields3 (three states). It is
// api.Options.BadgeURLs.
func (k *Keys) BadgeURLs(tag string) map[string]string {
	out := make(map[string]string, 6)
	for _, f := range []Format{FormatSVG, FormatJSON, FormatShields} {
		out[string(f)] = k.TagPath(tag, f, TwoStates)
		out[string(f)+"3"] = k.TagPath(tag, f, ThreeStates)
	}
	return out
}

// CheckBadgeURL returns the path of check id's two-state SVG badge, the
// "badge_url" of healthchecks.io's API. It is api.Options.CheckBadgeURL.
func (k *Keys) CheckBadgeURL(id model.CheckID) string {
	return k.CheckPath(id, FormatSVG, TwoStates)
}

// quoteTag escapes tag as healthchecks.io's URLs carry it: Python's
// quote(tag, safe="") (QuoteConverter.to_url), then Django's reverse
// quotes the result again, which turns each "%" into "%25".
func quoteTag(tag string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%25")
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unreserved reports whether Python's quote leaves c as it is.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~'
}
