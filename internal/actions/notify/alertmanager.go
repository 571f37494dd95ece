package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
)

// Alertmanager defaults and bounds.
const (
	// DefaultAlertName is the alertname label of Vitals' alerts.
	DefaultAlertName = "VitalsCheckDown"
	// DefaultResend is how often firing alerts are posted again
	// (Prometheus' --rules.alert.resend-delay).
	DefaultResend = time.Minute
	// alertmanagerPath is the API v2 endpoint, appended to each URL.
	alertmanagerPath = "/api/v2/alerts"
	// endsAfterResends: a firing alert's endsAt is this many resend periods
	// ahead (as Prometheus sets ValidUntil), so that Alertmanager resolves
	// it by itself if Vitals stops re-sending it.
	endsAfterResends = 4
	// maxAlertsPerPost caps one POST's array (Prometheus' notifier sends
	// at most 256 alerts per request too).
	maxAlertsPerPost = 256
	// resendTimeout bounds one resend round's posts (Send's deadline is
	// the Dispatcher's attempt timeout). At most the resend period.
	resendTimeout = 10 * time.Second
)

// The labels Vitals sets on every alert; static labels may not override them.
const (
	LabelAlertName = "alertname"
	LabelCheck     = "check"
	LabelUniqueKey = "unique_key"
	LabelTags      = "tags"
	LabelKind      = "kind"
	LabelStatus    = "status"
)

var reservedLabels = []string{LabelAlertName, LabelCheck, LabelUniqueKey, LabelTags, LabelKind, LabelStatus}

// labelName is Prometheus' classic label name syntax, which every
// Alertmanager version accepts.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// AlertmanagerConfig configures an [Alertmanager] notifier (config kind
// "alertmanager").
type AlertmanagerConfig struct {
	// URL is an Alertmanager's base URL ("http://alertmanager:9093", with
	// its --web.route-prefix if it has one); alerts are posted to
	// URL + "/api/v2/alerts". One of URL and URLs is required.
	URL string `yaml:"url" json:"url,omitempty"`
	// URLs are several Alertmanagers (the replicas of an Alertmanager
	// cluster): each alert is posted to every one, as Prometheus does. A
	// notification counts as delivered when at least one accepted it; the
	// others are logged and catch up at the next resend.
	URLs []string `yaml:"urls" json:"urls,omitempty"`
	// BasicAuth sets HTTP basic authentication. Default none. The password
	// is a secret: put it in ${ENV}.
	BasicAuth *BasicAuth `yaml:"basic_auth" json:"basic_auth,omitempty"`
	// BearerToken is sent as "Authorization: Bearer …". Default none. A
	// secret: put it in ${ENV}. Not with BasicAuth.
	BearerToken string `yaml:"bearer_token" json:"bearer_token,omitempty"`
	// Resend is how often firing alerts are posted again, so that
	// Alertmanager keeps them (it resolves an alert whose endsAt passed);
	// each carries an endsAt four periods ahead. Default DefaultResend
	// (1m); between 1s and 1h.
	Resend time.Duration `yaml:"resend" json:"resend,omitempty"`
	// AlertName is the alertname label. Default DefaultAlertName.
	AlertName string `yaml:"alertname" json:"alertname,omitempty"`
	// Labels are added to every alert (team, severity, env). Names are
	// Prometheus label names and may not be one Vitals sets (alertname,
	// check, unique_key, tags, kind, status).
	Labels map[string]string `yaml:"labels" json:"labels,omitempty"`
}

// BasicAuth is a username and password for HTTP basic authentication.
type BasicAuth struct {
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password,omitempty"`
}

