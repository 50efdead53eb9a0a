// Package leadbin builds the lead binary for tests that run it as users
// do: the integration and browser tests.
package leadbin

import (
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles cmd/lead into dir and returns the binary's path. With
// race, the binary runs with the race detector too, so that a data race
// under real load fails the test that caused it. The go command's output
// goes to stderr.
func Build(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "lead")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/leadlang/lead/cmd/lead")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return bin, cmd.Run()
}
