package store_test

import (
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

// runCrashChild runs the child on dir and kills it after the given time
// (once it has acknowledged something); it returns the last batch
// acknowledged by each writer.
func runCrashChild(t *testing.T, dir string, after time.Duration, memtable int64) []int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprint(crashMemEnv, "=", memtable))
	return storetest.KillCrashWriter(t, cmd, after)
}
