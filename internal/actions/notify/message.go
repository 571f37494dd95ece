package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
)

// Messages for people. The kinds that send text (slack, email, and the
// chat services of the "url" kind) show a notification as a [Message]: a
// default text per event, or the notifier's own text/template (the
// `template:` option beside its kind key, see [ParseTemplate]). The data a
// message shows comes from API clients (check names, reasons, tags): every
// field is clipped, and a rendering is cut at MaxMessageBytes.

// Limits of a rendered message.
const (
	// MaxTitleBytes bounds a Message's Title (a subject, a push title).
	MaxTitleBytes = 250
	// MaxMessageBytes bounds a Message's Body; a longer one is cut and
	// ends with "...".
	MaxMessageBytes = 4000
	// maxNamesShown bounds the names listed (Also affected, tags);
	// the rest are counted.
	maxNamesShown = 10
)

// TimeFormat is how messages show times: "2006-01-02 15:04:05 UTC".
const TimeFormat = "2006-01-02 15:04:05 UTC"

// Message is a notification as people read it: a one-line Title and a
// Body of a few lines.
type Message struct {
	Title string
	Body  string
}

// eventText is the default text of one event: the title's wording after
// the check's quoted name, and the first line of the body.
type eventText struct {
	title string                      // `"api" is DOWN`: fmt with %q of the name
	lead  func(d TemplateData) string // the first line of the body
}

// eventTexts are the default texts by event. An event without one (added
// later, or unknown to an older version reading a newer row) gets the
// generic text of defaultText. Keyed by event name so that a new event
// adds one entry.
var eventTexts = map[string]eventText{
	EventDown: {"%q is DOWN", func(d TemplateData) string {
		return fmt.Sprintf("Check %q went DOWN at %s%s.", d.Check, d.Time.Format(TimeFormat), was(d))
	}},
	EventUp: {"%q is UP", func(d TemplateData) string {
		if d.Duration != "" {
			return fmt.Sprintf("Check %q is UP again at %s, after %s %s (since %s).", d.Check, d.Time.Format(TimeFormat), d.Duration, d.Previous, d.Since.Format(TimeFormat))
		}
		return fmt.Sprintf("Check %q is UP again at %s%s.", d.Check, d.Time.Format(TimeFormat), was(d))
	}},
	EventFlapping: {"%q is FLAPPING", func(d TemplateData) string {
		return fmt.Sprintf("Check %q is FLAPPING (changing state too often) since %s%s.", d.Check, d.Time.Format(TimeFormat), was(d))
	}},
	EventGaveUp: {"%q: gave up restarting", func(d TemplateData) string {
		return fmt.Sprintf("%s: gave up restarting at %s; no more restarts until it is reset.", d.Check, d.Time.Format(TimeFormat))
	}},
	EventTest: {"%q: test notification", func(d TemplateData) string {
		return fmt.Sprintf("This is a test notification from Vitals to the notifier %q, sent at %s by vitals notify test (or the API): "+
			"if you read this, it works. No check changed.", d.Channel, d.Time.Format(TimeFormat))
	}},
	// A check past its due time, within its grace period: not down yet.
	EventLate: {"%q is LATE", func(d TemplateData) string {
		return fmt.Sprintf("Check %q is LATE at %s: no ping yet; it goes down when its grace period ends.", d.Check, d.Time.Format(TimeFormat))
	}},
	// A pull check's certificate expires within its cert_notice.
	EventCertExpiring: {"%q: certificate expires soon", func(d TemplateData) string {
		return fmt.Sprintf("Check %q: the certificate its target presented at %s expires soon.", d.Check, d.Time.Format(TimeFormat))
	}},
}

func was(d TemplateData) string {
	if d.Previous == "" {
		return ""
	}
	return " (was " + d.Previous + ")"
}

// TemplateData is what a notifier's template renders (docs/actions.md
// lists the fields). Every string is clipped; names never include the
// check's UUID (the secret of its ping URL).
type TemplateData struct {
	// Event is what happened: "down", "up", "flapping", "gave_up",
	// "late", "test", … .
	Event string
	// Check is the check's name; UniqueKey its public key.
	Check     string
	UniqueKey string
	// Status and Previous are the check's status after and before.
	Status   string
	Previous string
	// Reason says why ("3 consecutive failures: connection refused").
	Reason string
	// Time is when it happened (UTC); Since when the check entered
	// Previous (zero when unknown).
	Time  time.Time
	Since time.Time
	// Duration is the outage on a recovery ("12m30s", "2d 3h"), else "".
	Duration string
	// Link is the check's status page URL ("" when none is known).
	Link string
	// Tags are the check's tags; Suppressed the checks this alert stands
	// for (children of a down parent).
	Tags       []string
	Suppressed []string
	// Channel is the notifier's name.
	Channel string
	// Test is true for a test notification (vitals notify test).
	Test bool
	// Title and Text are the default title and body, to wrap or extend.
	Title string
	Text  string
}

