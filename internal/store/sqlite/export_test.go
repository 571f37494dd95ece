package sqlite

// SetFsyncHook makes the syncer call f before each fsync of the WAL.
// Call it right after Open, before any write.
func SetFsyncHook(s *Store, f func()) { s.fsyncHook = f }
