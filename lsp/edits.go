package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/lang/format"
)

// formatting formats a document as `lead fmt` does: one edit replacing
// the text, none when it is already canonical. A document with syntax
// errors is left alone, with an error saying why.
func (s *session) formatting(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DocumentFormattingParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	path := pathOf(p.TextDocument.URI)
	f, syntax, err := s.parse(path)
	if err != nil {
		return nil, invalidParams("unknown document %s: it is not open and cannot be read", p.TextDocument.URI)
	}
	if syntax.HasErrors() {
		first := syntax[0]
		pos := f.Position(first.Subject.Start)
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest,
			fmt.Sprintf("cannot format: line %d has a syntax error (%s); fix it first", pos.Line, first.Summary))
	}
	out := string(format.Source(f))
	if out == f.Src {
		return []protocol.TextEdit{}, nil
	}
	m := newMapper(f.Src, s.utf8)
	return []protocol.TextEdit{{Range: m.rng(lang.Span{Start: 0, End: len(f.Src)}), NewText: out}}, nil
}

// codeAction offers a quick fix for every "did you mean" of the
// diagnostics in the requested range.
func (s *session) codeAction(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.CodeActionParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	path := pathOf(p.TextDocument.URI)
	src, err := s.read(path)
	if err != nil {
		return nil, invalidParams("unknown document %s: it is not open and cannot be read", p.TextDocument.URI)
	}
	m := newMapper(string(src), s.utf8)
	want, err := m.span(p.Range)
	if err != nil {
		return nil, invalidParams("%v", err)
	}
	var ds lang.Diagnostics
	if u := s.unitOf(path); u != nil && u.result != nil {
		ds = append(ds, u.result.Diags...)
	}
	ds = append(ds, s.loose[path]...)
	out := []protocol.CodeAction{}
	uri := s.uriOf(path)
	for _, d := range ds {
		if d.File == nil || d.File.Name != path || d.File.Src != string(src) || len(d.Fixes) == 0 {
			continue
		}
		if d.Subject.End < want.Start || d.Subject.Start > want.End {
			continue
		}
		pd := s.toProtocol(lang.Diagnostics{d})[0]
		for _, fix := range d.Fixes {
			out = append(out, protocol.CodeAction{
				Title:       fmt.Sprintf("Replace `%s` with `%s`", d.File.Src[d.Subject.Start:d.Subject.End], fix.Replace),
				Kind:        protocol.QuickFix,
				Diagnostics: []protocol.Diagnostic{pd},
				IsPreferred: len(d.Fixes) == 1,
				Edit: &protocol.WorkspaceEdit{Changes: map[protocol.DocumentURI][]protocol.TextEdit{
					uri: {{Range: pd.Range, NewText: fix.Replace}},
				}},
			})
		}
	}
	return out, nil
}
