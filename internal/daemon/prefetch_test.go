package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// prefetchOf starts the prefetch a start of file would start.
func prefetchOf(t *testing.T, file string) *Prefetch {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	hint, ok := config.PeekStore(file, data)
	if !ok {
		t.Fatalf("%s: the store section was not peeked", file)
	}
	return StartPrefetch(context.Background(), hint)
}

// TestPrefetch: a start takes the store read while its config was parsed
// when the config names that store, with everything the store holds; any
// other store, a missing file or an unused prefetch leave New to open the
// store itself, and nothing stays open.
func TestPrefetch(t *testing.T) {
	old := manyLookups
	manyLookups = 1 // the boot read of every check, as at 100,000 checks
	t.Cleanup(func() { manyLookups = old })
	const checks = "  - {name: a, period: 1h}\n  - {name: b, period: 1h}\n"

	h := start(t, checks)
	id := h.d.CheckID("a")
	h.do("POST", "/ping/"+id.Secret()+"/fail", "")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	pings := int64(1) // a's; each restart adds one
	restartWith := func(t *testing.T, pf *Prefetch) *harness {
		t.Helper()
		h2, err := startFile(t, h.file, Options{Prefetch: pf})
		if err != nil {
			t.Fatal(err)
		}
		want := model.StatusUp
		if pings == 1 {
			want = model.StatusDown
		}
		if st := h2.state("a"); st.Status != want || st.NPings != pings || h2.d.CheckID("a") != id {
			t.Fatalf("after the restart, want %s with %d pings: %+v", want, pings, st)
		}
		if code, _ := h2.do("POST", "/ping/"+id.Secret(), ""); code != 200 {
			t.Fatalf("a ping after the restart: %d", code)
		}
		pings++
		return h2
	}

	t.Run("taken", func(t *testing.T) {
		pf := prefetchOf(t, h.file)
		h2 := restartWith(t, pf)
		if h2.d.st != daemonStore(pf.st) || !pf.taken {
			t.Fatal("New opened a store of its own")
		}
		pf.Close() // New's now: left open
		if code, _ := h2.do("POST", "/ping/"+id.Secret(), ""); code != 200 {
			t.Fatalf("a ping after the prefetch's Close: %d", code)
		}
		pings++
		if err := h2.stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another retention", func(t *testing.T) {
		pf := prefetchOf(t, h.file)
		pf.hint.Pings++
		h2 := restartWith(t, pf)
		if pf.st == nil || h2.d.st == daemonStore(pf.st) {
			t.Fatal("New took a store opened with another retention")
		}
		if _, err := pf.st.ListChecks(context.Background()); err == nil {
			t.Fatal("the unused prefetch's store is still open")
		}
		if err := h2.stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no store file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "watchdog.yaml")
		writeConfig(t, file, checks)
		pf := prefetchOf(t, file)
		h2, err := startFile(t, file, Options{Prefetch: pf})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(pf.err, sqlite.ErrNotCurrent) || pf.st != nil {
			t.Fatalf("prefetch of a missing file: %v", pf.err)
		}
		if code, _ := h2.do("POST", "/ping/"+h2.d.CheckID("a").Secret(), ""); code != 200 {
			t.Fatalf("a ping to the new store: %d", code)
		}
		pf.Close()
		if err := h2.stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unused", func(t *testing.T) {
		pf := prefetchOf(t, h.file)
		pf.Close()
		pf.Close()
		if pf.st == nil {
			t.Fatalf("nothing prefetched: %v", pf.err)
		}
		if _, err := pf.st.ListChecks(context.Background()); err == nil {
			t.Fatal("Close left the store open")
		}
		var nilPF *Prefetch
		nilPF.Close()
		if err := restartWith(t, nil).stop(); err != nil {
			t.Fatal(err)
		}
	})
}
