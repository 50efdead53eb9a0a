package lsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
)

func hasCode(code string) func([]protocol.Diagnostic) bool {
	return func(ds []protocol.Diagnostic) bool {
		return slices.ContainsFunc(ds, func(d protocol.Diagnostic) bool { return d.Code == code })
	}
}

func empty(ds []protocol.Diagnostic) bool { return len(ds) == 0 }

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDiagnosticsAppearAndClear edits a workflow into an error, takes the
// quick fix for its "did you mean", and sees the error go.
func TestDiagnosticsAppearAndClear(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	path := filepath.Join(dir, "simple.lead")
	u := uri.File(path)
	text := readFile(t, path)
	c.open(u, text)
	start := at(t, text, "-> working", 0, 3)
	end := start
	end.Character += uint32(len("working"))
	c.edit(u, 2, protocol.Range{Start: start, End: end}, "workng")
	ds := c.waitDiags(u, "E101 for the misspelt stage", hasCode("E101"))
	d := ds[slices.IndexFunc(ds, func(d protocol.Diagnostic) bool { return d.Code == "E101" })]
	if d.Severity != protocol.DiagnosticSeverityError || d.Range.Start != start || !strings.Contains(d.Message, "did you mean `working`?") {
		t.Errorf("diagnostic = %+v", d)
	}
	var actions []protocol.CodeAction
	c.mustCall("textDocument/codeAction", protocol.CodeActionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Range: d.Range, Context: protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{d}}}, &actions)
	if len(actions) != 1 || actions[0].Edit == nil || actions[0].Edit.Changes[u][0].NewText != "working" {
		t.Fatalf("code actions = %+v", actions)
	}
	fix := actions[0].Edit.Changes[u][0]
	c.edit(u, 3, fix.Range, fix.NewText)
	c.waitDiags(u, "no diagnostics once fixed", empty)
	if err := c.shutdown(); err != nil {
		t.Errorf("lead lsp exited with %v after shutdown and exit", err)
	}
}

// TestFeaturesOnEveryExample runs hover, definition, references,
// symbols, completion and formatting over every example, checking them
// against the compiler's own index of the same files.
func TestFeaturesOnEveryExample(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.lead"))
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			u := uri.File(path)
			text := readFile(t, path)
			c.open(u, text)
			var syms []protocol.DocumentSymbol
			c.mustCall("textDocument/documentSymbol", protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &syms)
			if len(syms) == 0 {
				t.Error("no document symbols")
			}
			var edits []protocol.TextEdit
			c.mustCall("textDocument/formatting", protocol.DocumentFormattingParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &edits)
			if len(edits) != 0 {
				t.Errorf("formatting an example already in canonical form gave %d edits", len(edits))
			}
			var folds []protocol.FoldingRange
			c.mustCall("textDocument/foldingRange", protocol.FoldingRangeParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}}, &folds)
			ix := indexOf(t, path)
			m := newMapper(text, false)
			checked := 0
			for _, sym := range ix.Symbols {
				if sym.File.Name != path {
					continue
				}
				pos := m.position(sym.Span.Start)
				var h *protocol.Hover
				c.mustCall("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, pos)}, &h)
				if h == nil || !strings.Contains(h.Contents.Value, sym.Kind) {
					t.Errorf("hover on %s %s: %+v", sym.Kind, sym.Name, h)
				}
				var refs []protocol.Location
				c.mustCall("textDocument/references", protocol.ReferenceParams{TextDocumentPositionParams: tdp(u, pos),
					Context: protocol.ReferenceContext{IncludeDeclaration: true}}, &refs)
				if want := 1 + countUses(ix, sym); len(refs) < want {
					t.Errorf("references of %s %s: %d, want at least %d", sym.Kind, sym.Name, len(refs), want)
				}
				for _, r := range ix.Uses(sym) {
					if r.File.Name != path || checked > 200 {
						continue
					}
					checked++
					var locs []protocol.Location
					c.mustCall("textDocument/definition", protocol.DefinitionParams{TextDocumentPositionParams: tdp(u, m.position(r.Span.Start))}, &locs)
					if len(locs) != 1 || pathOf(locs[0].URI) != sym.File.Name || locs[0].Range.Start != newMapper(sym.File.Src, false).position(sym.Span.Start) {
						t.Errorf("definition of the use of %s at %v: %+v", sym.Name, m.position(r.Span.Start), locs)
					}
				}
			}
			var list protocol.CompletionList
			c.mustCall("textDocument/completion", protocol.CompletionParams{TextDocumentPositionParams: tdp(u, m.position(len(text)))}, &list)
			if len(list.Items) == 0 {
				t.Error("no completion at the end of the file")
			}
		})
	}
	// Stdlib functions: signature and doc; a stage: its owners and moves.
	ms := filepath.Join(dir, "multistep.lead")
	text := readFile(t, ms)
	for _, tc := range []struct{ at, want string }{
		{"is_free_email(", "is_free_email(email string) bool"},
		{"domain(lead.email)", "domain(email string) string"},
		{"stage opportunity", "RACI: R: route field_routing · A: field_sales_manager · I: cmo"},
		{"cell teleprospecting", "teleprospecting.advance"},
		{"team field_enterprise", "best_fit by"},
		{"calendar us_business", "hours mon-fri 09:00-17:00"},
	} {
		var h *protocol.Hover
		pos := at(t, text, tc.at, 0, strings.LastIndex(tc.at, " ")+1)
		c.mustCall("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(uri.File(ms), pos)}, &h)
		if h == nil || !strings.Contains(h.Contents.Value, tc.want) {
			t.Errorf("hover on %q: %+v, want it to hold %q", tc.at, h, tc.want)
		}
	}
	var ws []protocol.SymbolInformation
	c.mustCall("workspace/symbol", protocol.WorkspaceSymbolParams{Query: "marketing"}, &ws)
	if !slices.ContainsFunc(ws, func(s protocol.SymbolInformation) bool {
		return s.Name == "marketing" && s.Kind == protocol.SymbolKindNamespace
	}) {
		t.Errorf("workspace symbols for %q: %+v", "marketing", ws)
	}
	if err := c.shutdown(); err != nil {
		t.Error(err)
	}
}

