package lsp

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/compiler/report"
	"github.com/leadlang/lead/lang"
)

// session is the state of one editor connection. Only the worker
// goroutine touches it (see queue).
type session struct {
	conn     jsonrpc2.Conn
	opts     Options
	utf8     bool // positions count bytes rather than UTF-16 units
	schedule func(func(*session))

	initialized, shutdown, exitSeen bool
	exited                          chan struct{}

	roots []string
	docs  map[string]*document // open documents, by path
	files map[string]bool      // .lead files under the workspace folders
	units map[string]*unit     // compiled workflows, by the workflow file's path

	// loose holds the syntax diagnostics of files that no workflow
	// compiles (a standard nobody conforms to yet, a stray test file).
	loose map[string]lang.Diagnostics
	shown map[string]bool // files whose published diagnostics are not empty
	timer *time.Timer     // the pending debounced publication
}

// document is a file open in the editor.
type document struct {
	uri     protocol.DocumentURI
	version int32
	text    string
}

// unit is one workflow compiled with its test file, standard and std
// modules: the compiler's Result, and whether its inputs changed since.
type unit struct {
	path   string
	result *compiler.Result
	stale  bool
	// ir is the workflow of the last compilation without errors, for
	// hovers while the text has errors.
	ir *ir.Workflow
}

func newSession(conn jsonrpc2.Conn, opts Options) *session {
	return &session{
		conn: conn, opts: opts, exited: make(chan struct{}),
		docs: map[string]*document{}, files: map[string]bool{}, units: map[string]*unit{},
		loose: map[string]lang.Diagnostics{}, shown: map[string]bool{},
	}
}

// stop cancels the pending publication; the session is over.
func (s *session) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *session) logf(format string, args ...any) {
	_ = s.conn.Notify(context.Background(), "window/logMessage",
		&protocol.LogMessageParams{Type: protocol.MessageTypeLog, Message: fmt.Sprintf(format, args...)})
}

// pathOf maps a document URI to the path the compiler sees: the file name
// of a file: URI, the URI itself otherwise (an unsaved buffer).
func pathOf(u protocol.DocumentURI) string {
	if strings.HasPrefix(string(u), "file://") {
		if pu, err := url.ParseRequestURI(string(u)); err == nil && pu.Path != "" {
			return filepath.FromSlash(pu.Path)
		}
	}
	return string(u)
}

// uriOf maps a path back to the URI the editor uses for it.
func (s *session) uriOf(path string) protocol.DocumentURI {
	if d, ok := s.docs[path]; ok {
		return d.uri
	}
	if filepath.IsAbs(path) {
		return uri.File(path)
	}
	return protocol.DocumentURI(path)
}

func (s *session) addRoot(u protocol.DocumentURI) {
	if p := pathOf(u); filepath.IsAbs(p) && !slices.Contains(s.roots, p) {
		s.roots = append(s.roots, p)
	}
}

// read reads a file as the editor sees it: an open document's text, else
// the file on disk. The compiler reads every file through it.
func (s *session) read(path string) ([]byte, error) {
	if d, ok := s.docs[path]; ok {
		return []byte(d.text), nil
	}
	return os.ReadFile(path)
}

func (s *session) options() compiler.Options {
	return compiler.Options{ReadFile: s.read, StandardsPath: s.opts.StandardsPath}
}

// indexWorkspace finds every .lead file under the workspace folders
// (skipping hidden and testdata directories, as `lead check` does) and
// compiles every workflow among them.
func (s *session) indexWorkspace() {
	for _, root := range s.roots {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".lead") {
				s.files[path] = true
			}
			return nil
		})
	}
	var all []string
	for p := range s.files {
		all = append(all, p)
	}
	slices.Sort(all)
	for _, p := range all {
		s.invalidate(p)
	}
	s.flush()
}

// parse parses a file as the editor sees it.
func (s *session) parse(path string) (*lang.File, lang.Diagnostics, error) {
	src, err := s.read(path)
	if err != nil {
		return nil, nil, err
	}
	f, ds := lang.Parse(path, string(src))
	return f, ds, nil
}

