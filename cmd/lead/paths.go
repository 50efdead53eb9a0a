package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// leadFiles expands PATH arguments into files: a file is taken as given,
// whatever its name; a directory is walked for *.lead files in lexical
// order, skipping hidden directories (.git, .lead-data) and testdata
// directories, which hold deliberately broken inputs as in Go. Each file
// appears once. Paths that cannot be read are returned as errors; the
// others are still expanded.
func leadFiles(paths []string) (files []string, errs []error) {
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, root := range paths {
		root = filepath.Clean(root)
		info, err := os.Stat(root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.IsDir() {
			add(root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".lead") && d.Type().IsRegular() {
				add(p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return files, errs
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "testdata"
}

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
