package postgres_test

import (
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
	acked := storetest.KillCrashWriter(t, cmd, time.Second)
	s := open(t, url, schema)
	defer s.Close()
	storetest.CheckCrashed(t, s, acked)
}
