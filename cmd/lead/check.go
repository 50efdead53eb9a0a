package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	ws := &workspace{opts: compiler.Options{StandardsPath: standardsPath(env, standards)}, parsed: map[string]*parsed{}}
	ds, errs := ws.check(files)
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

// parsed is a parsed source file.
type parsed struct {
	file   *lang.File
	syntax lang.Diagnostics
}

// header returns the file's `workflow NAME` when that is its first
// declaration.
func (p *parsed) header() (*lang.Workflow, bool) {
	if len(p.file.Decls) == 0 {
		return nil, false
	}
	w, ok := p.file.Decls[0].(*lang.Workflow)
	return w, ok
}

// onlyStandards reports whether the file declares standards and nothing else.
func (p *parsed) onlyStandards() bool {
	for _, d := range p.file.Decls {
		if _, ok := d.(*lang.Standard); !ok {
			return false
		}
	}
	return len(p.file.Decls) > 0
}

// workspace checks a set of files: it sorts them into workflows, test files
// and standard files, and compiles each workflow once.
type workspace struct {
	opts   compiler.Options
	parsed map[string]*parsed
	diags  lang.Diagnostics
	// results are the compiled workflows, in the order they were found.
	results []*compiler.Result
}

func (ws *workspace) parse(path string) (*parsed, error) {
	if p, ok := ws.parsed[path]; ok {
		return p, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, syntax := lang.Parse(path, string(src))
	p := &parsed{f, syntax}
	ws.parsed[path] = p
	return p, nil
}

// check returns the diagnostics of files, sorted and de-duplicated, and
// the files that could not be read.
func (ws *workspace) check(files []string) (lang.Diagnostics, []error) {
	var errs []error
	var workflows []string
	queued := map[string]bool{}
	queue := func(path string) {
		if !queued[path] {
			queued[path] = true
			workflows = append(workflows, path)
		}
	}
	for _, path := range files {
		p, err := ws.parse(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case strings.HasSuffix(path, "_test.lead"):
			if wf := ws.testedWorkflow(path, p); wf != "" {
				queue(wf)
			}
		case p.onlyStandards():
			ws.diags = append(ws.diags, p.syntax...)
		default:
			// Workflows, and files that are neither: the compiler explains
			// what a workflow file must start with.
			queue(path)
		}
	}
	declared := map[string]lang.Related{} // workflow name → its first header
	for _, path := range workflows {
		p := ws.parsed[path]
		if h, ok := p.header(); ok && h.Name != nil && h.Name.Name != "" {
			if first, twice := declared[h.Name.Name]; twice {
				d := ws.errorf(p.file, h.Name.Span(), "workflow %s is declared in two files; lead run serves one workflow per name", h.Name.Name)
				d.Code = compiler.CodeWorkflowTwice
				d.Related = append(d.Related, first)
				d.Help = append(d.Help, "rename one of the workflows, or remove one file")
			} else {
				declared[h.Name.Name] = lang.Related{File: p.file, Span: h.Name.Span(), Message: "first declared here"}
			}
		}
		r := compiler.Compile(p.file, p.syntax, ws.opts)
		ws.results = append(ws.results, r)
		ws.diags = append(ws.diags, r.Diags...)
	}
	return dedupe(ws.diags), errs
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

// testedWorkflow finds the workflow a NAME_test.lead file tests, in the
// same directory, reporting a test file that no workflow would load.
func (ws *workspace) testedWorkflow(path string, p *parsed) string {
	ws.diags = append(ws.diags, p.syntax...)
	if p.syntax.HasErrors() {
		return ""
	}
	h, ok := p.header()
	if !ok {
		span := lang.Span{}
		if len(p.file.Decls) > 0 {
			span = p.file.Decls[0].Span()
		}
		ws.errorf(p.file, span, "a test file must start with `workflow NAME`, naming the workflow it tests")
		return ""
	}
	name := h.Name.Name
	dir := filepath.Dir(path)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".lead") || strings.HasSuffix(e.Name(), "_test.lead") {
			continue
		}
		cand := filepath.Join(dir, e.Name())
		cp, err := ws.parse(cand)
		if err != nil {
			continue
		}
		if ch, ok := cp.header(); !ok || ch.Name.Name != name {
			continue
		}
		if want := name + "_test.lead"; filepath.Base(path) != want {
			d := ws.errorf(p.file, h.Name.Span(), "the tests of workflow %s are read from %s, not from this file", name, want)
			d.Help = append(d.Help, fmt.Sprintf("rename %s to %s", filepath.Base(path), want))
			return ""
		}
		return cand
	}
	d := ws.errorf(p.file, h.Name.Span(), "no workflow %s in %s for this test file", name, dir)
	d.Help = append(d.Help, "a test file sits beside its workflow's file and is named NAME_test.lead after the workflow's name")
	return ""
}

func (ws *workspace) errorf(f *lang.File, span lang.Span, format string, args ...any) *lang.Diagnostic {
	d := &lang.Diagnostic{Severity: lang.Error, Code: compiler.CodeHeader, File: f, Subject: span, Summary: fmt.Sprintf(format, args...)}
	ws.diags = append(ws.diags, d)
	return d
}

// dedupe sorts diagnostics and drops repeats: a standard or test file
// reached from several workflows is reported once.
func dedupe(ds lang.Diagnostics) lang.Diagnostics {
	ds.Sort()
	seen := map[string]bool{}
	out := lang.Diagnostics{}
	for _, d := range ds {
		k := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s", d.File.Name, d.Subject.Start, d.Subject.End, d.Code, d.Summary)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
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
