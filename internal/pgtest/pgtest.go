// Package pgtest gives tests a PostgreSQL database to run on: the one
// LEAD_TEST_POSTGRES names, or else a throwaway server that .ci/postgres
// starts for the test binary (the machine's initdb, as an unprivileged
// user, on a Unix socket in a temporary directory) and Main stops. Where
// there is no PostgreSQL to start, the tests skip, unless
// LEAD_POSTGRES_TESTS=require (as .ci/run sets it), which fails them.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the database the tests use; unset, they start their own.
const Env = "LEAD_TEST_POSTGRES"

// noServer is .ci/postgres's exit status when the machine has no initdb.
const noServer = 3

var (
	once   sync.Once
	url    string
	dir    string // the server this process started, "" for none
	noDB   error  // why there is no database
	broken bool   // a server should have started and did not: fail, not skip
)

// Main runs a package's tests and stops the server that they started, if
// any: call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		if out, err := exec.Command(script(), "stop", dir).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop the server in %s: %v\n%s", dir, err, out)
		}
		os.RemoveAll(dir)
	}
	return code
}

// URL returns the database's URL, starting a server the first time when
// LEAD_TEST_POSTGRES is not set; it skips t (or fails it, under
// LEAD_POSTGRES_TESTS=require) when there is no PostgreSQL.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(start)
	switch {
	case url != "":
	case broken:
		t.Fatalf("no PostgreSQL to test on: %v", noDB)
	case os.Getenv("LEAD_POSTGRES_TESTS") == "require":
		t.Fatalf("no PostgreSQL to test on (%v), and LEAD_POSTGRES_TESTS=require", noDB)
	default:
		t.Skipf("no PostgreSQL to test on: %v (set LEAD_POSTGRES_TESTS=require to fail instead)", noDB)
	}
	return url
}

func start() {
	if url = os.Getenv(Env); url != "" {
		return
	}
	// A short path: the server's Unix socket lives in it, and socket
	// paths are limited to about a hundred bytes.
	d, err := os.MkdirTemp("", "leadpg")
	if err != nil {
		noDB, broken = err, true
		return
	}
	cmd := exec.Command(script(), "start", d)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == noServer:
		noDB = fmt.Errorf("%s", strings.TrimSpace(stderr.String()))
		os.RemoveAll(d)
		return
	case err != nil:
		exec.Command(script(), "stop", d).Run()
		os.RemoveAll(d)
		noDB, broken = fmt.Errorf(".ci/postgres start: %v\n%s", err, stderr.String()), true
		return
	}
	dir = d
	url = strings.TrimSpace(string(out))
	// Child processes (re-executed test binaries, lead run) use it too.
	os.Setenv(Env, url)
}

// script is .ci/postgres, found from the working directory up (go test
// runs a package's tests in its directory).
func script() string {
	d, err := os.Getwd()
	if err != nil {
		return ".ci/postgres"
	}
	for {
		p := filepath.Join(d, ".ci", "postgres")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ".ci/postgres"
		}
		d = parent
	}
}

// Schema returns a fresh schema name for a test's store, dropped with
// everything in it when the test ends.
func Schema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Logf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// WithSchema returns url with the schema parameter that Lead's store
// reads (postgres.Open, lead run --store).
func WithSchema(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "schema=" + schema
}
