package statuspage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// templates are parsed once; html/template escapes every value by context.
var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"label": label,
}).ParseFS(templateFS, "templates/*.html"))

// label is how a status reads on the page.
func label(s model.Status) string {
	switch s {
	case model.StatusGrace:
		return "late"
	case model.StatusStarted:
		return "running"
	}
	return string(s)
}

// asset is an embedded static file, with its gzip form and a content hash.
type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	out := make(map[string]*asset)
	entries, err := staticFS.ReadDir("static")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	for _, e := range entries {
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[e.Name()] = &asset{body: body, gz: gz.Bytes(), ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out
}

// version returns the cache-busting version of an asset.
func version(name string) string {
	if a := assets[name]; a != nil {
		return strings.Trim(a.etag, `"`)
	}
	return ""
}

func (p *Page) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a := p.assets[name]
	if a == nil {
		notFound(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, r, a.body, a.gz)
}

// acceptsGzip reports whether the request accepts gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

var gzPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// writeBody writes body, gzipped when the client accepts it (gz, when not
// nil, is the precompressed form).
func writeBody(w http.ResponseWriter, r *http.Request, body, gz []byte) {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= 1024 && acceptsGzip(r) {
		if gz == nil {
			var buf bytes.Buffer
			buf.Grow(len(body) / 4)
			zw := gzPool.Get().(*gzip.Writer)
			zw.Reset(&buf)
			zw.Write(body)
			zw.Close()
			gzPool.Put(zw)
			gz = buf.Bytes()
		}
		h.Set("Content-Encoding", "gzip")
		body = gz
	}
	h.Set("Content-Length", itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}