func tdp(u protocol.DocumentURI, p protocol.Position) protocol.TextDocumentPositionParams {
	return protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}, Position: p}
}

func indexOf(t testing.TB, path string) *compiler.Index {
	t.Helper()
	r := compiler.CompileFile(path, compiler.Options{})
	if r.Index == nil {
		t.Fatal("no index")
	}
	return r.Index
}

func countUses(ix *compiler.Index, s *compiler.Symbol) int {
	n := 0
	for _, r := range ix.Uses(s) {
		if !strings.HasPrefix(r.File.Name, "<") {
			n++
		}
	}
	return n
}

// TestRename renames a stage used in transitions and in test
// expectations, and refuses names that clash or are not names.
func TestRename(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	path := filepath.Join(dir, "simple.lead")
	u := uri.File(path)
	text := readFile(t, path)
	c.open(u, text)
	pos := at(t, text, "stage sales_follow_up", 0, len("stage "))
	var r protocol.Range
	c.mustCall("textDocument/prepareRename", protocol.PrepareRenameParams{TextDocumentPositionParams: tdp(u, pos)}, &r)
	if r.Start != pos {
		t.Errorf("prepareRename range %+v, want start %+v", r, pos)
	}
	var we protocol.WorkspaceEdit
	c.mustCall("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tdp(u, pos), NewName: "sales_desk"}, &we)
	edited := applyEdits(t, text, we.Changes[u])
	if strings.Contains(edited, "sales_follow_up") || !strings.Contains(edited, `lead.stage == "sales_desk"`) || !strings.Contains(edited, "advance -> sales_desk") {
		t.Errorf("after the rename:\n%s", edited)
	}
	// The renamed workflow still compiles cleanly.
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := compiler.CompileFile(path, compiler.Options{}); r.Diags.HasErrors() {
		t.Errorf("renamed workflow has errors: %v", r.Diags)
	}
	for _, bad := range []struct{ name, want string }{
		{"won", "already exists"},
		{"marketing", "already exists"},
		{"9lives", "not a valid name"},
		{"sales desk", "not a valid name"},
	} {
		err := c.call("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tdp(u, pos), NewName: bad.name}, &we)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("rename to %q: %v, want an error saying %q", bad.name, err, bad.want)
		}
	}
	// A field: its declaration, `set`, CEL uses, score and captures.
	fpos := at(t, text, "engagement int", 0, 0)
	c.mustCall("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tdp(u, fpos), NewName: "activity"}, &we)
	edited = applyEdits(t, text, we.Changes[u])
	if strings.Contains(edited, "engagement") {
		t.Errorf("engagement left after renaming the field:\n%s", edited)
	}
	if err := c.call("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tdp(u, fpos), NewName: "stage"}, &we); err == nil || !strings.Contains(err.Error(), "built in") {
		t.Errorf("renaming a field to a built-in attribute: %v", err)
	}
	c.shutdown()
}

// applyEdits applies non-overlapping edits (UTF-16 ranges) to text.
func applyEdits(t testing.TB, text string, edits []protocol.TextEdit) string {
	t.Helper()
	m := newMapper(text, false)
	slices.SortFunc(edits, func(a, b protocol.TextEdit) int {
		sa, _ := m.offset(a.Range.Start)
		sb, _ := m.offset(b.Range.Start)
		return sb - sa
	})
	for _, e := range edits {
		sp, err := m.span(e.Range)
		if err != nil {
			t.Fatal(err)
		}
		text = text[:sp.Start] + e.NewText + text[sp.End:]
	}
	return text
}

// TestPositionEncodings goes to a definition from a use that follows an
// emoji on its line, in UTF-16 (the default) and in negotiated UTF-8.
func TestPositionEncodings(t *testing.T) {
	src := "workflow w\nstart a\nlead {\n  email string\n  company string = \"\"\n}\nrole ops\n" +
		"stage a {\n  owner { accountable ops  responsible role ops }\n" +
		"  enter { notify ops \"🎉 日本 é \" + lead.company }\n  after 1d -> b\n}\nstage b terminal\n"
	for _, enc := range []string{"", "utf-8"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "w.lead")
			os.WriteFile(path, []byte(src), 0o644)
			var encodings []string
			if enc != "" {
				encodings = []string{enc}
			}
			c := startBinary(t, dir, encodings...)
			u := uri.File(path)
			c.open(u, src)
			off := strings.Index(src, "lead.company") + len("lead.")
			m := newMapper(src, enc == "utf-8")
			pos := m.position(off)
			if enc == "" && pos.Character != uint32(len([]rune(`  enter { notify ops "🎉 日本 é " + lead.`))+1) {
				t.Fatalf("UTF-16 column %d: the emoji should count two units", pos.Character)
			}
			var locs []protocol.Location
			c.mustCall("textDocument/definition", protocol.DefinitionParams{TextDocumentPositionParams: tdp(u, pos)}, &locs)
			want := m.position(strings.Index(src, "company string"))
			if len(locs) != 1 || locs[0].Range.Start != want {
				t.Errorf("definition = %+v, want %+v", locs, want)
			}
			var h *protocol.Hover
			c.mustCall("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, pos)}, &h)
			if h == nil || h.Range.Start != pos {
				t.Errorf("hover = %+v, want a range starting at %+v", h, pos)
			}
			c.shutdown()
		})
	}
}