// testedWorkflow finds the workflow file beside a test file whose header
// names the same workflow.
func (s *session) testedWorkflow(path string, f *lang.File) string {
	name := compiler.DeclaredWorkflow(f)
	if name == "" {
		return ""
	}
	want := filepath.Join(filepath.Dir(path), name+"_test.lead")
	if want != path {
		return ""
	}
	var cands []string
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		cands = append(cands, filepath.Join(filepath.Dir(path), e.Name()))
	}
	for p := range s.docs {
		if filepath.Dir(p) == filepath.Dir(path) {
			cands = append(cands, p)
		}
	}
	slices.Sort(cands)
	for _, c := range slices.Compact(cands) {
		if c == path || !strings.HasSuffix(c, ".lead") || compiler.IsTestFile(c) {
			continue
		}
		if cf, _, err := s.parse(c); err == nil && compiler.DeclaredWorkflow(cf) == name {
			return c
		}
	}
	return ""
}

// invalidate marks the workflows that read path as stale, or records the
// syntax diagnostics of a file that no workflow reads.
func (s *session) invalidate(path string) {
	units := s.unitsReading(path)
	if len(units) > 0 {
		// A file the workflows already read: they are what changes (no
		// parse here, which would cost a keystroke as much as a compile).
		for _, p := range units {
			s.units[p].stale = true
		}
		return
	}
	f, syntax, err := s.parse(path)
	if err == nil {
		switch compiler.Classify(path, f) {
		case compiler.KindWorkflow:
			units = append(units, path)
		case compiler.KindTest:
			if wf := s.testedWorkflow(path, f); wf != "" {
				units = append(units, wf)
			}
		case compiler.KindStandards:
			// A new or renamed standard may be the one a workflow could
			// not find: recompile those that conform to something.
			for p, u := range s.units {
				if u.result != nil && conforms(u.result) {
					units = append(units, p)
				}
			}
		}
	} else if s.units[path] != nil {
		units = append(units, path) // deleted: the unit goes
	}
	delete(s.loose, path)
	if len(units) == 0 && err == nil {
		s.loose[path] = syntax
		if compiler.Classify(path, f) == compiler.KindTest && !syntax.HasErrors() {
			s.loose[path] = append(syntax, orphanTest(f))
		}
		s.publish(path)
	}
	for _, p := range units {
		if s.units[p] == nil {
			s.units[p] = &unit{path: p}
		}
		s.units[p].stale = true
	}
}

func conforms(r *compiler.Result) bool {
	for _, d := range r.Files[0].Decls {
		if _, ok := d.(*lang.Conforms); ok {
			return true
		}
	}
	return false
}

// orphanTest explains a test file that no workflow beside it loads.
func orphanTest(f *lang.File) *lang.Diagnostic {
	span := lang.Span{}
	if len(f.Decls) > 0 {
		span = f.Decls[0].Span()
	}
	return &lang.Diagnostic{Code: compiler.CodeHeader, File: f, Subject: span,
		Summary: "no workflow beside this file loads it as its tests",
		Help:    []string{"a test file starts with `workflow NAME` and is named NAME_test.lead, in the directory of the workflow NAME"}}
}