// Validate reports every problem of c, naming the fields. Its errors
// never quote a URL or a secret.
func (c *AlertmanagerConfig) Validate() error {
	var errs []error
	switch {
	case c.URL == "" && len(c.URLs) == 0:
		errs = append(errs, errors.New("url: required (or urls)"))
	case c.URL != "" && len(c.URLs) > 0:
		errs = append(errs, errors.New("url: set url or urls, not both"))
	case c.URL != "":
		if err := validateHTTPURL("url", c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	for i, u := range c.URLs {
		if err := validateHTTPURL(fmt.Sprintf("urls[%d]", i), u); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BasicAuth != nil && c.BasicAuth.Username == "" {
		errs = append(errs, errors.New("basic_auth.username: required"))
	}
	if c.BasicAuth != nil && c.BearerToken != "" {
		errs = append(errs, errors.New("bearer_token: set basic_auth or bearer_token, not both"))
	}
	if c.Resend != 0 && (c.Resend < time.Second || c.Resend > time.Hour) {
		errs = append(errs, fmt.Errorf("resend: %s is not between 1s and 1h", c.Resend))
	}
	if c.AlertName != "" && !utf8.ValidString(c.AlertName) {
		errs = append(errs, errors.New("alertname: not UTF-8"))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		switch {
		case !labelName.MatchString(k) || strings.HasPrefix(k, "__"):
			errs = append(errs, fmt.Errorf("labels.%s: not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", strconv.Quote(clip.Text(k, 64))))
		case slices.Contains(reservedLabels, k):
			errs = append(errs, fmt.Errorf("labels.%s: set by Vitals on every alert", k))
		case !utf8.ValidString(c.Labels[k]):
			errs = append(errs, fmt.Errorf("labels.%s: value not UTF-8", k))
		}
	}
	return errors.Join(errs...)
}

// DefaultStorm implements StormDefaulter: none. Alertmanager groups and
// throttles alerts itself (group_by, group_interval) and needs one alert
// per check to resolve each; a digest would hide the checks' labels.
func (c *AlertmanagerConfig) DefaultStorm() Storm { return Storm{} }

// Build returns the Alertmanager notifier c describes.
func (c *AlertmanagerConfig) Build(d Deps) (Notifier, error) { return NewAlertmanager(*c, d) }

// AlertmanagerAlert is one element of the JSON array posted to
// /api/v2/alerts: Alertmanager's postableAlert
// (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml).
type AlertmanagerAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alertmanager posts alerts to Prometheus Alertmanager's API v2: a down
// or flapping check is a firing alert, its recovery the same alert with
// endsAt set to the up flip's time. While a check stays down, Run posts
// its alert again every Resend with an endsAt four periods ahead, as
// Prometheus does, so that Alertmanager neither resolves it nor keeps it
// after Vitals stopped. The labels are documented in docs/actions.md.
//
// Posts (Send's and Run's) are serialised, so that a resend never
// overtakes a recovery. Safe for concurrent use.
type Alertmanager struct {
	endpoints []amEndpoint
	auth      func(*http.Request)
	client    *http.Client
	resend    time.Duration
	alertName string
	labels    map[string]string
	link      func(model.CheckID) string
	firing    func() []model.CheckState
	log       *slog.Logger
	now       func() time.Time

	// sem is held by whoever posts (capacity 1, so that waiting honours
	// a context) and guards active.
	sem    chan struct{}
	active map[model.CheckID]AlertmanagerAlert // firing alerts posted, by check
}

type amEndpoint struct {
	url  string // base URL + alertmanagerPath
	name string // "alertmanager host:port", for errors (no user info, no path)
}

var (
	_ Notifier = (*Alertmanager)(nil)
	_ Runner   = (*Alertmanager)(nil)
)

// NewAlertmanager returns the notifier c describes. Of d it uses
// HTTPClient, CheckURL (links), Firing (what Run re-sends) and Logger.
func NewAlertmanager(c AlertmanagerConfig, d Deps) (*Alertmanager, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	urls := c.URLs
	if c.URL != "" {
		urls = []string{c.URL}
	}
	a := &Alertmanager{
		client: orDefaultClient(d.HTTPClient), resend: orDefault(c.Resend, DefaultResend), alertName: orDefault(c.AlertName, DefaultAlertName),
		labels: maps.Clone(c.Labels), link: d.Link, firing: d.Firing, log: d.Logger, now: time.Now,
		sem: make(chan struct{}, 1), active: map[model.CheckID]AlertmanagerAlert{},
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	for _, s := range urls {
		u, _ := url.Parse(s) // validated
		name := "alertmanager " + u.Host
		u.Path = strings.TrimSuffix(u.Path, "/") + alertmanagerPath
		u.RawPath = ""
		a.endpoints = append(a.endpoints, amEndpoint{url: u.String(), name: name})
	}
	switch {
	case c.BasicAuth != nil:
		user, pass := c.BasicAuth.Username, c.BasicAuth.Password
		a.auth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
	case c.BearerToken != "":
		h := "Bearer " + c.BearerToken
		a.auth = func(r *http.Request) { r.Header.Set("Authorization", h) }
	}
	return a, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Resend returns the resend period.
func (a *Alertmanager) Resend() time.Duration { return a.resend }

// labelsFor returns the labels of check's alert in status.
func (a *Alertmanager) labelsFor(id model.CheckID, name string, tags []string, kind model.Kind, status string) map[string]string {
	l := maps.Clone(a.labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelAlertName] = a.alertName
	l[LabelCheck] = name
	l[LabelUniqueKey] = id.UniqueKey()
	l[LabelStatus] = status
	if kind != "" {
		l[LabelKind] = string(kind)
	}
	if t := JoinTags(tags); t != "" {
		l[LabelTags] = t
	}
	return l
}

// JoinTags is the tags label's value: the tags sorted, without repeats,
// joined by commas and wrapped in commas (",db,prod,"), as Prometheus'
// Consul discovery joins tags, so that a route matches one tag with
// tags=~".*,prod,.*". Empty without tags.
func JoinTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	t := slices.Clone(tags)
	slices.Sort(t)
	return "," + strings.Join(slices.Compact(t), ",") + ","
}

func (a *Alertmanager) annotations(id model.CheckID, summary, reason string, also []string) (map[string]string, string) {
	ann := map[string]string{"summary": summary}
	desc := reason
	if len(also) > 0 {
		desc = strings.TrimSpace(desc + "\nAlso affected: " + strings.Join(also, ", "))
	}
	if desc != "" {
		ann["description"] = desc
	}
	link := a.link(id)
	if link != "" {
		ann["link"] = link
	}
	return ann, link
}

// AlertsFor returns the alerts Send posts for n at time now: for a down or
// flapping flip the firing alert (endsAt 4 resend periods after now); for
// a recovery the alert of the status it ends, resolved at n.Time; for any
// other event (a restart that gave up) a firing alert of its own that
// resolves by itself 4 resend periods after n.Time. It does not include
// what Send adds from its memory (the resolution of an alert whose labels
// changed).
func (a *Alertmanager) AlertsFor(n Notification, now time.Time) []AlertmanagerAlert {
	if n.Time.IsZero() { // a notification made by hand (a test) rather than by a flip
		n.Time = now
	}
	switch n.Event {
	case EventDown, EventFlapping:
		ann, link := a.annotations(n.CheckID, n.Title(), n.Reason, n.Suppressed)
		return []AlertmanagerAlert{{Labels: a.labelsFor(n.CheckID, n.Check, n.Tags, n.Kind, n.Event), Annotations: ann,
			StartsAt: n.Time, EndsAt: now.Add(endsAfterResends * a.resend), GeneratorURL: link}}
	case EventUp:
		from := string(n.Previous)
		if from != EventFlapping {
			from = EventDown
		}
		ann, link := a.annotations(n.CheckID, n.Title(), n.Reason, nil)
		return []AlertmanagerAlert{{Labels: a.labelsFor(n.CheckID, n.Check, n.Tags, n.Kind, from), Annotations: ann,
			StartsAt: n.Time, EndsAt: n.Time, GeneratorURL: link}}
	default:
		ann, link := a.annotations(n.CheckID, n.Title(), n.Reason, n.Suppressed)
		return []AlertmanagerAlert{{Labels: a.labelsFor(n.CheckID, n.Check, n.Tags, n.Kind, n.Event), Annotations: ann,
			StartsAt: n.Time, EndsAt: n.Time.Add(endsAfterResends * a.resend), GeneratorURL: link}}
	}
}

// Send posts the alerts of n (see AlertsFor) to every Alertmanager. A
// firing alert is remembered for Run's resends, and forgotten on
// recovery. When the check's alert was posted before with other labels
// (down, then flapping; a renamed check), that one is resolved in the same
// request. Success when at least one Alertmanager accepted.
func (a *Alertmanager) Send(ctx context.Context, n Notification) error {
	if err := a.lock(ctx); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	defer a.unlock()
	now := a.now()
	alerts := a.AlertsFor(n, now)
	old, had := a.active[n.CheckID]
	firing := n.Event == EventDown || n.Event == EventFlapping
	switch {
	case n.Event == EventUp && had:
		old.EndsAt = n.Time
		if old.EndsAt.Before(old.StartsAt) {
			old.EndsAt = old.StartsAt
		}
		if maps.Equal(old.Labels, alerts[0].Labels) {
			alerts[0].StartsAt = old.StartsAt
		} else {
			alerts = append(alerts, old)
		}
	case firing && had && !maps.Equal(old.Labels, alerts[0].Labels):
		old.EndsAt = now
		alerts = append(alerts, old)
	case firing && had && old.StartsAt.Before(alerts[0].StartsAt):
		alerts[0].StartsAt = old.StartsAt // a retried or repeated down keeps the outage's start
	}
	if err := a.post(ctx, alerts); err != nil {
		return err
	}
	switch {
	case firing:
		a.active[n.CheckID] = alerts[0]
	case n.Event == EventUp:
		delete(a.active, n.CheckID)
	}
	return nil
}

func (a *Alertmanager) lock(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Alertmanager) unlock() { <-a.sem }

// Run re-sends the firing alerts at once, then every Resend until ctx is
// done. With Deps.Firing set (the daemon sets it) the firing alerts are
// the checks it lists, which after a restart are the checks down since
// before it; an alert posted before that is no longer listed (the check
// recovered without a recovery routed here, or was deleted) is posted
// resolved. Without it, Run re-sends what Send posted. Failures are
// logged and retried at the next round.
func (a *Alertmanager) Run(ctx context.Context) {
	a.resendRound(ctx)
	t := time.NewTicker(a.resend)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.resendRound(ctx)
		}
	}
}

func (a *Alertmanager) resendRound(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, min(resendTimeout, a.resend))
	defer cancel()
	if err := a.lock(ctx); err != nil {
		return // stopping, or a Send held the lock for the whole round
	}
	defer a.unlock()
	now := a.now()
	want := map[model.CheckID]AlertmanagerAlert{}
	if a.firing != nil {
		for _, cs := range a.firing() {
			c, st := cs.Check, cs.State
			ann, link := a.annotations(c.ID, fmt.Sprintf("%q is %s", c.Name, strings.ToUpper(string(st.Status))), st.LastError, nil)
			want[c.ID] = AlertmanagerAlert{Labels: a.labelsFor(c.ID, c.Name, c.Tags, c.Kind, string(st.Status)), Annotations: ann,
				StartsAt: st.Since, GeneratorURL: link}
		}
	} else {
		maps.Copy(want, a.active)
	}
	var alerts []AlertmanagerAlert
	for _, id := range slices.SortedFunc(maps.Keys(a.active), compareIDs) {
		old := a.active[id]
		if w, ok := want[id]; ok && maps.Equal(w.Labels, old.Labels) {
			// The same alert: keep what was posted first (the down flip's
			// reason rather than the last error, the outage's start).
			w.Annotations = old.Annotations
			if old.StartsAt.Before(w.StartsAt) {
				w.StartsAt = old.StartsAt
			}
			want[id] = w
			continue
		}
		old.EndsAt = now
		alerts = append(alerts, old)
	}
	for _, id := range slices.SortedFunc(maps.Keys(want), compareIDs) {
		w := want[id]
		w.EndsAt = now.Add(endsAfterResends * a.resend)
		want[id] = w
		alerts = append(alerts, w)
	}
	a.active = want
	if len(alerts) == 0 {
		return
	}
	if err := a.post(ctx, alerts); err != nil && ctx.Err() == nil {
		a.log.Warn("alertmanager: resend failed; retrying at the next round", "alerts", len(alerts), "err", err)
	}
}

func compareIDs(x, y model.CheckID) int { return bytes.Compare(x[:], y[:]) }

// post sends alerts to every endpoint at once, in requests of at most
// maxAlertsPerPost alerts. It succeeds when one endpoint took them all;
// the failures of the others are then logged.
func (a *Alertmanager) post(ctx context.Context, alerts []AlertmanagerAlert) error {
	var bodies [][]byte
	for chunk := range slices.Chunk(alerts, maxAlertsPerPost) {
		b, err := json.Marshal(chunk)
		if err != nil {
			return Permanent(fmt.Errorf("alertmanager: %w", err))
		}
		bodies = append(bodies, b)
	}
	errs := make([]error, len(a.endpoints))
	var wg sync.WaitGroup
	for i, ep := range a.endpoints {
		wg.Go(func() {
			for _, b := range bodies {
				if errs[i] = a.postOne(ctx, ep, b); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	var failed, permanent []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, ErrPermanent) {
			permanent = append(permanent, err)
		} else {
			failed = append(failed, err)
		}
	}
	switch {
	case len(failed)+len(permanent) == 0:
		return nil
	case len(failed)+len(permanent) < len(errs):
		a.log.Warn("alertmanager: an Alertmanager did not take the alerts; it gets them at the next resend",
			"err", errors.Join(slices.Concat(failed, permanent)...))
		return nil
	case len(failed) == 0:
		return errors.Join(permanent...) // each wraps ErrPermanent
	case len(permanent) == 0:
		return errors.Join(failed...)
	default: // retried: the permanent failures are told, not wrapped
		return fmt.Errorf("%w\n%s", errors.Join(failed...), errors.Join(permanent...).Error())
	}
}

func (a *Alertmanager) postOne(ctx context.Context, ep amEndpoint, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", ep.name, withoutURLSecrets(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vitals-watchdog")
	if a.auth != nil {
		a.auth(req)
	}
	return post(a.client, req, ep.name)
}