// TestNegotiation checks the server's answer to initialize.
func TestNegotiation(t *testing.T) {
	for _, tc := range []struct {
		offer []string
		want  string
	}{{nil, "utf-16"}, {[]string{"utf-16"}, "utf-16"}, {[]string{"utf-32", "utf-8", "utf-16"}, "utf-8"}} {
		a, b := newPipe()
		c := newClient(t, a)
		go func() { c.done <- Serve(t.Context(), b, Options{}) }()
		res := c.initialize(t.TempDir(), tc.offer)
		caps := res["capabilities"].(map[string]any)
		if caps["positionEncoding"] != tc.want {
			t.Errorf("offered %v: positionEncoding %v, want %s", tc.offer, caps["positionEncoding"], tc.want)
		}
		if err := c.shutdown(); err != nil {
			t.Error(err)
		}
	}
}

// TestCompletionWithSyntaxErrors completes in a document whose other
// declarations, and the one being typed, do not parse.
func TestCompletionWithSyntaxErrors(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	path := filepath.Join(dir, "multistep.lead")
	u := uri.File(path)
	text := readFile(t, path)
	c.open(u, text)
	broken := strings.Replace(text, "after 120d -> lost {", "after 120 -> lost {", 1) // a syntax error elsewhere
	typed := broken + "\n// a comment: \nstage typing {\n  owner { accountable cmo }\n  on opportunity_won when event. "
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": u, "version": 2},
		"contentChanges": []map[string]any{{"text": typed}}})
	labels := func(pos protocol.Position) []string {
		var list protocol.CompletionList
		c.mustCall("textDocument/completion", protocol.CompletionParams{TextDocumentPositionParams: tdp(u, pos)}, &list)
		var out []string
		for _, it := range list.Items {
			out = append(out, it.Label)
		}
		return out
	}
	m := newMapper(typed, false)
	end := len(typed) - 1
	if got := labels(m.position(end)); !slices.Contains(got, "amount") || slices.Contains(got, "email") {
		t.Errorf("event. in `on opportunity_won`: %v", got)
	}
	for _, tc := range []struct {
		after string
		want  []string
		not   []string
	}{
		{"on opportunity_won  -> ", []string{"won", "lost", "marketing", "marketing.develop"}, []string{"email"}},
		{"accountable ", []string{"cmo", "field_sales_manager"}, []string{"tele_na"}},
		{"responsible route ", []string{"field_routing", "tele_routing"}, nil},
		{"set lead.", []string{"budget", "fit", "stage"}, nil},
		{"after 6bd on ", []string{"us_business", "uk_business"}, nil},
		{"qualify    when ", []string{"lead", "domain", "is_free_email", "size"}, nil},
		{"on exception ", []string{"no_owner", "sla_breach"}, nil},
		{"use ", []string{"std.waterfall"}, nil},
		{"strategy ", []string{"round_robin", "best_fit"}, nil},
	} {
		i := strings.Index(typed, tc.after)
		if i < 0 {
			t.Fatalf("no %q", tc.after)
		}
		got := labels(m.position(i + len(tc.after)))
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("after %q: %q missing from %v", tc.after, w, got)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("after %q: %q should not be offered", tc.after, w)
			}
		}
	}
	// The declaration being typed is parsed as far as it goes: go to
	// definition works inside it.
	var locs []protocol.Location
	c.mustCall("textDocument/definition", protocol.DefinitionParams{TextDocumentPositionParams: tdp(u, m.position(strings.Index(typed, "accountable cmo }")+len("accountable ")))}, &locs)
	if len(locs) != 1 || locs[0].Range.Start != m.position(strings.Index(typed, "role cmo")+len("role ")) {
		t.Errorf("definition of a role used in the declaration being typed: %+v", locs)
	}
	// Statement keywords and snippets where a statement starts.
	i := strings.Index(typed, "stage triage {") + len("stage triage {\n")
	if got := labels(m.position(i)); !slices.Contains(got, "sla") || !slices.Contains(got, "after") || !slices.Contains(got, "sla…") {
		t.Errorf("at the start of a stage statement: %v", got)
	}
	if got := labels(m.position(0)); !slices.Contains(got, "cell") || !slices.Contains(got, "stage…") {
		t.Errorf("at the top level: %v", got)
	}
	// Nothing inside comments.
	if got := labels(m.position(strings.Index(typed, "// a comment: ") + 14)); len(got) != 0 {
		t.Errorf("in a comment: %v", got)
	}
	c.shutdown()
}

