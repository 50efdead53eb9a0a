// Package powercuttest runs the power-loss harness (internal/powercut)
// from Go tests: it checks that the machine can run it, builds it once,
// runs a child and a verify command through it and fails the test if any
// acknowledged write was lost.
//
// The harness needs root, /dev/fuse, loop devices and mkfs.ext4. Where
// they are missing, Run skips the test, unless LEAD_ROOT_TESTS=require
// (CI sets it), where it fails: a power-loss test that quietly stops
// running protects nothing. Require does the same for other tests that
// need root (a small file system to fill, say).
package powercuttest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config is one run of the harness.
type Config struct {
	// Child and Verify are shell commands; see internal/powercut for the
	// protocol and the environment they get.
	Child, Verify string
	// Rounds of power cuts, each on a fresh file system (default 3).
	Rounds int
	// TwoPhase runs the child again on the first crash image and cuts the
	// power again, so that recovery itself is cut.
	TwoPhase bool
	// Min and Max bound how long the child runs after its first ack
	// before the power fails (defaults 1 s and 4 s).
	Min, Max time.Duration
	// Seed repeats a run (0: a new one, logged).
	Seed uint64
}

// Available reports why the harness cannot run here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("needs /dev/fuse: %v", err)
	}
	for _, cmd := range []string{"losetup", "mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("needs %s: %v", cmd, err)
		}
	}
	return nil
}

// Require skips t when err says that what it needs is missing here, or
// fails it if LEAD_ROOT_TESTS=require.
func Require(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("LEAD_ROOT_TESTS") == "require" {
		t.Fatalf("%s cannot run here (%v), and LEAD_ROOT_TESTS=require", what, err)
	}
	t.Skipf("%s: %v (set LEAD_ROOT_TESTS=require to fail instead)", what, err)
}

var (
	buildOnce sync.Once
	harness   string
	buildErr  error
)

// build compiles the harness once per test binary, without the race
// detector: it serves a block device, and its speed sets how much load
// the child gets through.
func build() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "powercut-bin-")
		if err != nil {
			buildErr = err
			return
		}
		harness = filepath.Join(dir, "powercut")
		out, err := exec.Command("go", "build", "-o", harness, "github.com/leadlang/lead/internal/powercut").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build the power-loss harness: %v\n%s", err, out)
		}
	})
	return harness, buildErr
}

// Run runs the harness with c and fails t if it lost acknowledged data,
// could not run, or the child never reached the power cut.
func Run(t *testing.T, c Config) {
	t.Helper()
	Require(t, "the power-loss harness", Available())
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.Min <= 0 {
		c.Min = time.Second
	}
	if c.Max < c.Min {
		c.Max = max(c.Min, 4*time.Second)
	}
	args := []string{
		"-work", t.TempDir(), "-child", c.Child, "-verify", c.Verify,
		"-rounds", fmt.Sprint(c.Rounds), "-min", c.Min.String(), "-max", c.Max.String(),
	}
	if c.TwoPhase {
		args = append(args, "-twophase")
	}
	if c.Seed != 0 {
		args = append(args, "-seed", fmt.Sprint(c.Seed))
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var last string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		if strings.HasPrefix(line, "powercut: ") {
			last = line
		}
	}
	err = cmd.Wait()
	want := fmt.Sprintf("powercut: %d rounds, 0 lost acknowledged data", c.Rounds)
	if err != nil || last != want {
		t.Fatalf("power-loss harness: %v; last line %q, want %q", err, last, want)
	}
}