// Data returns the TemplateData of n with link (the check's page URL).
func Data(n Notification, link string) TemplateData {
	d := TemplateData{
		Event: clip.Text(n.Event, 40), Check: clip.Text(n.Check, 2*model.MaxNameLen), Status: clip.Text(string(n.State), 40),
		Previous: clip.Text(string(n.Previous), 40), Reason: clip.Text(n.Reason, 2*model.MaxReasonLen),
		Time: n.Time.UTC(), Link: clip.Text(link, 1000), Channel: clip.Text(n.Channel, 2*model.MaxNameLen), Test: n.Test,
		Tags: clipNames(n.Tags), Suppressed: clipNames(n.Suppressed),
	}
	if n.Event != EventGaveUp && n.Event != EventTest {
		d.UniqueKey = model.UniqueKey(n.CheckID)
	}
	if !n.PreviousSince.IsZero() {
		d.Since = n.PreviousSince.UTC()
	}
	if o := n.Outage(); o > 0 {
		d.Duration = HumanDuration(o)
	}
	d.Title, d.Text = defaultText(d)
	return d
}

// clipNames returns at most maxNamesShown names, each clipped, and a last
// "and N more" when there were more.
func clipNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(names), maxNamesShown+1))
	for i, s := range names {
		if i == maxNamesShown {
			out = append(out, fmt.Sprintf("and %d more", len(names)-i))
			break
		}
		out = append(out, clip.Text(s, 2*model.MaxNameLen))
	}
	return out
}

// defaultTitle returns the default title of d, and its event's text.
func defaultTitle(d TemplateData) (string, *eventText) {
	var title string
	et, ok := eventTexts[d.Event]
	if ok {
		title = fmt.Sprintf(et.title, d.Check)
	} else {
		title = fmt.Sprintf("%q: %s", d.Check, strings.ToUpper(d.Event))
	}
	if d.Test {
		title = "[TEST] " + title
	}
	if !ok {
		return oneLine(title, MaxTitleBytes), nil
	}
	return oneLine(title, MaxTitleBytes), &et
}

// defaultText returns the default title and body of d.
func defaultText(d TemplateData) (title, body string) {
	title, et := defaultTitle(d)
	var b strings.Builder
	if d.Test && d.Event != EventTest {
		b.WriteString("This is a test notification (vitals notify test): nothing happened to the check.\n")
	}
	if et != nil {
		b.WriteString(et.lead(d))
	} else {
		fmt.Fprintf(&b, "Check %q: %s at %s (status %s%s).", d.Check, d.Event, d.Time.Format(TimeFormat), d.Status, was(d))
	}
	if d.Reason != "" {
		b.WriteString("\nReason: " + d.Reason)
	}
	if len(d.Suppressed) > 0 {
		b.WriteString("\nAlso affected: " + strings.Join(d.Suppressed, ", "))
	}
	if len(d.Tags) > 0 {
		b.WriteString("\nTags: " + strings.Join(d.Tags, " "))
	}
	if d.Link != "" {
		b.WriteString("\n" + d.Link)
	}
	return title, cut(b.String(), MaxMessageBytes)
}

// HumanDuration shows d to the second, in at most two units: "45s",
// "12m30s", "3h5m", "2d 3h".
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch days := d / (24 * time.Hour); {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, (d%(24*time.Hour))/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", d/time.Minute, (d%time.Minute)/time.Second)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// oneLine keeps s on one line and at most n bytes.
func oneLine(s string, n int) string {
	return cut(strings.Join(strings.Fields(s), " "), n)
}

// cut returns s when it is at most n bytes long, else its start ending in
// "..." within n bytes, cut between characters.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clip.Text(s, n-3)
}

// Template is a notifier's message template: text/template source whose
// output is the Body, and whose optional {{define "title"}} is the Title
// (default: the default title). Build one with ParseTemplate. Safe for
// concurrent use.
type Template struct {
	t     *template.Template
	title *template.Template // nil without {{define "title"}}
}

