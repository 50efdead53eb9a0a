// Package compiler turns parsed .lead files into a checked, compiled
// workflow graph (package ir). It resolves every name, type-checks every CEL
// expression against the workflow's schema, expands cells into their three
// stages, applies owner defaults, lints the graph ("no lead left behind"),
// checks conformance to a standard, and compiles test blocks for `lead test`.
// Every finding is a lang.Diagnostic pointing into the .lead source.
//
// The passes, in order: collect declarations (collect.go), build the data
// types and people (types.go), type-check expressions (expr.go), lower
// stages and cells (lower.go), check the graph (graph.go), check the
// standard (standard.go), compile tests (tests.go).
package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib/celenv"

	"github.com/leadlang/lead/internal/suggest"
)

// Options configure a compilation.
type Options struct {
	// ReadFile reads a source file; nil means os.ReadFile. The language
	// server passes one that sees unsaved editor buffers.
	ReadFile func(name string) ([]byte, error)
	// StandardsPath lists directories searched for `conforms NAME` after
	// the workflow's own directory.
	StandardsPath []string
	// SkipTests leaves test blocks uncompiled (the runtime does not need them).
	SkipTests bool
	// Today is the date waivers' expiry is judged on; zero means the
	// local date now.
	Today time.Time
}

func (o Options) read(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

// Result is the outcome of compiling one workflow.
type Result struct {
	// Workflow is the compiled graph; nil when errors prevented building it.
	Workflow *ir.Workflow
	// Env holds the workflow's CEL environments (nil with Workflow).
	Env *celenv.Env
	// Tests are the compiled test blocks of the workflow and its _test file.
	Tests []*Test
	// Files are the sources involved: the workflow first, then its test
	// file, standard file and std modules.
	Files []*lang.File
	// Diags are all diagnostics, sorted by file and position.
	Diags lang.Diagnostics
	// Index lists the declarations of Files and every use of their names.
	Index *Index
}

// CompileFile compiles the workflow in path, together with its
// NAME_test.lead beside it, the standard it conforms to and the std modules
// it uses.
func CompileFile(path string, opts Options) *Result {
	src, err := opts.read(path)
	if err != nil {
		f := &lang.File{Name: path}
		return &Result{Files: []*lang.File{f}, Diags: lang.Diagnostics{{
			Code: "E000", File: f, Summary: fmt.Sprintf("cannot read %s: %v", path, err),
		}}}
	}
	f, diags := lang.Parse(path, string(src))
	return Compile(f, diags, opts)
}

// Compile compiles an already parsed workflow file (diags are its syntax
// diagnostics). A file with syntax errors is not analysed further: names
// missing from a broken declaration would only add confusing errors.
func Compile(f *lang.File, syntax lang.Diagnostics, opts Options) *Result {
	c := newCompilation(f, opts)
	c.diags = append(c.diags, syntax...)
	if !syntax.HasErrors() {
		c.run()
	}
	if c.index == nil {
		c.index = BuildIndex(c.files)
	}
	c.diags = dedupe(c.diags)
	c.diags.Sort()
	r := &Result{Files: c.files, Diags: c.diags, Tests: c.tests, Index: c.index}
	if !c.diags.HasErrors() {
		r.Workflow, r.Env = c.w, c.env
	}
	return r
}

// run executes the passes. It collects as many findings as it can: only
// errors in the data types (lead schema, events) stop it before the
// expressions are checked, because every expression would then report the
// same missing field again. Name errors elsewhere (an unknown role, team or
// calendar) do not stop it; the graph's structural checks and the standard
// still run, and only the lints, which reason about a graph that has to be
// whole, wait until there are no errors.
func (c *compilation) run() {
	c.collect(c.main, false)
	if c.header == nil {
		return
	}
	c.loadTestFile()
	c.loadModules()
	c.loadStandard()
	c.importVocabulary()
	c.index = BuildIndex(c.files)
	c.checkDuplicates()
	before := len(c.diags)
	c.buildData()
	if lang.Diagnostics(c.diags[before:]).HasErrors() {
		return
	}
	c.buildPeople()
	c.buildRules()
	env, err := celenv.New(c.w)
	if err != nil {
		c.errorf(c.main, c.header.Span(), CodeExpr, "cannot build the expression environment: %v", err)
		return
	}
	c.env = env
	c.lower()
	c.checkExprs()
	c.checkGraph()
	c.checkStandard()
	// The workflow is complete: hash it while the tests compile (they only
	// read it). The hash is the largest serial cost of a check.
	var wg sync.WaitGroup
	version, size := "", 0
	if !c.failed() {
		c.w.Normalize()
		wg.Go(func() { version, size = c.w.HashSize() })
	}
	if !c.opts.SkipTests {
		c.compileTests()
	}
	wg.Wait()
	c.w.Version = version
	if size > ir.MaxBytes {
		d := c.errorf(c.main, c.header.Span(), CodeTooLarge, "the compiled workflow takes %d KiB; lead run stores workflows of up to %d KiB", size>>10, ir.MaxBytes>>10)
		d.help("split it into workflows that hand leads over to each other, or move repeated text into fewer declarations")
	}
}

func (c *compilation) failed() bool { return c.diags.HasErrors() }

// loadTestFile adds NAME_test.lead from the workflow's directory.
func (c *compilation) loadTestFile() {
	name := filepath.Join(filepath.Dir(c.main.Name), c.w.Name+"_test.lead")
	if name == c.main.Name {
		return
	}
	src, err := c.opts.read(name)
	if err != nil {
		return // no test file
	}
	f, diags := lang.Parse(name, string(src))
	c.files = append(c.files, f)
	c.diags = append(c.diags, diags...)
	if diags.HasErrors() {
		return
	}
	c.collectTestFile(f)
}

// dedupe drops repeated diagnostics (a standard file checked twice).
func dedupe(ds lang.Diagnostics) lang.Diagnostics {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := fmt.Sprintf("%s:%d:%d:%s:%s", d.File.Name, d.Subject.Start, d.Subject.End, d.Code, d.Summary)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// diag starts a diagnostic; the builder methods add help and related notes.
type diag struct{ d *lang.Diagnostic }

func (c *compilation) report(sev lang.Severity, f *lang.File, span lang.Span, code, format string, args ...any) diag {
	d := &lang.Diagnostic{Severity: sev, Code: code, File: f, Subject: span, Summary: fmt.Sprintf(format, args...)}
	c.diags = append(c.diags, d)
	return diag{d}
}

func (c *compilation) errorf(f *lang.File, span lang.Span, code, format string, args ...any) diag {
	return c.report(lang.Error, f, span, code, format, args...)
}

func (c *compilation) warnf(f *lang.File, span lang.Span, code, format string, args ...any) diag {
	return c.report(lang.Warning, f, span, code, format, args...)
}

func (d diag) help(format string, args ...any) diag {
	d.d.Help = append(d.d.Help, fmt.Sprintf(format, args...))
	return d
}

func (d diag) related(f *lang.File, span lang.Span, format string, args ...any) diag {
	d.d.Related = append(d.d.Related, lang.Related{File: f, Span: span, Message: fmt.Sprintf(format, args...)})
	return d
}

// suggest adds "did you mean" when a candidate is within edit distance 2.
func (d diag) suggest(name string, candidates []string) diag {
	if s := suggest.Nearest(name, candidates); s != "" {
		d.d.Fixes = append(d.d.Fixes, lang.Fix{Message: fmt.Sprintf("did you mean `%s`?", s), Replace: s})
	}
	return d
}

// pos converts a node's span in f to an IR position.
func pos(f *lang.File, s lang.Span) ir.Pos {
	p := f.Position(s.Start)
	return ir.Pos{File: f.Name, Line: p.Line, Col: p.Column, Off: s.Start, End: s.End}
}

// normalizeExpr collapses every run of whitespace and comments outside
// string literals into one space, so reformatting never changes an
// expression's IR text (and the version hash).
func normalizeExpr(src string) string {
	var b strings.Builder
	space := false
	flush := func() {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			space = true
		case c == '"' || c == '\'':
			flush()
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j < len(src) {
				j++
			}
			b.WriteString(src[i:min(j, len(src))])
			i = j
		default:
			flush()
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
