package lsp

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// fragments are pieces of Lead that random edits insert, so edits reach
// deep into the grammar rather than only breaking the first token.
var fragments = []string{
	"stage ", "cell ", "{", "}", "(", ")", "[", "]", "\n", "; ", "-> ", "on ", "when ", "lead.", "event.",
	"after 2d ", "sla x within 4h ", "owner { accountable ", "responsible route ", "\"", "// c\n", "/* ",
	"😀", "日本", "é", "\r\n", "\t", "expect lead.stage == \"won\"", "test \"t\" {", "set lead.fit = ",
	"qualify when ", "enum(a, b)", "= 3", ", ", ".", "assess", "std.", "on exception ", "warn at 50% ",
}

// session driver: one random sequence of edits and requests against a
// server, keeping the client's copy of the text in step with the
// server's.
type fuzzer struct {
	t    testing.TB
	c    *client
	u    protocol.DocumentURI
	text string
	ver  int32
	rng  *rand.Rand
}

func (f *fuzzer) pos(off int) protocol.Position { return newMapper(f.text, false).position(off) }

// offset picks a random offset on a code-point boundary.
func (f *fuzzer) offset() int {
	off := f.rng.IntN(len(f.text) + 1)
	m := newMapper(f.text, false)
	o, _ := m.offset(m.position(off))
	return o
}

func (f *fuzzer) step() {
	switch op := f.rng.IntN(14); {
	case op < 5: // an edit: insert a fragment or random text, or delete
		a, b := f.offset(), f.offset()
		if a > b {
			a, b = b, a
		}
		if op < 2 {
			b = a
		}
		ins := fragments[f.rng.IntN(len(fragments))]
		if op == 4 {
			raw := make([]byte, f.rng.IntN(6))
			for i := range raw {
				raw[i] = byte(f.rng.IntN(256))
			}
			ins = strings.ToValidUTF8(string(raw), "?")
		}
		if op == 3 {
			ins = ""
		}
		r := protocol.Range{Start: f.pos(a), End: f.pos(b)}
		f.text = f.text[:a] + ins + f.text[b:]
		f.ver++
		f.c.edit(f.u, f.ver, r, ins)
	default:
		p := f.pos(f.offset())
		if f.rng.IntN(20) == 0 {
			p.Line += 1000 // out of range: an error response, never a crash
		}
		td := protocol.TextDocumentIdentifier{URI: f.u}
		tp := tdp(f.u, p)
		var res any
		var err error
		switch op {
		case 5:
			err = f.c.call("textDocument/hover", protocol.HoverParams{TextDocumentPositionParams: tp}, &res)
		case 6:
			err = f.c.call("textDocument/definition", protocol.DefinitionParams{TextDocumentPositionParams: tp}, &res)
		case 7:
			err = f.c.call("textDocument/references", protocol.ReferenceParams{TextDocumentPositionParams: tp, Context: protocol.ReferenceContext{IncludeDeclaration: true}}, &res)
		case 8:
			err = f.c.call("textDocument/completion", protocol.CompletionParams{TextDocumentPositionParams: tp}, &res)
		case 9:
			err = f.c.call("textDocument/rename", protocol.RenameParams{TextDocumentPositionParams: tp, NewName: "renamed"}, &res)
		case 10:
			err = f.c.call("textDocument/documentSymbol", protocol.DocumentSymbolParams{TextDocument: td}, &res)
		case 11:
			err = f.c.call("textDocument/formatting", protocol.DocumentFormattingParams{TextDocument: td}, &res)
		case 12:
			err = f.c.call("textDocument/codeAction", protocol.CodeActionParams{TextDocument: td, Range: protocol.Range{Start: p, End: p}}, &res)
		default:
			err = f.c.call("textDocument/foldingRange", protocol.FoldingRangeParams{TextDocumentPositionParams: tp}, &res)
		}
		var je *jsonrpc2.Error
		if errors.As(err, &je) && je.Code == jsonrpc2.InternalError {
			f.t.Fatalf("internal error after edits to %q: %v", f.text, err)
		}
		if err != nil && !errors.As(err, &je) {
			f.t.Fatalf("request failed: %v", err) // a hang or a dead connection
		}
	}
}

// run drives a fresh in-process server through n random steps from seed,
// starting from src, then shuts it down.
func fuzzSession(t testing.TB, src string, seed uint64, n int) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.lead")
	os.WriteFile(path, []byte(src), 0o644)
	c := startInProcess(t, dir, Options{Debounce: time.Millisecond})
	f := &fuzzer{t: t, c: c, u: uri.File(path), text: src, ver: 1, rng: rand.New(rand.NewPCG(seed, seed>>1))}
	c.open(f.u, src)
	for i := 0; i < n; i++ {
		f.step()
	}
	if err := c.shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestRandomEditsAndRequests runs random sessions over the examples and
// checks that the server's goroutines all end with them.
func TestRandomEditsAndRequests(t *testing.T) {
	before := runtime.NumGoroutine()
	paths, _ := filepath.Glob("../examples/*.lead")
	n := 150
	if testing.Short() {
		n = 30
	}
	for i, p := range paths {
		fuzzSession(t, readFile(t, p), uint64(i+1), n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines grew from %d to %d:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func FuzzSession(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*.lead")
	for i, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(string(b), uint64(i))
	}
	f.Add("", uint64(99))
	f.Fuzz(func(t *testing.T, src string, seed uint64) {
		fuzzSession(t, strings.ToValidUTF8(src, "?"), seed, 15)
	})
}