// TestBadRequests: every kind of bad request gets an error response and
// the session goes on.
func TestBadRequests(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	path := filepath.Join(dir, "simple.lead")
	u := uri.File(path)
	text := readFile(t, path)
	c.open(u, text)
	code := func(err error) jsonrpc2.Code {
		var je *jsonrpc2.Error
		if errors.As(err, &je) {
			return je.Code
		}
		return 0
	}
	var h *protocol.Hover
	missing := uri.File(filepath.Join(dir, "nope.lead"))
	if err := c.call("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(missing, protocol.Position{})}, &h); code(err) != jsonrpc2.InvalidParams {
		t.Errorf("hover in an unknown file: %v", err)
	}
	if err := c.call("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, protocol.Position{Line: 9999})}, &h); code(err) != jsonrpc2.InvalidParams {
		t.Errorf("hover past the end: %v", err)
	}
	if err := c.call("textDocument/hover", json.RawMessage(`{"textDocument": 3}`), &h); code(err) != jsonrpc2.InvalidParams {
		t.Errorf("malformed params: %v", err)
	}
	if err := c.call("textDocument/semanticTokens/full", map[string]any{}, &h); code(err) != jsonrpc2.MethodNotFound {
		t.Errorf("unknown method: %v", err)
	}
	// An edit outside the document is refused and logged; the text stays.
	c.edit(u, 2, protocol.Range{Start: protocol.Position{Line: 5000}, End: protocol.Position{Line: 5001}}, "x")
	// A file on disk but not open is served from disk.
	other := uri.File(filepath.Join(dir, "multistep.lead"))
	var syms []protocol.DocumentSymbol
	c.mustCall("textDocument/documentSymbol", protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: other}}, &syms)
	if len(syms) == 0 {
		t.Error("no symbols for an unopened file")
	}
	// Formatting a file with a syntax error says why it does not.
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": u, "version": 3},
		"contentChanges": []map[string]any{{"text": text + "\nstage broken {\n  after 30 -> won\n}\n"}}})
	var edits []protocol.TextEdit
	if err := c.call("textDocument/formatting", protocol.DocumentFormattingParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &edits); err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("formatting a broken file: %v", err)
	}
	c.mustCall("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, at(t, text, "stage working", 0, 7))}, &h)
	if h == nil {
		t.Error("the session did not go on after the bad requests")
	}
	c.mu.Lock()
	logged := strings.Join(c.logs, "\n")
	c.mu.Unlock()
	if !strings.Contains(logged, "past the end of the document") {
		t.Errorf("the refused edit was not logged: %q", logged)
	}
	if err := c.shutdown(); err != nil {
		t.Error(err)
	}
}

