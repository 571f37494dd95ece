package metrics

import (
	"bufio"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/vitals-go/vitals/internal/model"
)

// familyHead returns a family's HELP and TYPE lines in the text format.
func familyHead(name, help string) string {
	typ := "gauge"
	if strings.HasSuffix(name, "_total") {
		typ = "counter"
	}
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n"
}

// WritePerCheck writes the per-check families (vitals_check_*), the same
// series Collect sends for them without Options.OmitPerCheck, straight in
// the Prometheus text format (version 0.0.4), without the registry's
// per-series objects: each check's labels are kept rendered between
// scrapes, and its values are read once into a compact row, then written
// family by family. Serve it with Handler. It reads memory only; scrapes
// are serialised with Collect's.
func (c *Collector) WritePerCheck(w io.Writer) error {
	now := c.now()
	refs := c.order.sorted(c.src)
	fams := [...]*prometheus.Desc{c.up, c.lastPing, c.lastSuccess, c.lastDuration, c.deadline, c.pings, c.flips}
	type row struct {
		up, per string
		v       [len(fams)]float64
		has     uint8 // bit f: the row has a sample in fams[f]
	}
	rows := make([]row, len(refs))
	c.labels.begin()
	for i, r := range refs {
		cs := r.Load()
		st := &cs.State
		l := c.labels.getLocked(c, &cs.Check, st.Display(now), false)
		rw := &rows[i]
		rw.up, rw.per = l.upText, l.perText
		set := func(f int, v float64, ok bool) {
			if ok {
				rw.v[f], rw.has = v, rw.has|1<<f
			}
		}
		up := 0.0
		if st.Status == model.StatusUp {
			up = 1
		}
		set(0, up, true)
		set(1, unix(st.LastPing), !st.LastPing.IsZero())
		set(2, unix(st.LastSuccess), !st.LastSuccess.IsZero())
		set(3, st.LastDuration.Seconds(), st.LastDuration > 0)
		set(4, unix(st.Deadline), !st.Deadline.IsZero())
		set(5, float64(st.NPings), true)
		set(6, float64(st.NFlips), true)
	}
	c.labels.end()
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for f, d := range fams {
		bw.WriteString(c.heads[d])
		name := c.names[d]
		for i := range rows {
			rw := &rows[i]
			if rw.has&(1<<f) == 0 {
				continue
			}
			labels := rw.per
			if f == 0 {
				labels = rw.up
			}
			line = append(append(append(line[:0], name...), labels...), ' ')
			line = appendValue(line, rw.v[f])
			bw.Write(line)
		}
	}
	return bw.Flush()
}

// appendLabels appends label pairs (sorted, as the registry writes them)
// in the text format: {name="value",...}; nothing when there are none.
func appendLabels(b []byte, pairs []*dto.LabelPair) []byte {
	if len(pairs) == 0 {
		return b
	}
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p.GetName()...)
		b = append(b, `="`...)
		b = appendEscaped(b, p.GetValue())
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendValue appends a sample's value and the line's end.
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, +1):
		b = append(b, "+Inf"...)
	case math.IsInf(v, -1):
		b = append(b, "-Inf"...)
	default:
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '\n')
}

// appendEscaped appends a label value escaped for the text format.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, ch)
		}
	}
	return b
}

// Handler serves g (which must hold c, made with Options.OmitPerCheck)
// in the text format, then c's per-check series (WritePerCheck), gzipped
// when the client accepts it. It answers the text format whatever the
// client asks for (Prometheus accepts it). When gathering g fails, the
// answer is promhttp's error, without the per-check series.
func Handler(g prometheus.Gatherer, c *Collector) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{DisableCompression: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
		r = r.Clone(r.Context())
		r.Header.Del("Accept") // the text format, which the series are appended in
		r.Header.Del("Accept-Encoding")
		tw := &teeWriter{ResponseWriter: w, out: w}
		var zw *gzip.Writer
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
			zw = gzip.NewWriter(w)
			tw.out = zw
		}
		h.ServeHTTP(tw, r)
		if tw.status != 0 && tw.status != http.StatusOK {
			return // promhttp's error, uncompressed
		}
		_ = c.WritePerCheck(tw.out) // a write error is the client's going away
		if zw != nil {
			_ = zw.Close()
		}
	})
}

// teeWriter sends a handler's body to out (the gzip writer, or the
// response) and records its status.
type teeWriter struct {
	http.ResponseWriter
	out    io.Writer
	status int
}

func (t *teeWriter) WriteHeader(code int) {
	t.status = code
	if code != http.StatusOK {
		t.Header().Del("Content-Encoding") // promhttp's error text is not compressed
		t.out = t.ResponseWriter
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) { return t.out.Write(p) }
