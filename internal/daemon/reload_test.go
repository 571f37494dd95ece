package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/testenv"
)

// guardFile is a config of named push checks with explicit ids: the
// checks come before the API keys when keysLast, after them otherwise.
// extra is added at the top level.
func guardFile(ids map[string]model.CheckID, names []string, keysLast bool, extra string) string {
	var checks strings.Builder
	checks.WriteString("checks:\n")
	for _, n := range names {
		fmt.Fprintf(&checks, "  - {name: %s, id: %s, slug: %s, period: 1h, desc: \"the %s job, which a test may cut in half\"}\n", n, ids[n].Secret(), n, n)
	}
	keys := fmt.Sprintf("api_keys:\n  - {name: rw, key: %s, access: read-write}\n  - {name: ro, key: %s}\n", rwKey, roKey)
	head := "server:\n  listen: [\"127.0.0.1:0\"]\n  shutdown_timeout: 5s\nstore:\n  sqlite: {path: vitals.db}\npings:\n  ping_key: pk\n" + extra
	if keysLast {
		return head + checks.String() + keys
	}
	return head + keys + checks.String()
}

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newIDs(names ...string) map[string]model.CheckID {
	ids := map[string]model.CheckID{}
	for _, n := range names {
		ids[n] = model.NewCheckID()
	}
	return ids
}

