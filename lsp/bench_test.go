package lsp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/leadlang/lead/lang"
)

// The benchmarks hold the server's performance targets, measured on the
// session's own code paths without the JSON-RPC transport or the
// debounce: diagnostics after a change (2,000 lines ≤ 50 ms, 10,000 ≤
// 250 ms), completion and hover on 10,000 lines (≤ 20 ms each), and a
// heap that stays flat over 10,000 edits.

// nullConn is a connection that drops what the server sends.
type nullConn struct{ jsonrpc2.Conn }

func (nullConn) Notify(context.Context, string, any) error { return nil }

// benchSession opens a generated workflow of about lines lines.
func benchSession(b *testing.B, stages int) (*session, protocol.DocumentURI, string) {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.lead")
	src := lang.GenerateWorkflow(stages)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	s := newSession(nullConn{}, Options{Debounce: DefaultDebounce})
	s.schedule = func(func(*session)) {}
	s.initialized = true
	u := uri.File(path)
	s.docs[path] = &document{uri: u, version: 1, text: src}
	s.changed(path)
	s.flush()
	s.stop()
	if r := s.units[path].result; r.Diags.HasErrors() {
		b.Fatalf("generated workflow has errors: %v", r.Diags[0])
	}
	return s, u, src
}

// call runs one request through the session's dispatcher.
func call(b *testing.B, s *session, method string, params any) any {
	raw, _ := json.Marshal(params)
	call, _ := jsonrpc2.NewCall(jsonrpc2.NewNumberID(1), method, json.RawMessage(raw))
	res, err := s.dispatch(context.Background(), call)
	if err != nil {
		b.Fatalf("%s: %v", method, err)
	}
	return res
}

// benchDiagnostics measures a change to the document until its
// diagnostics are published: parse, compile, convert.
func benchDiagnostics(b *testing.B, stages int) {
	s, u, src := benchSession(b, stages)
	path := pathOf(u)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Alternate between two texts, so every iteration is a change.
		text := src
		if i%2 == 0 {
			text = src + "\n// edited\n"
		}
		s.docs[path].text = text
		s.changed(path)
		s.flush()
	}
	s.stop()
}

func BenchmarkDiagnostics2k(b *testing.B)  { benchDiagnostics(b, 84) }
func BenchmarkDiagnostics10k(b *testing.B) { benchDiagnostics(b, 420) }

func BenchmarkCompletion10k(b *testing.B) {
	s, u, src := benchSession(b, 420)
	off := strings.Index(src[len(src)/2:], "-> ") + len(src)/2 + len("-> ")
	pos := newMapper(src, false).position(off)
	params := protocol.CompletionParams{TextDocumentPositionParams: tdp(u, pos)}
	for b.Loop() {
		if list := call(b, s, "textDocument/completion", params).(protocol.CompletionList); len(list.Items) == 0 {
			b.Fatal("no completions")
		}
	}
}

func BenchmarkHover10k(b *testing.B) {
	s, u, src := benchSession(b, 420)
	off := strings.Index(src[len(src)/2:], "\nstage ") + len(src)/2 + len("\nstage ")
	pos := newMapper(src, false).position(off)
	params := protocol.HoverParams{TextDocumentPositionParams: tdp(u, pos)}
	for b.Loop() {
		if h := call(b, s, "textDocument/hover", params); h == nil {
			b.Fatal("no hover")
		}
	}
}

// BenchmarkEditMemory applies 10,000 edits to a 2,000-line document,
// publishing diagnostics after every 100 (as the debounce coalesces a
// burst of typing), and reports the live heap after them as a multiple of
// the heap after the first 100.
func BenchmarkEditMemory(b *testing.B) {
	s, u, _ := benchSession(b, 84)
	path := pathOf(u)
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc)
	}
	for b.Loop() {
		var first float64
		for i := 1; i <= 10000; i++ {
			text := s.docs[path].text
			off := strings.LastIndex(text, "\n") // edit the last line: insert, then delete
			m := newMapper(text, false)
			r := protocol.Range{Start: m.position(off), End: m.position(off)}
			ins := "x"
			if i%2 == 0 {
				r.Start = m.position(off - 1)
				ins = ""
			}
			call(b, s, "textDocument/didChange", didChangeParams{
				TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: int32(i + 1)},
				ContentChanges: []changeEvent{{Range: &r, Text: ins}},
			})
			if i%100 == 0 {
				s.flush()
			}
			if i == 100 {
				first = heap()
			}
		}
		b.ReportMetric(heap()/first, "heap-after/heap-at-100")
	}
	s.stop()
}
