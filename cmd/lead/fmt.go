package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/leadlang/lead/compiler/report"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/lang/format"
)

func init() {
	register(&command{name: "fmt", summary: "format .lead files canonically", run: runFmt})
}

const fmtDoc = `
Fmt prints .lead files in the canonical layout. PATHs are files or
directories (searched for *.lead files, skipping hidden and testdata
directories). Without PATH it formats standard input to standard output.

Without -w or --check the formatted files are printed to stdout. A file with
syntax errors is never rewritten: its diagnostics go to stderr and fmt exits
with status 1. Exit status 2 means a usage or I/O error.`

func runFmt(env *cmdEnv, args []string) int {
	fl := newFlags(env, "fmt", "[-w | --check] [PATH...]", fmtDoc)
	write := fl.Bool("w", false, "rewrite the files in place (atomically, keeping their mode)")
	check := fl.Bool("check", false, "list the files whose formatting differs, one per line; exit 1 if any")
	paths, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if *write && *check {
		return fl.usageError("-w and --check exclude each other")
	}
	if len(paths) == 0 {
		if *write {
			return fl.usageError("cannot use -w with standard input")
		}
		src, err := io.ReadAll(env.stdin)
		if err != nil {
			return ioError(env, "fmt", err)
		}
		out, ok := formatSource(env, "<stdin>", src)
		switch {
		case !ok:
			return exitFail
		case *check:
			if !bytes.Equal(out, src) {
				fmt.Fprintln(env.stdout, "<stdin>")
				return exitFail
			}
		default:
			if _, err := env.stdout.Write(out); err != nil {
				return ioError(env, "fmt", err)
			}
		}
		return exitOK
	}

	status := exitOK
	fail := func() {
		if status == exitOK {
			status = exitFail
		}
	}
	files, errs := leadFiles(paths)
	for _, err := range errs {
		status = ioError(env, "fmt", err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			status = ioError(env, "fmt", err)
			continue
		}
		out, ok := formatSource(env, path, src)
		if !ok {
			fail()
			continue
		}
		switch {
		case *check:
			if !bytes.Equal(out, src) {
				fmt.Fprintln(env.stdout, path)
				fail()
			}
		case *write:
			if bytes.Equal(out, src) {
				continue
			}
			if err := writeFileAtomic(path, out); err != nil {
				status = ioError(env, "fmt", err)
			}
		default:
			if _, err := env.stdout.Write(out); err != nil {
				return ioError(env, "fmt", err)
			}
		}
	}
	return status
}

// formatSource formats one source; on syntax errors it prints them to
// stderr and returns false.
func formatSource(env *cmdEnv, name string, src []byte) ([]byte, bool) {
	f, diags := lang.Parse(name, string(src))
	if diags.HasErrors() {
		report.Text(env.stderr, diags)
		return nil, false
	}
	return format.Source(f), true
}

// writeFileAtomic replaces path's contents with data: it writes a temporary
// file beside it with the same permissions and renames it over the
// original, so a crash leaves either the old file or the new one. A
// symbolic link is followed, and its target rewritten.
func writeFileAtomic(path string, data []byte) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
