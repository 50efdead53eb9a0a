package postgres_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/store/storetest"
)

// crashSchemaEnv tells a re-executed test binary to be the crash test's
// child: commit batches into that schema until killed.
const crashSchemaEnv = "LEAD_PG_CRASH_SCHEMA"

// TestCrash kills a process committing to PostgreSQL with SIGKILL, its
// transactions in flight, and checks that every batch it acknowledged is
// there, completely, and none half applied.
func TestCrash(t *testing.T) {
	url := testURL(t)
	if schema := os.Getenv(crashSchemaEnv); schema != "" {
		s := open(t, url, schema)
		err := storetest.CrashWriter(s, os.Stdout)
		fmt.Println("commit:", err)
		os.Exit(2)
	}
	schema := newSchema(t, url)
	open(t, url, schema).Close() // migrated before the child starts
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashSchemaEnv+"="+schema)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make([]int, storetest.CrashWriters)
	deadline := time.Now().Add(time.Second)
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var w, n int
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %d", &w, &n); err != nil {
			t.Errorf("child: %s", sc.Text())
			continue
		}
		acked[w] = n
		if !killed && time.Now().After(deadline) {
			cmd.Process.Kill()
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("the child exited on its own")
	}
	t.Logf("killed after batches %v", acked)
	s := open(t, url, schema)
	defer s.Close()
	storetest.CheckCrashed(t, s, acked)
}
