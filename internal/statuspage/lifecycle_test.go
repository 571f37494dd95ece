package statuspage_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store/memstore"
)

// listEngine is a fixed list of checks (statuspage.Engine): it never
// changes, so its generation is always 0.
type listEngine []model.CheckState

// fixedRef is a model.CheckRef to a check that does not change.
type fixedRef struct{ cs *model.CheckState }

func (r fixedRef) Load() *model.CheckState { return r.cs }
func (r fixedRef) Brief() model.Brief      { return model.PackBrief(&r.cs.State) }

func (l listEngine) Refs() ([]model.CheckRef, uint64) {
	out := make([]model.CheckRef, len(l))
	for i := range l {
		out[i] = fixedRef{&l[i]}
	}
	return out, 0
}

func (l listEngine) Ref(id model.CheckID) (model.CheckRef, bool) {
	for i := range l {
		if l[i].Check.ID == id {
			return fixedRef{&l[i]}, true
		}
	}
	return nil, false
}

func (l listEngine) Generation() uint64 { return 0 }

func (l listEngine) Changes(since uint64) ([]model.CheckID, uint64, bool) { return nil, 0, since == 0 }

// TestCloseLeavesNoGoroutine runs a page's whole life in a synctest bubble,
// which fails if any goroutine the page started outlives Close. The hub
// runs its warm-up and several scans on the bubble's fake clock meanwhile.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		defer st.Close()
		id := model.NewCheckID()
		now := time.Now()
		c := model.Check{ID: id, Name: "solo", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
		if err := st.CreateCheck(context.Background(), c, model.NewState(id, now)); err != nil {
			t.Fatal(err)
		}
		eng := listEngine{{Check: c, State: model.NewState(id, now)}}
		p := statuspage.New(statuspage.Options{Engine: eng, Store: st})
		time.Sleep(time.Minute) // fake time: the hub scans and warms up
		synctest.Wait()
		var buf bytes.Buffer
		if err := p.Render(context.Background(), &buf, false); err != nil {
			t.Fatal(err)
		}
		p.OnState(c, model.State{CheckID: id, Status: model.StatusUp, LastPing: now})
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
	})
}

// streamWriter is an http.ResponseWriter for a live stream in a synctest
// bubble: what is written is kept, safe to read while the handler runs.
type streamWriter struct {
	h  http.Header
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *streamWriter) Header() http.Header { return w.h }
func (w *streamWriter) WriteHeader(int)     {}
func (w *streamWriter) Flush()              {}
func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *streamWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestLateWithoutEvent: a check whose due time passes gets no event from
// the engine (it is only "late" until its deadline), yet open streams are
// told, by the page's scan, on the bubble's fake clock.
func TestLateWithoutEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		defer st.Close()
		now := time.Now()
		id := model.NewCheckID()
		c := model.Check{ID: id, Name: "hourly", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: 10 * time.Minute}}
		s := model.NewState(id, now.Add(-2*time.Hour))
		s.Status, s.Underlying, s.Since, s.LastPing = model.StatusUp, model.StatusUp, now.Add(-59*time.Minute), now.Add(-59*time.Minute)
		s.Due, s.Deadline = now.Add(time.Minute), now.Add(11*time.Minute)
		if err := st.CreateCheck(context.Background(), c, s); err != nil {
			t.Fatal(err)
		}
		p := statuspage.New(statuspage.Options{Engine: listEngine{{Check: c, State: s}}, Store: st, Public: true})
		defer p.Close()
		var buf bytes.Buffer
		if err := p.Render(context.Background(), &buf, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "s-up") {
			t.Fatalf("not up at first:\n%s", buf.String())
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := &streamWriter{h: http.Header{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", "/events", nil))
		}()
		synctest.Wait()
		if strings.Contains(w.String(), `"grace"`) {
			t.Fatal("late before its due time")
		}
		time.Sleep(2 * time.Minute) // past Due, before Deadline
		synctest.Wait()
		if !strings.Contains(w.String(), "event: rows") || !strings.Contains(w.String(), `"s":"grace"`) {
			t.Fatalf("no late row streamed:\n%s", w.String())
		}
		cancel()
		<-done
	})
}