func mustStart(t *testing.T, file string, opts Options) *harness {
	t.Helper()
	h, err := startFile(t, file, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ping sends a ping to check id (path: "", "/fail", ...), which must be
// answered 200.
func (h *harness) ping(id model.CheckID, path string) {
	h.t.Helper()
	if code, body := h.do("POST", "/ping/"+id.Secret()+path, ""); code != 200 {
		h.t.Fatalf("ping%s: %d %s", path, code, body)
	}
}

// history returns the API's answers for the pings and the flips of id.
func (h *harness) history(id model.CheckID) (pings, flips string) {
	h.t.Helper()
	code, pings := h.do("GET", "/api/v1/checks/"+id.Secret()+"/pings", rwKey)
	if code != 200 {
		h.t.Fatalf("pings: %d %s", code, pings)
	}
	code, flips = h.do("GET", "/api/v1/checks/"+id.Secret()+"/flips", rwKey)
	if code != 200 {
		h.t.Fatalf("flips: %d %s", code, flips)
	}
	return pings, flips
}

// reload posts /-/reload and decodes the answer.
func (h *harness) reload() (int, map[string]any) {
	h.t.Helper()
	code, body := h.do("POST", "/-/reload", rwKey)
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		h.t.Fatalf("reload answer %q: %v", body, err)
	}
	return code, out
}

func (h *harness) liveChecks() int {
	h.t.Helper()
	code, body := h.do("GET", "/api/v1/checks", rwKey)
	if code != 200 {
		h.t.Fatalf("list checks with the running config's key: %d %s", code, body)
	}
	var out struct {
		Checks []any `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		h.t.Fatal(err)
	}
	return len(out.Checks)
}

func noSecrets(t *testing.T, what, s string, ids map[string]model.CheckID) {
	t.Helper()
	for n, id := range ids {
		if strings.Contains(s, id.Secret()) {
			t.Errorf("%s carries the UUID of %s (its ping secret):\n%s", what, n, s)
		}
	}
	for _, k := range []string{rwKey, roKey} {
		if strings.Contains(s, k) {
			t.Errorf("%s carries an API key:\n%s", what, s)
		}
	}
}

// TestReloadRefusesEmptyFile: an empty file (a non-atomic save caught by
// SIGHUP) would retire every check and remove every API key; the reload is
// refused with a 400 naming both, logged, and the running config stays (the
// old key still works, every check is still watched). A file that writes
// `checks: []` out means it and is applied.
func TestReloadRefusesEmptyFile(t *testing.T) {
	ids := newIDs("a", "b")
	file := t.TempDir() + "/watchdog.yaml"
	write(t, file, guardFile(ids, []string{"a", "b"}, false, ""))
	var logs testenv.LogBuffer
	h := mustStart(t, file, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h.ping(ids["a"], "")

	write(t, file, "")
	code, out := h.reload()
	if code != 400 || out["error"] != "reload refused: the running config stays" {
		t.Fatalf("reload of an empty file: %d %v", code, out)
	}
	details := fmt.Sprint(out["details"])
	for _, want := range []string{
		`has no checks: applying it would retire all 2 checks of the config ("a", "b")`,
		`has no api_keys: applying it would remove all 2 API keys ("ro", "rw")`,
	} {
		if !strings.Contains(details, want) {
			t.Errorf("details %s\nwant %q", details, want)
		}
	}
	noSecrets(t, "the 400 answer", details, ids)
	if n := h.liveChecks(); n != 2 {
		t.Fatalf("%d checks after a refused reload, want 2", n)
	}
	h.ping(ids["b"], "/fail")

	// SIGHUP takes the same path.
	if _, err := h.d.Reload(context.Background()); !errors.Is(err, ErrReloadRefused) {
		t.Fatalf("Reload of an empty file: %v, want ErrReloadRefused", err)
	}
	if !strings.Contains(logs.String(), "config reload refused, the running config stays") {
		t.Errorf("no log line says the reload was refused:\n%s", logs.String())
	}
	noSecrets(t, "the log", logs.String(), ids)

	// Written out empty: meant, applied; the checks are retired, not deleted.
	write(t, file, guardFile(ids, nil, false, "")+"  []\n")
	if code, out := h.reload(); code != 200 || out["retired"] != 2.0 {
		t.Fatalf("reload of checks: []: %d %v", code, out)
	}
	if n := h.liveChecks(); n != 0 {
		t.Fatalf("%d checks after checks: [], want 0", n)
	}
	if rs, _ := h.d.Store().RetiredChecks(context.Background()); len(rs) != 2 {
		t.Fatalf("%d retired checks, want 2", len(rs))
	}
}

// TestReloadTruncatedFile: half of a valid file that still parses. Cut
// before its api_keys, the reload is refused (it would lock the API); cut
// in the middle of its checks, the checks it lost are retired, and the
// whole file brings them back with every ping and flip.
func TestReloadTruncatedFile(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f"}
	ids := newIDs(names...)
	file := t.TempDir() + "/watchdog.yaml"
	half := func(full string) (string, *config.Config) {
		cut := full[:len(full)/2]
		cut = cut[:strings.LastIndexByte(cut, '\n')+1]
		cfg, err := config.Parse(file, []byte(cut), nil)
		if err != nil {
			t.Fatalf("half of the file does not parse: %v\n%s", err, cut)
		}
		if n := len(cfg.Checks); n == 0 || n == len(names) {
			t.Fatalf("half of the file has %d checks", n)
		}
		return cut, cfg
	}

	keysLast := guardFile(ids, names, true, "")
	write(t, file, keysLast)
	h := mustStart(t, file, Options{})
	for _, n := range names {
		h.ping(ids[n], "")
		h.ping(ids[n], "/fail")
	}
	cut, _ := half(keysLast)
	write(t, file, cut)
	code, out := h.reload()
	if code != 400 || !strings.Contains(fmt.Sprint(out["details"]), `would remove all 2 API keys ("ro", "rw")`) {
		t.Fatalf("reload of a file cut before its keys: %d %v", code, out)
	}
	if n := h.liveChecks(); n != len(names) {
		t.Fatalf("%d checks after a refused reload, want %d", n, len(names))
	}

	keysFirst := guardFile(ids, names, false, "")
	type hist struct{ pings, flips string }
	before := map[string]hist{}
	for _, n := range names {
		p, f := h.history(ids[n])
		before[n] = hist{p, f}
	}
	cut, cfg := half(keysFirst)
	write(t, file, cut)
	code, out = h.reload()
	lost := len(names) - len(cfg.Checks)
	if code != 200 || out["retired"] != float64(lost) {
		t.Fatalf("reload of a file cut in its checks: %d %v, want %d retired", code, out, lost)
	}
	if n := h.liveChecks(); n != len(cfg.Checks) {
		t.Fatalf("%d live checks, want %d", n, len(cfg.Checks))
	}
	write(t, file, keysFirst)
	if code, out = h.reload(); code != 200 || out["restored"] != float64(lost) {
		t.Fatalf("reload of the whole file: %d %v, want %d restored", code, out, lost)
	}
	for _, n := range names {
		if p, f := h.history(ids[n]); p != before[n].pings || f != before[n].flips {
			t.Errorf("check %s lost history:\npings %s\nwant  %s\nflips %s\nwant  %s", n, p, before[n].pings, f, before[n].flips)
		}
		if st := h.stateOf(ids[n]); st.Status != model.StatusDown || st.NPings != 2 {
			t.Errorf("check %s: state %s with %d pings, want down with 2", n, st.Status, st.NPings)
		}
	}
}

func (h *harness) stateOf(id model.CheckID) model.State {
	h.t.Helper()
	cs, ok := h.d.Engine().Get(id)
	if !ok {
		h.t.Fatalf("no live check %s", model.UniqueKey(id))
	}
	return cs.State
}

// TestDroppedCheckRestoredWithHistory: a check dropped from the file is
// retired: not watched, not in the API, the status page or the metrics,
// pings to it are 404; through a restart of the daemon while it is
// retired, and a reload that lists it again brings it back with every ping
// and flip and its state.
func TestDroppedCheckRestoredWithHistory(t *testing.T) {
	ids := newIDs("a", "b")
	file := t.TempDir() + "/watchdog.yaml"
	write(t, file, guardFile(ids, []string{"a", "b"}, false, ""))
	h := mustStart(t, file, Options{})
	for _, p := range []string{"", "/fail", "", "/start"} {
		h.ping(ids["b"], p)
	}
	pings, flips := h.history(ids["b"])
	before := h.stateOf(ids["b"])
	if before.NPings != 4 || before.NFlips != 3 {
		t.Fatalf("b before: %+v", before)
	}

	write(t, file, guardFile(ids, []string{"a"}, false, ""))
	if code, out := h.reload(); code != 200 || out["retired"] != 1.0 {
		t.Fatalf("reload without b: %d %v", code, out)
	}
	retired := func(h *harness) {
		t.Helper()
		if code, _ := h.do("GET", "/api/v1/checks/"+ids["b"].Secret(), rwKey); code != 404 {
			t.Errorf("API GET of a retired check: %d, want 404", code)
		}
		if code, _ := h.do("POST", "/ping/"+ids["b"].Secret(), ""); code != 404 {
			t.Errorf("ping to a retired check: %d, want 404", code)
		}
		if _, body := h.do("GET", "/metrics", ""); strings.Contains(body, `check="b"`) {
			t.Error("/metrics lists a retired check")
		}
		if _, body := h.do("GET", "/status/status.json", rwKey); !strings.Contains(body, `"a"`) || strings.Contains(body, `"b"`) {
			t.Errorf("status.json with a retired check: %s", body)
		}
	}
	retired(h)

	// A restart while b is retired: it stays retired, its history kept.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h = mustStart(t, file, Options{})
	retired(h)
	if rs, err := h.d.Store().RetiredChecks(context.Background()); err != nil || len(rs) != 1 || rs[0].Check.ID != ids["b"] {
		t.Fatalf("retired after a restart: %v %v", rs, err)
	}

	write(t, file, guardFile(ids, []string{"a", "b"}, false, ""))
	if code, out := h.reload(); code != 200 || out["restored"] != 1.0 {
		t.Fatalf("reload with b again: %d %v", code, out)
	}
	if p, f := h.history(ids["b"]); p != pings || f != flips {
		t.Errorf("b lost history:\npings %s\nwant  %s\nflips %s\nwant  %s", p, pings, f, flips)
	}
	after := h.stateOf(ids["b"])
	if after.Status != before.Status || after.NPings != 4 || len(after.Runs) != 1 || !after.LastPing.Equal(before.LastPing) {
		t.Errorf("b's state not restored: %+v, want %+v", after, before)
	}
	h.ping(ids["b"], "")
	if st := h.stateOf(ids["b"]); st.NPings != 5 || st.LastDuration <= 0 {
		t.Errorf("the run started before the retirement did not finish: %+v", st)
	}
}

// TestStartRefusesFileWithoutChecks: the daemon does not start on a file
// that lists no checks while the store holds checks of the config (they
// would all be retired, and nothing watched): it says why; the store keeps
// them. With `checks: []` it starts and retires them, and the next start
// with the whole file restores them with their history.
func TestStartRefusesFileWithoutChecks(t *testing.T) {
	ids := newIDs("a", "b")
	file := t.TempDir() + "/watchdog.yaml"
	write(t, file, guardFile(ids, []string{"a", "b"}, false, ""))
	h := mustStart(t, file, Options{})
	h.ping(ids["a"], "")
	h.ping(ids["b"], "/fail")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	// (An empty file would also name another store and listen address:
	// the file here keeps those and lacks its checks.)
	write(t, file, guardFile(ids, nil, false, ""))
	_, err := startFile(t, file, Options{})
	if err == nil || !strings.Contains(err.Error(), `refusing to start`) ||
		!strings.Contains(err.Error(), `has no checks: applying it would retire all 2 checks of the config ("a", "b")`) {
		t.Fatalf("start on a file without checks: %v", err)
	}
	noSecrets(t, "the start error", err.Error(), ids)

	write(t, file, guardFile(ids, nil, false, "")+"  []\n")
	h = mustStart(t, file, Options{})
	if n := h.liveChecks(); n != 0 {
		t.Fatalf("%d live checks with checks: []", n)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	write(t, file, guardFile(ids, []string{"a", "b"}, false, ""))
	h = mustStart(t, file, Options{})
	if a, b := h.stateOf(ids["a"]), h.stateOf(ids["b"]); a.Status != model.StatusUp || a.NPings != 1 || b.Status != model.StatusDown || b.NPings != 1 {
		t.Fatalf("restored at start: a %+v, b %+v", a, b)
	}
}

// TestRetiredPurgedAfterRetention: with an injected clock, a retired check
// is kept for retention.retired_checks and purged, history included, by
// the engine's sweep after it; listed again, it starts afresh.
func TestRetiredPurgedAfterRetention(t *testing.T) {
	ids := newIDs("a", "b")
	file := t.TempDir() + "/watchdog.yaml"
	const retention = "retention: {retired_checks: 2h}\n"
	write(t, file, guardFile(ids, []string{"a", "b"}, false, retention))
	var offset atomic.Int64
	h := mustStart(t, file, Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	h.ping(ids["b"], "")
	write(t, file, guardFile(ids, []string{"a"}, false, retention))
	if code, out := h.reload(); code != 200 || out["retired"] != 1.0 {
		t.Fatalf("reload without b: %d %v", code, out)
	}
	ctx := context.Background()
	purge := func() int {
		t.Helper()
		n, err := h.d.Engine().PurgeRetired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	offset.Store(int64(time.Hour))
	if n := purge(); n != 0 {
		t.Fatalf("%d purged within the retention", n)
	}
	if p, err := h.d.Store().Pings(ctx, ids["b"], store.PingQuery{}); err != nil || len(p) != 1 {
		t.Fatalf("a retired check's pings within the retention: %d, %v", len(p), err)
	}
	offset.Store(int64(2*time.Hour + time.Minute))
	if n := purge(); n != 1 {
		t.Fatalf("%d purged after the retention, want 1", n)
	}
	if _, err := h.d.Store().Pings(ctx, ids["b"], store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pings of a purged check: %v, want ErrNotFound", err)
	}
	write(t, file, guardFile(ids, []string{"a", "b"}, false, retention))
	if code, out := h.reload(); code != 200 || out["created"] != 1.0 || out["restored"] != 0.0 {
		t.Fatalf("reload with b after the purge: %d %v", code, out)
	}
	if st := h.stateOf(ids["b"]); st.NPings != 0 || st.Status != model.StatusNew {
		t.Fatalf("a purged check came back with state: %+v", st)
	}
}