// TestCancellation cancels a request while the server is busy with the
// one before it: it is answered with RequestCancelled, and the session
// goes on.
func TestCancellation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.lead")
	stages := 840 // about 20,000 lines: a compile takes a while
	if raceEnabled {
		stages = 210
	}
	src := lang.GenerateWorkflow(stages)
	os.WriteFile(path, []byte(src), 0o644)
	a, b := newPipe()
	c := newClient(t, a)
	go func() { c.done <- Serve(t.Context(), b, Options{}) }()
	c.initialize(dir, nil) // request 1
	u := uri.File(path)
	c.open(u, src)
	pos := at(t, src, "\nstage ", 3, 7)
	slow := make(chan error, 1)
	go func() { // request 2: compiles the workflow first
		var refs []protocol.Location
		slow <- c.call("textDocument/references", protocol.ReferenceParams{TextDocumentPositionParams: tdp(u, pos)}, &refs)
	}()
	time.Sleep(10 * time.Millisecond)
	cancelled := make(chan error, 1)
	go func() { // request 3: cancelled while it waits
		var h *protocol.Hover
		cancelled <- c.call("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, pos)}, &h)
	}()
	time.Sleep(10 * time.Millisecond)
	c.notify("$/cancelRequest", map[string]any{"id": 3})
	if err := <-slow; err != nil {
		t.Errorf("the request before the cancelled one: %v", err)
	}
	var je *jsonrpc2.Error
	if err := <-cancelled; !errors.As(err, &je) || je.Code != -32800 {
		t.Errorf("cancelled request: %v, want RequestCancelled (-32800)", err)
	}
	var h *protocol.Hover
	c.mustCall("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tdp(u, pos)}, &h)
	if h == nil {
		t.Error("no hover after the cancellation")
	}
	c.shutdown()
}

// TestLifecycle: requests before initialize are refused; exit without
// shutdown ends the process with status 1, after shutdown with 0.
func TestLifecycle(t *testing.T) {
	cmd := exec.Command(leadBin(t), "lsp")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, pipeRWC{stdout, stdin})
	var h any
	err := c.call("textDocument/hover", map[string]any{}, &h)
	var je *jsonrpc2.Error
	if !errors.As(err, &je) || je.Code != -32002 {
		t.Errorf("hover before initialize: %v", err)
	}
	c.notify("exit", nil)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit without shutdown: %v, want status 1", err)
	}

	c2 := startBinary(t, t.TempDir())
	c2.mustCall("shutdown", nil, nil)
	if err := c2.call("textDocument/hover", map[string]any{}, &h); err == nil {
		t.Error("a request after shutdown was served")
	}
	c2.notify("exit", nil)
	if err := <-c2.done; err != nil {
		t.Errorf("exit after shutdown: %v, want status 0", err)
	}
}

