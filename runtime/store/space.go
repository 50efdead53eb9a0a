package store

// Free space.
//
// Badger writes its log and its tables through memory-mapped files, and a
// write to a mapped page that the file system has no block for does not
// fail: the kernel kills the process with SIGBUS. So a full disk must
// never be reached. The store keeps a watermark of free space
// (Options.MinFreeSpace): below it, Health reports ErrNoSpace, the
// runtime refuses new steps before running them, and the writes already
// under way, Badger's memtable flushes and its compactions finish in the
// room the watermark keeps. Once space is freed, Health says so at its
// next look and writes resume by themselves.
//
// Looking costs a statfs call, about a microsecond; Health looks at most
// every spaceInterval, so that the runtime can ask before every step. At
// the runtime's full rate the store writes well under 100 MB/s (logs,
// tables and compactions together), a few MB per interval: far inside the
// watermark.
//
// What the watermark cannot do: keep another process from filling the
// file system in the instant between two looks. Give the store a file
// system of its own (docs/runtime.md).

import (
	"fmt"
	"sync"
	"time"
)

const spaceInterval = 100 * time.Millisecond

// space watches the free space of a directory's file system.
type space struct {
	dir string
	min int64

	mu     sync.Mutex
	last   time.Time // when free was read
	free   int64     // bytes available to the process; -1 if unknown
	err    error     // the last reading's verdict
	statfs func(dir string) (int64, error)
}

func newSpace(dir string, min int64) *space {
	return &space{dir: dir, min: min, statfs: freeSpace}
}

// check returns nil while the free space is at least the watermark, else
// an error wrapping ErrNoSpace; it reads the free space at most every
// spaceInterval. A file system whose free space cannot be read is taken
// to have room: the check is a guard, not a gate that could stop a
// healthy store.
func (s *space) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.last) < spaceInterval {
		return s.err
	}
	s.last = now
	free, err := s.statfs(s.dir)
	switch {
	case err != nil:
		s.free, s.err = -1, nil
	case free < s.min:
		s.free = free
		s.err = fmt.Errorf("%w: the file system of %s has %s free, under the %s the store keeps free (Badger would crash on a full disk); writes resume by themselves once space is freed", ErrNoSpace, s.dir, bytesText(free), bytesText(s.min))
	default:
		s.free, s.err = free, nil
	}
	return s.err
}

// canOpen refuses a file system with less than need bytes free: opening
// replays Badger's logs and flushes them into tables, through memory maps.
func (s *space) canOpen(need int64) error {
	free, err := s.statfs(s.dir)
	if err != nil || free >= need {
		return nil
	}
	return fmt.Errorf("%w: the file system of %s has %s free; opening the store needs at least %s (Badger replays and flushes its logs through memory-mapped files, and a full disk would crash it): free some space and start again", ErrNoSpace, s.dir, bytesText(free), bytesText(need))
}

// bytesText writes n bytes for people: 512 MiB, 1.5 GiB, 300 KiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + [...]string{"", "KiB", "MiB", "GiB", "TiB"}[i]
}
