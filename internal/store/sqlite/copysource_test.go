package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// holdEnv makes the test binary a child that opens the store file it names,
// says "open" and holds it until its stdin closes: a running watchdog.
const holdEnv = "VITALS_SQLITE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("open\n")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes it
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newFile makes a store file with one check and closes it.
func newFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := model.Check{ID: model.NewCheckID(), Name: "a", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
	if err := s.CreateCheck(context.Background(), c, model.NewState(c.ID, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportRefusesAFileInUse: while another process has the file open
// (a watchdog), OpenExport and InUse refuse it; once that process is gone,
// the file opens. The refusal comes from SQLite's own locks, read with
// F_GETLK.
func TestExportRefusesAFileInUse(t *testing.T) {
	path := newFile(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "open\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	_, err = sqlite.OpenExport(path)
	if !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("OpenExport while another process has the file open: %v, want ErrInUse", err)
	}
	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	e, err := sqlite.OpenExport(path)
	if err != nil {
		t.Fatalf("OpenExport once the other process is gone: %v", err)
	}
	defer e.Close()
	if err := e.InUse(); err != nil {
		t.Errorf("InUse with only this process's connection: %v", err)
	}
	steps, err := e.Steps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 || steps[0].Name != "checks" || steps[0].Total != 1 {
		t.Errorf("steps %+v, want checks first, with its one row", steps)
	}
}

// TestExportRefusesANewerSchema: a file a newer vitals migrated is refused
// with the versions, unchanged; a missing file is refused, not created.
func TestExportRefusesANewerSchema(t *testing.T) {
	path := newFile(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations(version, applied_at, description) VALUES(99, '', 'future')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.OpenExport(path)
	var tooNew *store.SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Have != 99 {
		t.Fatalf("OpenExport of a version 99 file: %v, want SchemaTooNewError", err)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if _, err := sqlite.OpenExport(missing); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("OpenExport of a missing file: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("OpenExport created the missing file")
	}
}

// TestExportCursorResumes: reading a step in batches by its cursor yields
// every row once, in key order.
func TestExportCursorResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vitals.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 7 {
		c := model.Check{ID: model.NewCheckID(), Name: "a", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour}}.WithDefaults()
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	e, err := sqlite.OpenExport(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seen := map[[16]byte]bool{}
	var last [16]byte
	after := ""
	for range 10 {
		rows, next, err := e.Read(ctx, "checks", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			id := r[0].([16]byte)
			if seen[id] || string(id[:]) < string(last[:]) {
				t.Fatalf("row out of order or twice")
			}
			seen[id], last = true, id
		}
		after = next
		if len(rows) < 3 {
			break
		}
	}
	if len(seen) != 7 {
		t.Errorf("read %d checks, want 7", len(seen))
	}
	if _, _, err := e.Read(ctx, "checks", `["not", "a key"]`, 3); err == nil {
		t.Error("a cursor of the wrong shape was accepted")
	}
}