// templateFuncs are the functions templates may call besides text/template's
// built-ins.
var templateFuncs = template.FuncMap{
	"printf": boundedPrintf,
	"upper":  strings.ToUpper,
	"lower":  strings.ToLower,
	"join":   func(sep string, s []string) string { return strings.Join(s, sep) },
	"truncate": func(n int, s string) string {
		if n < 0 {
			n = 0
		}
		return clip.Text(s, n)
	},
}

// maxWidth bounds the widths and precisions of printf's verbs: fmt pads
// in memory before the output is capped.
const maxWidth = 1000

// boundedPrintf is text/template's printf without * widths or widths
// and precisions above maxWidth.
func boundedPrintf(format string, args ...any) (string, error) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		// A verb's flags, argument indexes, width and precision, up to
		// its letter (or %%).
		n := 0
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c == '*':
				return "", errors.New("printf: * widths are not allowed")
			case '0' <= c && c <= '9':
				if n = n*10 + int(c-'0'); n > maxWidth {
					return "", fmt.Errorf("printf: widths and precisions are at most %d", maxWidth)
				}
			case strings.IndexByte("+-# .[]", c) >= 0:
				n = 0
			default:
				break verb
			}
		}
	}
	return fmt.Sprintf(format, args...), nil
}

// ErrTemplate is wrapped by ParseTemplate's errors.
var ErrTemplate = errors.New("template")

// ParseTemplate parses src and renders it once for a sample notification
// of every event (and a test one), so that a template that cannot render
// (an unknown field, a function misused) is a config error, not a failed
// alert. Errors name the template's own line ("message:3:12: …").
func ParseTemplate(src string) (*Template, error) {
	t, err := template.New("message").Funcs(templateFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrTemplate, strings.TrimPrefix(err.Error(), "template: "))
	}
	if err := boundedLoops(t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	tp := &Template{t: t, title: t.Lookup("title")}
	for _, n := range sampleNotifications() {
		if _, err := tp.render(Data(n, "https://status.example.com/status/check/sample")); err != nil {
			return nil, fmt.Errorf("%w: %s event: %s", ErrTemplate, n.Event, strings.TrimPrefix(err.Error(), "template: "))
		}
	}
	return tp, nil
}

// sampleNotifications are what ParseTemplate renders: one per event with
// a default text, one of an event without one, and a test.
func sampleNotifications() []Notification {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := Notification{Check: "sample", Tags: []string{"prod"}, Reason: "sample reason", Time: at,
		PreviousSince: at.Add(-12 * time.Minute), Channel: "sample", Suppressed: []string{"child"}}
	var out []Notification
	for _, ev := range []string{EventDown, EventUp, EventFlapping, EventGaveUp, "late", EventTest, "sample_event"} {
		n := base
		n.Event, n.State, n.Previous = ev, model.Status(ev), model.StatusDown
		if ev == EventDown {
			n.Previous = model.StatusUp
		}
		out = append(out, n)
	}
	test := out[0]
	test.Test = true
	return append(out, test)
}

// maxRangeDepth bounds nested ranges (over at most 11 names each).
const maxRangeDepth = 2

// boundedLoops checks that every rendering of t takes bounded time whatever it
// outputs: range only over the lists .Tags and .Suppressed (at most 11
// names), nested at most maxRangeDepth deep, and {{template}} only to
// call "title" from the message (no recursion). Output is bounded by the
// writer; these bound the loops that write nothing.
func boundedLoops(t *template.Template) error {
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		if err := walkBounded(tt.Tree.Root, tt.Name() == "title", 0); err != nil {
			return fmt.Errorf("%s: %w", tt.Name(), err)
		}
	}
	return nil
}

func walkBounded(n parse.Node, inTitle bool, depth int) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := walkBounded(c, inTitle, depth); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return walkBranch(&n.BranchNode, inTitle, depth)
	case *parse.WithNode:
		return walkBranch(&n.BranchNode, inTitle, depth)
	case *parse.RangeNode:
		if !rangesOverNames(n.Pipe) {
			return fmt.Errorf("line %d: range goes over .Tags or .Suppressed only", n.Line)
		}
		if depth+1 > maxRangeDepth {
			return fmt.Errorf("line %d: ranges nest at most %d deep", n.Line, maxRangeDepth)
		}
		return walkBranch(&n.BranchNode, inTitle, depth+1)
	case *parse.TemplateNode:
		if inTitle || n.Name != "title" {
			return fmt.Errorf("line %d: {{template}} may only call \"title\", from the message", n.Line)
		}
	}
	return nil
}

