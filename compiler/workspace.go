package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/leadlang/lead/lang"
)

// A Workspace is a set of .lead files sorted into workflows, their test
// files (NAME_test.lead beside the workflow NAME) and standard files, with
// each workflow compiled once: the model `lead check`, `lead test` and
// `lead run` share.
type Workspace struct {
	opts   Options
	parsed map[string]*parsed
	diags  lang.Diagnostics
	// Results are the compiled workflows, in the order they were found.
	Results []*Result
}

// NewWorkspace returns an empty workspace compiling with opts.
func NewWorkspace(opts Options) *Workspace {
	return &Workspace{opts: opts, parsed: map[string]*parsed{}}
}

// parsed is a parsed source file.
type parsed struct {
	file   *lang.File
	syntax lang.Diagnostics
}

// header returns the file's `workflow NAME` when that is its first
// declaration.
func (p *parsed) header() (*lang.Workflow, bool) { return header(p.file) }

func header(f *lang.File) (*lang.Workflow, bool) {
	if len(f.Decls) == 0 {
		return nil, false
	}
	w, ok := f.Decls[0].(*lang.Workflow)
	return w, ok && w.Name != nil && w.Name.Name != ""
}

// FileKind is what a .lead file is to a workspace.
type FileKind int

// The kinds of files.
const (
	KindWorkflow  FileKind = iota // a workflow, or a file that is nothing else
	KindTest                      // NAME_test.lead: the tests of the workflow NAME beside it
	KindStandards                 // only standard declarations
)

// Classify says what a parsed file is.
func Classify(path string, f *lang.File) FileKind {
	if IsTestFile(path) {
		return KindTest
	}
	for _, d := range f.Decls {
		if _, ok := d.(*lang.Standard); !ok {
			return KindWorkflow
		}
	}
	if len(f.Decls) == 0 {
		return KindWorkflow
	}
	return KindStandards
}

// DeclaredWorkflow is the NAME of a file's leading `workflow NAME`, or "".
func DeclaredWorkflow(f *lang.File) string {
	if h, ok := header(f); ok {
		return h.Name.Name
	}
	return ""
}

func (ws *Workspace) parse(path string) (*parsed, error) {
	if p, ok := ws.parsed[path]; ok {
		return p, nil
	}
	src, err := ws.opts.read(path)
	if err != nil {
		return nil, err
	}
	f, syntax := lang.Parse(path, string(src))
	p := &parsed{f, syntax}
	ws.parsed[path] = p
	return p, nil
}

// Check compiles the workflows among files (a test file brings in its
// workflow) and returns every diagnostic, sorted and de-duplicated, and
// the files that could not be read.
func (ws *Workspace) Check(files []string) (lang.Diagnostics, []error) {
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
		switch Classify(path, p.file) {
		case KindTest:
			if wf := ws.testedWorkflow(path, p); wf != "" {
				queue(wf)
			}
		case KindStandards:
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
		if h, ok := p.header(); ok {
			if first, twice := declared[h.Name.Name]; twice {
				d := ws.errorf(p.file, h.Name.Span(), "workflow %s is declared in two files; lead run serves one workflow per name", h.Name.Name)
				d.Code = CodeWorkflowTwice
				d.Related = append(d.Related, first)
				d.Help = append(d.Help, "rename one of the workflows, or remove one file")
			} else {
				declared[h.Name.Name] = lang.Related{File: p.file, Span: h.Name.Span(), Message: "first declared here"}
			}
		}
		r := Compile(p.file, p.syntax, ws.opts)
		ws.Results = append(ws.Results, r)
		ws.diags = append(ws.diags, r.Diags...)
	}
	// A standard or test file reached from several workflows is
	// reported once.
	ds := append(lang.Diagnostics{}, ws.diags...)
	ds.Sort()
	return dedupe(ds), errs
}

// IsTestFile reports whether path names a test file (NAME_test.lead).
func IsTestFile(path string) bool { return strings.HasSuffix(path, "_test.lead") }

// testedWorkflow finds the workflow a NAME_test.lead file tests, in the
// same directory, reporting a test file that no workflow would load.
func (ws *Workspace) testedWorkflow(path string, p *parsed) string {
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
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".lead") || IsTestFile(e.Name()) {
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

func (ws *Workspace) errorf(f *lang.File, span lang.Span, format string, args ...any) *lang.Diagnostic {
	d := &lang.Diagnostic{Severity: lang.Error, Code: CodeHeader, File: f, Subject: span, Summary: fmt.Sprintf(format, args...)}
	ws.diags = append(ws.diags, d)
	return d
}

// WorkflowFiles lists the workflow files under paths, found as every
// command finds .lead files (FindFiles): those whose first declaration is
// `workflow NAME` and that are not test files. This is what `lead run`
// serves.
func WorkflowFiles(paths []string, opts Options) ([]string, []error) {
	found, errs := FindFiles(paths)
	var files []string
	for _, p := range found {
		if IsTestFile(p) {
			continue
		}
		if src, err := opts.read(p); err == nil {
			if _, ok := WorkflowHeader(p, src); ok {
				files = append(files, p)
			}
		}
	}
	return files, errs
}

// WorkflowHeader returns the name a source declares with `workflow NAME`
// as its first declaration; ok is false if it starts otherwise.
func WorkflowHeader(path string, src []byte) (name string, ok bool) {
	f, _ := lang.Parse(path, string(src))
	name = DeclaredWorkflow(f)
	return name, name != ""
}

// Located is a diagnostic with its position resolved to a 1-based line
// and column, for programs that do not read Lead's syntax trees: the
// runtime's API and logs.
type Located struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// Locate resolves diagnostics' positions.
func Locate(ds lang.Diagnostics) []Located {
	out := []Located{}
	for _, d := range ds {
		p := d.File.Position(d.Subject.Start)
		out = append(out, Located{File: d.File.Name, Line: p.Line, Column: p.Column,
			Severity: d.Severity.String(), Code: d.Code, Message: d.Summary})
	}
	return out
}

// DeclaredName is the workflow the result's file declares in its header,
// even when it did not compile ("" if it declares none).
func (r *Result) DeclaredName() string {
	if r.Workflow != nil {
		return r.Workflow.Name
	}
	if len(r.Files) > 0 {
		for _, d := range r.Files[0].Decls {
			if w, ok := d.(*lang.Workflow); ok && w.Name != nil && w.Name.Name != "" {
				return w.Name.Name
			}
		}
	}
	return ""
}

// DeclaredTwice is the error of a workflow that the file other declares
// too (E117), at the result's header: lead run serves one file per
// workflow name.
func (r *Result) DeclaredTwice(other string) Located {
	d := &lang.Diagnostic{Severity: lang.Error, Code: CodeWorkflowTwice, File: r.Files[0],
		Summary: fmt.Sprintf("workflow %s is declared in %s too; lead run serves one workflow per name: rename one of the workflows, or remove one file", r.DeclaredName(), other)}
	if h, ok := header(r.Files[0]); ok {
		d.Subject = h.Name.Span()
	}
	return Locate(lang.Diagnostics{d})[0]
}
