package postgres

import "testing"

// StreamKey is the advisory lock key a commit takes before it numbers
// anything (stream.go), for tests that act as another writer.
func StreamKey(t testing.TB, s *Store) int64 { return s.streamKey }
