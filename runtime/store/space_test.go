package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSpaceWatermark drives the watermark with a fake file system:
// Health refuses below MinFreeSpace with a message that says how much is
// free and needed, recovers by itself once space is freed, and reads the
// free space at most every spaceInterval.
func TestSpaceWatermark(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{MinFreeSpace: 512 << 20})
	free := int64(600 << 20)
	calls := 0
	s.space.statfs = func(string) (int64, error) { calls++; return free, nil }
	s.space.last = time.Time{}
	if err := s.Health(); err != nil {
		t.Fatalf("Health with 600 MiB free: %v", err)
	}
	free = 300 << 20
	if err := s.Health(); err != nil {
		t.Fatalf("Health within the interval read the disk again: %v", err)
	}
	s.space.last = time.Time{}
	err := s.Health()
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Health with 300 MiB free: %v, want ErrNoSpace", err)
	}
	for _, w := range []string{"300 MiB free", "512 MiB", "resume"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v\nwant it to say %q", err, w)
		}
	}
	// Reads go on.
	if _, err := s.Versions(ctx); err != nil {
		t.Errorf("Versions while short of space: %v", err)
	}
	free = 2 << 30
	s.space.last = time.Time{}
	if err := s.Health(); err != nil {
		t.Errorf("Health once space is freed: %v", err)
	}
	if calls != 3 {
		t.Errorf("%d reads of the free space, want 3", calls)
	}
	// An unreadable file system is taken to have room.
	s.space.statfs = func(string) (int64, error) { return 0, errors.New("no statfs") }
	s.space.last = time.Time{}
	if err := s.Health(); err != nil {
		t.Errorf("Health when statfs fails: %v", err)
	}
}

func TestOpenRefusesFullDisk(t *testing.T) {
	sp := newSpace(t.TempDir(), 512<<20)
	sp.statfs = func(string) (int64, error) { return 10 << 20, nil }
	err := sp.canOpen(64 << 20)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "10 MiB free") || !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("canOpen with 10 MiB free: %v", err)
	}
	sp.statfs = func(string) (int64, error) { return 100 << 20, nil }
	if err := sp.canOpen(64 << 20); err != nil {
		t.Errorf("canOpen with 100 MiB free: %v", err)
	}
}

func TestBytesText(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		512 << 20: "512 MiB", 3 << 30: "3 GiB", 1<<40 + 1<<39: "1.5 TiB",
	} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
}
