package lsp

import (
	"context"
	"slices"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
)

// parsed parses a request's document as the editor sees it.
func (s *session) parsed(td protocol.TextDocumentIdentifier) (*lang.File, *mapper, error) {
	f, _, err := s.parse(pathOf(td.URI))
	if err != nil {
		return nil, nil, invalidParams("unknown document %s: it is not open and cannot be read", td.URI)
	}
	return f, newMapper(f.Src, s.utf8), nil
}

// documentSymbol is the outline: the declarations of a file, cells with
// their three stages, stages with their SLAs, and tests. It needs only
// the file's parse, so it works on any file.
func (s *session) documentSymbol(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DocumentSymbolParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	f, m, err := s.parsed(p.TextDocument)
	if err != nil {
		return nil, err
	}
	sym := func(name, detail string, kind protocol.SymbolKind, whole, sel lang.Span) protocol.DocumentSymbol {
		return protocol.DocumentSymbol{Name: name, Detail: detail, Kind: kind, Range: m.rng(whole), SelectionRange: m.rng(sel)}
	}
	out := []protocol.DocumentSymbol{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *lang.Workflow:
			out = append(out, sym(d.Name.Name, "workflow", protocol.SymbolKindModule, d.Span(), d.Name.Span()))
		case *lang.LeadSchema:
			ds := sym("lead", "schema", protocol.SymbolKindStruct, d.Span(), lang.Span{Start: d.Span().Start, End: d.Span().Start + len("lead")})
			for _, fd := range d.Fields {
				ds.Children = append(ds.Children, sym(fd.Name.Name, f.Src[fd.Type.Span().Start:fd.Type.Span().End], protocol.SymbolKindField, fd.Span(), fd.Name.Span()))
			}
			out = append(out, ds)
		case *lang.Event:
			ds := sym(d.Name.Name, "event", protocol.SymbolKindEvent, d.Span(), d.Name.Span())
			for _, fd := range d.Fields {
				ds.Children = append(ds.Children, sym(fd.Name.Name, f.Src[fd.Type.Span().Start:fd.Type.Span().End], protocol.SymbolKindField, fd.Span(), fd.Name.Span()))
			}
			out = append(out, ds)
		case *lang.Role:
			out = append(out, sym(d.Name.Name, "role", protocol.SymbolKindInterface, d.Span(), d.Name.Span()))
		case *lang.Team:
			out = append(out, sym(d.Name.Name, "team", protocol.SymbolKindClass, d.Span(), d.Name.Span()))
		case *lang.Calendar:
			out = append(out, sym(d.Name.Name, "calendar", protocol.SymbolKindObject, d.Span(), d.Name.Span()))
		case *lang.Routing:
			out = append(out, sym(d.Name.Name, "routing", protocol.SymbolKindFunction, d.Span(), d.Name.Span()))
		case *lang.Score:
			out = append(out, sym(d.Field.Name, "score", protocol.SymbolKindProperty, d.Span(), d.Field.Span()))
		case *lang.Stage:
			detail := "stage"
			if d.Terminal {
				detail = "terminal stage"
			}
			ds := sym(d.Name.Name, detail, protocol.SymbolKindEnumMember, d.Span(), d.Name.Span())
			ds.Children = slaSymbols(d.Stmts, sym)
			out = append(out, ds)
		case *lang.Cell:
			ds := sym(d.Name.Name, "cell", protocol.SymbolKindNamespace, d.Span(), d.Name.Span())
			for _, part := range d.Parts {
				kw, stmts, ok := lang.CellStage(part)
				if !ok {
					continue
				}
				start := part.Span().Start
				c := sym(d.Name.Name+"."+kw, "stage", protocol.SymbolKindEnumMember, part.Span(), lang.Span{Start: start, End: start + len(kw)})
				c.Children = slaSymbols(stmts, sym)
				ds.Children = append(ds.Children, c)
			}
			out = append(out, ds)
		case *lang.Standard:
			out = append(out, sym(d.Name.Name, "standard", protocol.SymbolKindPackage, d.Span(), d.Name.Span()))
		case *lang.Test:
			out = append(out, sym(d.Name.Value(), "test", protocol.SymbolKindMethod, d.Span(), d.Name.Span()))
		}
	}
	return out, nil
}

