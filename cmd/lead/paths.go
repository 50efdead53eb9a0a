package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/leadlang/lead/compiler"
)

// leadFiles expands PATH arguments into .lead files as every command
// does (compiler.FindFiles).
func leadFiles(paths []string) ([]string, []error) { return compiler.FindFiles(paths) }

// standardsPath is where `conforms NAME` looks after the workflow's own
// directory: the --standards directories, then $LEAD_STANDARDS_PATH.
func standardsPath(env *cmdEnv, flagged stringList) []string {
	return append(append([]string{}, flagged...), splitPathList(env.getenv("LEAD_STANDARDS_PATH"))...)
}

// splitPathList splits a colon-separated (on Windows, semicolon-separated)
// list, dropping empty entries.
func splitPathList(s string) []string {
	var out []string
	for _, p := range filepath.SplitList(s) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ioError prints an I/O error of a command, as `lead CMD: PATH: reason`,
// and returns the usage/I-O exit code.
func ioError(env *cmdEnv, cmd string, err error) int {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	fmt.Fprintf(env.stderr, "lead %s: %v\n", cmd, err)
	return exitUsage
}

// existingStore checks that dir holds a Lead store, so that a command
// meant for one (reindex, backup --data) does not create an empty store
// where a path was mistyped.
func existingStore(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		if _, derr := os.Stat(dir); derr != nil {
			return fmt.Errorf("no store at %s: %w", dir, derr)
		}
		return fmt.Errorf("%s holds no Lead store (no MANIFEST)", dir)
	}
	return nil
}
