package main

import (
	"fmt"
	"os"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/report"
	"github.com/leadlang/lead/lang"
)

func init() {
	register(&command{name: "check", summary: "parse, type-check and lint .lead files", run: runCheck})
}

const checkDoc = `
Check parses, type-checks and lints workflows. PATHs are files or
directories; directories are searched for *.lead files, skipping hidden and
testdata directories.

A file that starts with 'workflow NAME' is compiled together with its
NAME_test.lead and the standard it conforms to. A NAME_test.lead is checked
with its workflow, which must be in the same directory. A file holding only
'standard' declarations is checked for syntax here, and in full wherever a
workflow conforms to it.

Diagnostics of all files are printed together, sorted by file and position.
The text format goes to stderr, followed by a count ("2 errors, 1 warning");
nothing is printed when there is nothing to report. The json, github (GitHub
Actions annotations) and sarif (SARIF 2.1.0) formats go to stdout.

Exit status: 0 clean; 1 errors found (or warnings, with --deny-warnings);
2 usage or I/O error. Standards are looked up beside the workflow, then in
the --standards directories, then in $LEAD_STANDARDS_PATH (colon-separated).`

func runCheck(env *cmdEnv, args []string) int {
	fl := newFlags(env, "check", "[--format text|json|github|sarif] [--deny-warnings] [--standards DIR]... PATH...", checkDoc)
	format := fl.String("format", "text", "output `FORMAT`: text, json, github or sarif")
	deny := fl.Bool("deny-warnings", false, "fail (exit 1) on warnings too")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	paths, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if code, ok := fl.oneOf("format", *format, report.Formats); !ok {
		return code
	}
	if len(paths) == 0 {
		return fl.usageError("no PATH given")
	}

	status := exitOK
	files, errs := leadFiles(paths)
	for _, err := range errs {
		status = ioError(env, "check", err)
	}
	for _, p := range emptyDirs(paths) {
		status = ioError(env, "check", fmt.Errorf("%s: no .lead files here (directories are searched for *.lead files, skipping hidden and testdata directories)", p))
	}
	ws := compiler.NewWorkspace(compiler.Options{StandardsPath: standardsPath(env, standards)})
	ds, errs := ws.Check(files)
	for _, err := range errs {
		status = ioError(env, "check", err)
	}
	failed := ds.HasErrors() || (*deny && hasWarnings(ds))
	ds = capPerFile(ds, maxPerFile)

	if *format == "text" {
		if err := report.Text(env.stderr, ds); err != nil {
			return ioError(env, "check", err)
		}
		if s := report.Summary(ds); s != "" {
			fmt.Fprintln(env.stderr, s)
		}
	} else if err := report.Write(env.stdout, *format, ds, report.Options{ToolVersion: leadVersion()}); err != nil {
		return ioError(env, "check", err)
	}
	switch {
	case status != exitOK:
		return status
	case failed:
		return exitFail
	}
	return exitOK
}

// maxPerFile is how many diagnostics lead check shows for one file: a file
// pasted in the wrong format can make thousands, and the first ones say
// what is wrong.
const maxPerFile = 200

// capPerFile keeps the first max diagnostics of each file of the sorted
// ds, and says at the end of each file cut how many more it had.
func capPerFile(ds lang.Diagnostics, max int) lang.Diagnostics {
	out := lang.Diagnostics{}
	for i := 0; i < len(ds); {
		j := i
		for j < len(ds) && ds[j].File.Name == ds[i].File.Name {
			j++
		}
		if j-i <= max {
			out = append(out, ds[i:j]...)
		} else {
			last := ds[i+max-1]
			out = append(out, ds[i:i+max]...)
			out = append(out, &lang.Diagnostic{Severity: lang.Note, File: last.File, Subject: last.Subject,
				Summary: fmt.Sprintf("and %d more diagnostics in this file (lead check shows the first %d of each file)", j-i-max, max)})
		}
		i = j
	}
	return out
}

// emptyDirs returns the directory paths in which no .lead file is found.
func emptyDirs(paths []string) []string {
	var out []string
	for _, p := range paths {
		if info, err := os.Stat(p); err != nil || !info.IsDir() {
			continue
		}
		if files, _ := leadFiles([]string{p}); len(files) == 0 {
			out = append(out, p)
		}
	}
	return out
}

// hasWarnings reports whether any diagnostic is a warning (notes never fail).
func hasWarnings(ds lang.Diagnostics) bool {
	for _, d := range ds {
		if d.Severity == lang.Warning {
			return true
		}
	}
	return false
}
