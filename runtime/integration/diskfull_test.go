package integration

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/powercut/powercuttest"
)

// smallDisk mounts a tmpfs of size bytes (a file system that really fills
// up, and answers a write to a memory-mapped page it has no room for with
// SIGBUS, like ext4) and unmounts it when the test ends.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	var err error
	if os.Geteuid() != 0 {
		err = errors.New("mounting a file system needs root")
	} else if _, lerr := exec.LookPath("mount"); lerr != nil {
		err = lerr
	}
	powercuttest.Require(t, "the disk-full test", err)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		powercuttest.Require(t, "the disk-full test", fmt.Errorf("mount tmpfs: %v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fill takes the disk of dir down to leave bytes free, with a filler
// file, and returns its path.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	os.Remove(path)
	n := freeBytes(t, dir) - leave
	if n <= 0 {
		return path
	}
	if out, err := exec.Command("fallocate", "-l", fmt.Sprint(n), path).CombinedOutput(); err != nil {
		t.Fatalf("fallocate: %v: %s", err, out)
	}
	return path
}

// TestDiskFull: as the store's disk fills, writes are refused with 507
// before it is full (the server keeps 96 MiB free here), reads go on,
// /readyz says why it is not ready while /healthz stays 200, the process
// never dies of SIGBUS, and writes resume by themselves once space is
// freed. A restart on a disk too full to open on is refused with exit 2;
// on one below the watermark, the server starts, serves reads and waits
// for space.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	disk := smallDisk(t, 512<<20)
	data := filepath.Join(disk, "data")
	s := newServer(t, serverOpts{data: data, args: []string{"--min-free-space", "96MiB"}})
	s.capture("deals", "first", map[string]any{"email": "a@x.example"})

	// The server's own writes fill the disk: 160 MiB free to begin with,
	// then leads of 200 KiB that do not compress until a write is
	// refused.
	filler := fill(t, disk, 160<<20)
	refused := 0
	for i := 0; refused == 0 && i < 5000; i++ {
		big := make([]byte, 100<<10)
		rand.Read(big)
		r := s.must("POST", "/v1/workflows/deals/leads", map[string]any{"id": fmt.Sprint("big", i), "fields": map[string]any{"email": "a", "note": hex.EncodeToString(big)}})
		switch r.status {
		case http.StatusCreated:
		case http.StatusInsufficientStorage:
			refused = i
			checkError(t, r, http.StatusInsufficientStorage, "insufficient_storage")
			if r.header.Get("Retry-After") == "" {
				t.Errorf("507 without Retry-After")
			}
			if !strings.Contains(string(r.body), "free") {
				t.Errorf("507 does not say how much is free: %s", r.body)
			}
		default:
			t.Fatalf("capture %d: %s", i, r)
		}
	}
	if refused == 0 {
		t.Fatal("no write was refused")
	}
	t.Logf("refused after %d leads of 200 KiB, with %d MiB free", refused, freeBytes(t, disk)>>20)
	// Near the watermark, flushes and compactions free and take space; it
	// stays below it once another process takes some too.
	fill(t, disk, 48<<20)
	time.Sleep(200 * time.Millisecond)
	checkError(t, s.must("POST", "/v1/leads/first/events", map[string]any{"type": "accepted"}), http.StatusInsufficientStorage, "insufficient_storage")
	// Reads and liveness go on; readiness says why not.
	s.expect(http.StatusOK, "GET", "/v1/leads/first", nil)
	s.expect(http.StatusOK, "GET", "/v1/leads?limit=5", nil)
	s.expect(http.StatusOK, "GET", "/healthz", nil)
	if r := s.must("GET", "/readyz", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "free") {
		t.Errorf("/readyz while short of space: %s", r)
	}
	// Another process takes the disk nearly whole: still no crash.
	filler = fill(t, disk, 8<<20)
	time.Sleep(500 * time.Millisecond) // compactions and flushes run on
	checkError(t, s.must("POST", "/v1/leads/first/events", map[string]any{"type": "accepted"}), http.StatusInsufficientStorage, "insufficient_storage")
	s.expect(http.StatusOK, "GET", "/v1/leads/first", nil)

	// Space is freed: writes resume by themselves.
	os.Remove(filler)
	eventually(t, 10*time.Second, "writes to resume", func() bool {
		return s.must("POST", "/v1/leads/first/events", map[string]any{"type": "ping", "id": "after", "data": map[string]any{"n": 1}}).status == http.StatusOK
	})
	s.expect(http.StatusOK, "GET", "/readyz", nil)

	// A restart on a disk too full to open on: exit 2, nothing lost.
	if code := s.stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	filler = fill(t, disk, 16<<20)
	code, log := leadRun(t, nil, "--data", data, "--min-free-space", "96MiB")
	if code != 2 || !strings.Contains(log, "free some space") || strings.Contains(log, "SIGBUS") {
		t.Fatalf("start on a full disk: exit %d:\n%s", code, log)
	}
	// Below the watermark but room to open: it serves reads, not writes.
	os.Remove(filler)
	filler = fill(t, disk, 80<<20)
	s.restart()
	s.expect(http.StatusOK, "GET", "/v1/leads/first", nil)
	checkError(t, s.must("POST", "/v1/leads/first/events", map[string]any{"type": "accepted"}), http.StatusInsufficientStorage, "insufficient_storage")
	os.Remove(filler)
	eventually(t, 10*time.Second, "writes after the restart", func() bool {
		return s.must("POST", "/v1/leads/first/events", map[string]any{"type": "accepted", "id": "acc"}).status == http.StatusOK
	})
	if n := eventIDs(s, "first")["after"]; n != 1 {
		t.Errorf("the event acknowledged before the restart is in the history %d times", n)
	}
}