func slaSymbols(stmts []lang.StageStmt, sym func(string, string, protocol.SymbolKind, lang.Span, lang.Span) protocol.DocumentSymbol) []protocol.DocumentSymbol {
	var out []protocol.DocumentSymbol
	for _, st := range stmts {
		if sla, ok := st.(*lang.SLA); ok {
			out = append(out, sym(sla.Name.Name, "sla", protocol.SymbolKindConstant, sla.Span(), sla.Name.Span()))
		}
	}
	return out
}

// symbolKinds maps the index's kinds to LSP's.
var symbolKinds = map[string]protocol.SymbolKind{
	compiler.SymStage: protocol.SymbolKindEnumMember, compiler.SymCellPart: protocol.SymbolKindEnumMember,
	compiler.SymCell: protocol.SymbolKindNamespace, compiler.SymEvent: protocol.SymbolKindEvent,
	compiler.SymEventField: protocol.SymbolKindField, compiler.SymField: protocol.SymbolKindField,
	compiler.SymRole: protocol.SymbolKindInterface, compiler.SymTeam: protocol.SymbolKindClass,
	compiler.SymRouting: protocol.SymbolKindFunction, compiler.SymCalendar: protocol.SymbolKindObject,
	compiler.SymStandard: protocol.SymbolKindPackage, compiler.SymLifecycle: protocol.SymbolKindEnumMember,
	compiler.SymSLA: protocol.SymbolKindConstant, compiler.SymTest: protocol.SymbolKindMethod,
	compiler.SymRule: protocol.SymbolKindFunction,
}

// workspaceSymbol finds declarations in every workflow of the workspace
// whose name contains the query (case-insensitive).
func (s *session) workspaceSymbol(ctx context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.WorkspaceSymbolParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	s.flush()
	q := strings.ToLower(p.Query)
	out := []protocol.SymbolInformation{}
	seen := map[string]bool{}
	var paths []string
	for path := range s.units {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	for _, path := range paths {
		if ctx.Err() != nil {
			return nil, errCancelled
		}
		r := s.units[path].result
		if r == nil || r.Index == nil {
			continue
		}
		for _, sym := range r.Index.Symbols {
			key := sym.File.Name + "\x00" + sym.Kind + "\x00" + sym.Name
			if seen[key] || strings.HasPrefix(sym.File.Name, "<") || !strings.Contains(strings.ToLower(sym.Name), q) {
				continue
			}
			seen[key] = true
			info := protocol.SymbolInformation{Name: sym.Name, Kind: symbolKinds[sym.Kind], Location: s.location(sym.File, sym.Span)}
			if sym.Parent != nil {
				info.ContainerName = sym.Parent.Name
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// foldingRange folds every declaration and block that spans lines, and
// runs of comments.
func (s *session) foldingRange(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.FoldingRangeParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	f, m, err := s.parsed(p.TextDocument)
	if err != nil {
		return nil, err
	}
	out := []protocol.FoldingRange{}
	add := func(sp lang.Span, kind protocol.FoldingRangeKind) {
		a, b := m.position(sp.Start), m.position(sp.End)
		if b.Line > a.Line {
			out = append(out, protocol.FoldingRange{StartLine: a.Line, EndLine: b.Line, Kind: kind})
		}
	}
	for _, d := range f.Decls {
		add(d.Span(), "")
		walkBlocks(d, func(sp lang.Span) { add(sp, "") })
	}
	for _, c := range f.Comments {
		add(c.Span, protocol.CommentFoldingRange)
	}
	return out, nil
}

// walkBlocks calls fn with the range of every statement inside d that has
// a block of its own.
func walkBlocks(d any, fn func(lang.Span)) {
	var stage func([]lang.StageStmt)
	actions := func(b *lang.ActionBlock) {
		if b != nil {
			fn(b.Span())
		}
	}
	stage = func(stmts []lang.StageStmt) {
		for _, st := range stmts {
			switch st := st.(type) {
			case *lang.OwnerBlock:
				fn(st.Span())
			case *lang.EnterExit:
				actions(st.Actions)
			case *lang.On:
				actions(st.Actions)
			case *lang.When:
				actions(st.Actions)
			case *lang.After:
				actions(st.Actions)
			case *lang.SLA:
				fn(st.Span())
				for _, c := range st.Clauses {
					fn(c.Span())
				}
			}
		}
	}
	switch d := d.(type) {
	case *lang.Stage:
		stage(d.Stmts)
	case *lang.Cell:
		for _, p := range d.Parts {
			fn(p.Span())
			if _, stmts, ok := lang.CellStage(p); ok {
				stage(stmts)
			}
		}
	case *lang.On:
		actions(d.Actions)
	}
}