// TestStandardChange edits a standard; the workflows conforming to it get
// their diagnostics again.
func TestStandardChange(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	std := filepath.Join(dir, "acme_global.lead")
	wf := uri.File(filepath.Join(dir, "emea_inbound.lead"))
	text := readFile(t, std)
	c.open(uri.File(std), text)
	pos := at(t, text, "within 24h", 0, len("within "))
	end := pos
	end.Character += 3
	// 48h on std.uk_business is over five business days of 8h30m: six
	// days of the clock allow it.
	c.edit(uri.File(std), 2, protocol.Range{Start: pos, End: end}, "144h")
	c.waitDiags(wf, "the waiver no longer waives anything (E184)", hasCode("E184"))
	end.Character++
	c.edit(uri.File(std), 3, protocol.Range{Start: pos, End: end}, "24h")
	c.waitDiags(wf, "the waiver is a note again", func(ds []protocol.Diagnostic) bool { return !hasCode("E184")(ds) })
	c.shutdown()
}

// TestWatchedFiles changes a file on disk that the editor does not have
// open.
func TestWatchedFiles(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	path := filepath.Join(dir, "partner_channel.lead")
	text := readFile(t, path)
	os.WriteFile(path, []byte(strings.Replace(text, "start ", "start nowhere_", 1)), 0o644)
	c.notify("workspace/didChangeWatchedFiles", protocol.DidChangeWatchedFilesParams{Changes: []*protocol.FileEvent{{URI: uri.File(path), Type: protocol.FileChangeTypeChanged}}})
	c.waitDiags(uri.File(path), "E101 for the new start", hasCode("E101"))
	os.WriteFile(path, []byte(text), 0o644)
	c.notify("workspace/didChangeWatchedFiles", protocol.DidChangeWatchedFilesParams{Changes: []*protocol.FileEvent{{URI: uri.File(path), Type: protocol.FileChangeTypeChanged}}})
	c.waitDiags(uri.File(path), "clean again", empty)
	c.shutdown()
}

