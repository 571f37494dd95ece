package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/vitals-go/vitals/internal/store"
)

// ImportSilencesFile moves the silences of path, the silences.json that
// versions before the store kept them wrote next to the SQLite file, into
// st, once: each silence that has not ended at now is added with its id
// (one already there is skipped, so an import interrupted before the
// rename is simply run again), then the file is renamed path+".imported"
// (or ".imported.N" if that exists: nothing is deleted) and a line is
// logged. A missing file imports nothing. A file that does not parse is an
// error naming it, and stays where it is.
func ImportSilencesFile(ctx context.Context, path string, st store.SilenceStore, now time.Time, log *slog.Logger) (imported int, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("silences: %w", err)
	}
	var list []Silence
	if err := json.Unmarshal(b, &list); err != nil {
		return 0, fmt.Errorf("silences: %s: %w", path, err)
	}
	ended, present := 0, 0
	for _, sl := range list {
		if !sl.End.After(now) {
			ended++
			continue
		}
		switch err := st.AddSilence(ctx, sl); {
		case errors.Is(err, store.ErrExists):
			present++
		case err != nil:
			return imported, fmt.Errorf("silences: importing %s: %w", path, err)
		default:
			imported++
		}
	}
	dst := path + ".imported"
	for i := 1; ; i++ { // bounded: at most 100 names tried
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		if i == 100 {
			return imported, fmt.Errorf("silences: %s is imported, but %s.imported … .99 all exist: move them away", path, path)
		}
		dst = path + ".imported." + strconv.Itoa(i)
	}
	if err := os.Rename(path, dst); err != nil {
		return imported, fmt.Errorf("silences: imported %s, but renaming it: %w", path, err)
	}
	log.Info("silences: imported the silences file into the store; the file is kept, renamed",
		"file", path, "renamed_to", dst, "imported", imported, "already_in_store", present, "ended_skipped", ended)
	return imported, nil
}