// unitsReading lists the workflows whose last compilation read path.
func (s *session) unitsReading(path string) []string {
	var out []string
	for p, u := range s.units {
		if u.result == nil {
			continue
		}
		for _, f := range u.result.Files {
			if f.Name == path {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// changed records a change to path and schedules the publication of
// diagnostics after the debounce.
func (s *session) changed(path string) {
	s.invalidate(path)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.opts.Debounce, func() { s.schedule((*session).flush) })
}

// flush recompiles every stale workflow and publishes its diagnostics.
func (s *session) flush() {
	var paths []string
	for p, u := range s.units {
		if u.stale {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		s.compile(s.units[p])
	}
}

// compile compiles a unit and publishes the diagnostics of every file it
// read, before or now (so fixed errors disappear).
func (s *session) compile(u *unit) {
	touched := map[string]bool{}
	if u.result != nil {
		for _, f := range u.result.Files {
			touched[f.Name] = true
		}
	}
	u.stale = false
	if _, err := s.read(u.path); err != nil {
		delete(s.units, u.path)
	} else {
		u.result = compiler.CompileFile(u.path, s.options())
		if u.result.Workflow != nil {
			u.ir = u.result.Workflow
		}
		for _, f := range u.result.Files {
			touched[f.Name] = true
			delete(s.loose, f.Name)
		}
	}
	var paths []string
	for p := range touched {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		s.publish(p)
	}
}

// unitOf returns the compiled workflow that holds path, compiling it
// first if it is stale; nil if no workflow reads the file.
func (s *session) unitOf(path string) *unit {
	var best *unit
	for _, p := range append(s.unitsReading(path), path) {
		if u := s.units[p]; u != nil && (best == nil || p == path) {
			best = u
		}
	}
	if best == nil {
		if f, _, err := s.parse(path); err == nil && compiler.Classify(path, f) == compiler.KindTest {
			if wf := s.testedWorkflow(path, f); wf != "" {
				best = &unit{path: wf, stale: true}
				s.units[wf] = best
			}
		}
	}
	if best != nil && (best.stale || best.result == nil) {
		s.compile(best)
	}
	if best == nil || s.units[best.path] == nil {
		return nil
	}
	return best
}

// publish sends the diagnostics of one file: those of every workflow that
// read it, without repeats, or its own syntax diagnostics.
func (s *session) publish(path string) {
	if strings.HasPrefix(path, "<") {
		return // std modules have no file in the editor
	}
	var ds lang.Diagnostics
	seen := map[string]bool{}
	add := func(d *lang.Diagnostic) {
		k := fmt.Sprintf("%d\x00%d\x00%s\x00%s", d.Subject.Start, d.Subject.End, d.Code, d.Summary)
		if d.File != nil && d.File.Name == path && !seen[k] {
			seen[k] = true
			ds = append(ds, d)
		}
	}
	var units []string
	for p := range s.units {
		units = append(units, p)
	}
	slices.Sort(units)
	for _, p := range units {
		if r := s.units[p].result; r != nil {
			for _, d := range r.Diags {
				add(d)
			}
		}
	}
	for _, d := range s.loose[path] {
		add(d)
	}
	if len(ds) == 0 && !s.shown[path] {
		return
	}
	s.shown[path] = len(ds) > 0
	params := &protocol.PublishDiagnosticsParams{URI: s.uriOf(path), Diagnostics: s.toProtocol(ds)}
	if d, ok := s.docs[path]; ok && d.version > 0 {
		params.Version = uint32(d.version)
	}
	_ = s.conn.Notify(context.Background(), "textDocument/publishDiagnostics", params)
}

// toProtocol converts diagnostics of one file to LSP's form.
func (s *session) toProtocol(ds lang.Diagnostics) []protocol.Diagnostic {
	out := []protocol.Diagnostic{}
	mappers := map[*lang.File]*mapper{}
	m := func(f *lang.File) *mapper {
		if mappers[f] == nil {
			mappers[f] = newMapper(f.Src, s.utf8)
		}
		return mappers[f]
	}
	for _, d := range ds {
		pd := protocol.Diagnostic{
			Range:    m(d.File).rng(d.Subject),
			Severity: severity(d.Severity),
			Code:     d.Code,
			Source:   "lead",
			Message:  report.Message(d),
		}
		for _, r := range d.Related {
			f := r.File
			if f == nil {
				f = d.File
			}
			loc := protocol.Location{URI: s.uriOf(f.Name), Range: m(f).rng(r.Span)}
			if strings.HasPrefix(f.Name, "<") {
				loc = protocol.Location{URI: s.uriOf(d.File.Name), Range: pd.Range}
			}
			pd.RelatedInformation = append(pd.RelatedInformation, protocol.DiagnosticRelatedInformation{Location: loc, Message: r.Message})
		}
		if d.Code == compiler.CodeUnused || d.Code == compiler.CodeUnreachable {
			pd.Tags = []protocol.DiagnosticTag{protocol.DiagnosticTagUnnecessary}
		}
		out = append(out, pd)
	}
	return out
}

func severity(s lang.Severity) protocol.DiagnosticSeverity {
	switch s {
	case lang.Warning:
		return protocol.DiagnosticSeverityWarning
	case lang.Note:
		return protocol.DiagnosticSeverityInformation
	}
	return protocol.DiagnosticSeverityError
}