func walkBranch(b *parse.BranchNode, inTitle bool, depth int) error {
	if err := walkBounded(b.List, inTitle, depth); err != nil {
		return err
	}
	return walkBounded(b.ElseList, inTitle, depth)
}

// rangesOverNames reports whether p is .Tags or .Suppressed (or $.Tags,
// $.Suppressed), with or without variables declared.
func rangesOverNames(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	var ident []string
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		ident = a.Ident
	case *parse.VariableNode:
		if len(a.Ident) < 1 || a.Ident[0] != "$" {
			return false
		}
		ident = a.Ident[1:]
	default:
		return false
	}
	return len(ident) == 1 && (ident[0] == "Tags" || ident[0] == "Suppressed")
}

// errFull stops a rendering that passed its limit.
var errFull = errors.New("message too long")

// bounded is a writer that keeps at most max bytes and then fails.
type bounded struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (c *bounded) Write(p []byte) (int, error) {
	if room := max(c.max-c.buf.Len(), 0); len(p) > room {
		c.buf.Write(p[:room])
		c.cut = true
		return room, errFull
	}
	return c.buf.Write(p)
}

// render executes the template for d; a panic in it is an error.
func (tp *Template) render(d TemplateData) (m Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic: %v", ErrTemplate, r)
		}
	}()
	exec := func(t *template.Template, limit int) (string, error) {
		w := &bounded{max: limit}
		if err := t.Execute(w, d); err != nil && !w.cut {
			return "", err
		}
		return cut(w.buf.String(), limit), nil
	}
	body, err := exec(tp.t, MaxMessageBytes)
	if err != nil {
		return Message{}, err
	}
	m = Message{Title: d.Title, Body: strings.TrimSpace(body)}
	if tp.title != nil {
		title, err := exec(tp.title, 4*MaxTitleBytes)
		if err != nil {
			return Message{}, err
		}
		if title = oneLine(title, MaxTitleBytes); title != "" {
			m.Title = title
		}
	}
	return m, nil
}

// Texts renders the messages of a notifier that sends text: with its
// Template when it has one, else the default text; links from Link. The
// zero value renders the default texts without links.
type Texts struct {
	// Template is the notifier's template; nil: the default text.
	Template *Template
	// Link returns a check's page URL (Deps.CheckURL); nil: no links.
	Link func(model.CheckID) string
}

// NewTexts returns the Texts of a notifier with the template src ("" for
// the default text) built with d.
func NewTexts(src string, d Deps) (Texts, error) {
	t := Texts{Link: d.CheckURL}
	if src == "" {
		return t, nil
	}
	tp, err := ParseTemplate(src)
	if err != nil {
		return Texts{}, err
	}
	t.Template = tp
	return t, nil
}

// Data returns the template data of n.
func (t Texts) Data(n Notification) TemplateData {
	var link string
	if t.Link != nil && n.Event != EventGaveUp && n.Event != EventTest {
		link = t.Link(n.CheckID)
	}
	return Data(n, link)
}

// Message returns n as people read it: the template's rendering, or the
// default text when there is no template, or when it fails or renders
// nothing (the default text is better than no alert).
func (t Texts) Message(n Notification) Message {
	if n.Digest != nil {
		// A digest has its own title (counts by event) and its reason
		// names the first checks and links to the status page; the
		// templates render single checks.
		return Message{Title: oneLine(n.Title(), MaxTitleBytes), Body: cut(n.Reason, MaxMessageBytes)}
	}
	d := t.Data(n)
	if t.Template != nil {
		if m, err := t.Template.render(d); err == nil && m.Body != "" {
			if n.Test && !strings.Contains(m.Title, "TEST") {
				m.Title = "[TEST] " + m.Title
			}
			return m
		}
	}
	return Message{Title: d.Title, Body: d.Text}
}

// TextOptions are what the specs of kinds that send text embed: the
// notifier's template, which the config loader sets from the `template:`
// option beside the kind key (see Templater). Not decoded from the kind's
// own mapping.
type TextOptions struct {
	// Template is text/template source (see ParseTemplate). Default "":
	// the default text.
	Template string `yaml:"-" json:"-"`
}

// SetTemplate implements Templater.
func (o *TextOptions) SetTemplate(src string) { o.Template = src }

// Templater is implemented by the specs of the kinds that send text for
// people (they embed TextOptions): only they take a `template:`.
type Templater interface {
	SetTemplate(src string)
}
