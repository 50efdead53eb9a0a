package store_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/storetest"
)

// crashDirEnv tells a re-executed test binary to be the crash test's
// child: commit batches into the store in that directory until killed.
// crashMemEnv, if set, is the child's MemTableSize.
const (
	crashDirEnv = "LEAD_STORE_CRASH_DIR"
	crashMemEnv = "LEAD_STORE_CRASH_MEMTABLE"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// crashChild runs storetest.CrashWriter on the store in dir.
func crashChild(dir string) {
	opts := store.Options{Logger: quiet()}
	opts.MemTableSize, _ = strconv.ParseInt(os.Getenv(crashMemEnv), 10, 64)
	s, err := store.Open(dir, opts)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	err = storetest.CrashWriter(s, os.Stdout)
	fmt.Println("commit:", err)
	os.Exit(2)
}

// TestCrash kills a committing child process with SIGKILL and checks that
// every batch it acknowledged is in the store, completely, and that no
// batch is half applied.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	rounds := []struct {
		after    time.Duration
		memtable int64
	}{
		{300 * time.Millisecond, 0},
		{1500 * time.Millisecond, 0},
		// 1 MiB memtables: killed while Badger rotates logs and flushes
		// tables.
		{1500 * time.Millisecond, 1 << 20},
	}
	if testing.Short() {
		rounds = rounds[:1]
	}
	for _, r := range rounds {
		t.Run(fmt.Sprintf("kill after %v memtable %d", r.after, r.memtable), func(t *testing.T) {
			dir := t.TempDir()
			acked := runCrashChild(t, dir, r.after, r.memtable)
			s, err := store.Open(dir, store.Options{Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			storetest.CheckCrashed(t, s, acked)
		})
	}
}

// runCrashChild runs the child on dir, kills it after the given time (once
// it has acknowledged something) and returns the last batch acknowledged
// by each writer.
func runCrashChild(t *testing.T, dir string, after time.Duration, memtable int64) []int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprint(crashMemEnv, "=", memtable))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make([]int, storetest.CrashWriters)
	total := 0
	deadline := time.Now().Add(after)
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var w, n int
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %d", &w, &n); err != nil {
			t.Errorf("child: %s", sc.Text())
			continue
		}
		if n != acked[w]+1 {
			t.Errorf("writer %d acknowledged batch %d after %d", w, n, acked[w])
		}
		acked[w] = n
		total++
		if !killed && time.Now().After(deadline) {
			// SIGKILL: no deferred Close, no flush; lines already written
			// to the pipe are still read below.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child exited on its own: %v", err)
	}
	t.Logf("child killed after %d acknowledged batches %v", total, acked)
	return acked
}