// TestMalformedMessages: a frame whose body is not JSON-RPC is dropped
// and logged; the session goes on.
func TestMalformedMessages(t *testing.T) {
	a, b := newPipe()
	done := make(chan error, 1)
	go func() { done <- Serve(t.Context(), b, Options{}) }()
	c := newClient(t, a)
	c.done = done
	for _, body := range []string{`{not json`, `{"jsonrpc":"2.0"}`, `[1, 2]`} {
		if _, err := fmt.Fprintf(a, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			t.Fatal(err)
		}
	}
	c.initialize(t.TempDir(), nil)
	if err := c.shutdown(); err != nil {
		t.Errorf("after malformed messages: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.logs) != 3 || !strings.Contains(c.logs[0], "not JSON-RPC") {
		t.Errorf("logged: %q", c.logs)
	}
}

// TestWorkspaceFolders removes the folder: its files' diagnostics are
// cleared; adding it back checks them again.
func TestWorkspaceFolders(t *testing.T) {
	dir := copyExamples(t)
	path := filepath.Join(dir, "simple.lead")
	os.WriteFile(path, []byte(strings.Replace(readFile(t, path), "-> working", "-> workng", 1)), 0o644)
	c := startBinary(t, dir)
	u := uri.File(path)
	c.waitDiags(u, "E101 from indexing the workspace", hasCode("E101"))
	folder := []protocol.WorkspaceFolder{{URI: string(uri.File(dir)), Name: "w"}}
	c.notify("workspace/didChangeWorkspaceFolders", protocol.DidChangeWorkspaceFoldersParams{Event: protocol.WorkspaceFoldersChangeEvent{Removed: folder}})
	c.waitDiags(u, "cleared with the folder", empty)
	c.notify("workspace/didChangeWorkspaceFolders", protocol.DidChangeWorkspaceFoldersParams{Event: protocol.WorkspaceFoldersChangeEvent{Added: folder}})
	c.waitDiags(u, "E101 again", hasCode("E101"))
	c.shutdown()
}

// TestRenameAcrossFiles renames a stage of a standard's vocabulary: the
// standard, every workflow conforming to it (lifecycle statements and
// waivers) and the result still checks.
func TestRenameAcrossFiles(t *testing.T) {
	dir := copyExamples(t)
	c := startBinary(t, dir)
	std := filepath.Join(dir, "acme_global.lead")
	wf := filepath.Join(dir, "emea_inbound.lead")
	text := readFile(t, std)
	c.open(uri.File(std), text)
	var we protocol.WorkspaceEdit
	c.mustCall("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tdp(uri.File(std), at(t, text, "mql", 0, 0)), NewName: "marketing_qualified"}, &we)
	partner := filepath.Join(dir, "partner_channel.lead")
	if len(we.Changes) != 3 || we.Changes[uri.File(wf)] == nil || we.Changes[uri.File(partner)] == nil {
		t.Fatalf("edits in %d files, want the standard and the two workflows conforming to it: %+v", len(we.Changes), we.Changes)
	}
	for u, edits := range we.Changes {
		path := pathOf(u)
		if err := os.WriteFile(path, []byte(applyEdits(t, readFile(t, path), edits)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if w := readFile(t, wf); !strings.Contains(w, `waive "sla.marketing_qualified"`) || strings.Contains(w, "lifecycle mql") {
		t.Errorf("emea_inbound.lead after the rename:\n%s", w)
	}
	for _, p := range []string{wf, partner} {
		if r := compiler.CompileFile(p, compiler.Options{}); r.Diags.HasErrors() {
			t.Errorf("%s: errors after the rename: %v", p, r.Diags)
		}
	}
	c.shutdown()
}

// TestRelatedInformation: a diagnostic's related places reach the editor
// with their locations, and notes and warnings keep their severity.
func TestRelatedInformation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	src := "workflow w\nstart a\nrole ops\nrole ops\nrole idle\nstage a {\n  owner { accountable ops }\n  after 1d -> b\n}\nstage b terminal\n"
	os.WriteFile(path, []byte(src), 0o644)
	c := startInProcess(t, dir, Options{})
	u := uri.File(path)
	c.open(u, src)
	ds := c.waitDiags(u, "E100 for the second role", hasCode("E100"))
	d := ds[slices.IndexFunc(ds, func(d protocol.Diagnostic) bool { return d.Code == "E100" })]
	m := newMapper(src, false)
	if len(d.RelatedInformation) != 1 || d.RelatedInformation[0].Location.URI != u ||
		d.RelatedInformation[0].Location.Range.Start != m.position(strings.Index(src, "ops")) {
		t.Errorf("related information: %+v", d.RelatedInformation)
	}
	c.edit(u, 2, protocol.Range{Start: m.position(strings.Index(src, "role ops\nrole idle")), End: m.position(strings.Index(src, "role idle"))}, "")
	ds = c.waitDiags(u, "only the unused role's warning", func(ds []protocol.Diagnostic) bool { return len(ds) == 1 && ds[0].Code == "W005" })
	if ds[0].Severity != protocol.DiagnosticSeverityWarning || len(ds[0].Tags) != 1 || ds[0].Tags[0] != protocol.DiagnosticTagUnnecessary {
		t.Errorf("unused role: %+v", ds[0])
	}
	c.shutdown()
}
