package lsp

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
)

// place is a position in a document a request names.
type place struct {
	path   string
	text   string
	m      *mapper
	offset int
}

// locate resolves a request's document and position. A document that is
// neither open nor on disk, or a position outside it, is an error.
func (s *session) locate(td protocol.TextDocumentIdentifier, pos protocol.Position) (place, error) {
	path := pathOf(td.URI)
	src, err := s.read(path)
	if err != nil {
		return place{}, invalidParams("unknown document %s: it is not open and cannot be read", td.URI)
	}
	p := place{path: path, text: string(src), m: newMapper(string(src), s.utf8)}
	if p.offset, err = p.m.offset(pos); err != nil {
		return place{}, invalidParams("%v", err)
	}
	return p, nil
}

// positioned is the params of every request at a position in a document.
type positioned interface {
	protocol.HoverParams | protocol.DefinitionParams | protocol.ReferenceParams | protocol.CompletionParams
}

// decodeAt decodes a request's params and locates its position.
func decodeAt[P positioned](s *session, req jsonrpc2.Request, at func(*P) protocol.TextDocumentPositionParams) (P, place, error) {
	var p P
	if err := decode(req, &p); err != nil {
		return p, place{}, err
	}
	tp := at(&p)
	pl, err := s.locate(tp.TextDocument, tp.Position)
	return p, pl, err
}

// symbolAt returns the compiled workflow holding the place and the
// symbol named there, if any.
func (s *session) symbolAt(p place) (*unit, *compiler.Symbol, lang.Span) {
	u := s.unitOf(p.path)
	if u == nil || u.result == nil || u.result.Index == nil {
		return u, nil, lang.Span{}
	}
	sym, span, ok := u.result.Index.At(p.path, p.offset)
	if !ok {
		return u, nil, lang.Span{}
	}
	return u, sym, span
}

func (s *session) location(f *lang.File, span lang.Span) protocol.Location {
	return protocol.Location{URI: s.uriOf(f.Name), Range: newMapper(f.Src, s.utf8).rng(span)}
}

func (s *session) definition(_ context.Context, req jsonrpc2.Request) (any, error) {
	_, pl, err := decodeAt(s, req, func(p *protocol.DefinitionParams) protocol.TextDocumentPositionParams {
		return p.TextDocumentPositionParams
	})
	if err != nil {
		return nil, err
	}
	_, sym, _ := s.symbolAt(pl)
	if sym == nil || strings.HasPrefix(sym.File.Name, "<") {
		return nil, nil
	}
	return []protocol.Location{s.location(sym.File, sym.Span)}, nil
}

// occurrence is one place a symbol's name is written.
type occurrence struct {
	file *lang.File
	span lang.Span
	decl bool
}

// occurrences lists where a symbol's name is written: its declaration and
// its uses, in every workflow that reads the file declaring it (a
// standard's stages are used by all the workflows that conform to it).
func (s *session) occurrences(ctx context.Context, sym *compiler.Symbol) ([]occurrence, error) {
	out := []occurrence{{file: sym.File, span: sym.Span, decl: true}}
	seen := map[string]bool{}
	units := s.unitsReading(sym.File.Name)
	slices.Sort(units)
	for _, p := range units {
		if ctx.Err() != nil {
			return nil, errCancelled
		}
		u := s.units[p]
		if u.stale {
			s.compile(u)
		}
		if u.result == nil || u.result.Index == nil {
			continue
		}
		same := u.result.Index.Find(sym.Kind, sym.Name)
		if same == nil {
			continue
		}
		for _, r := range u.result.Index.Uses(same) {
			k := fmt.Sprintf("%s\x00%d", r.File.Name, r.Span.Start)
			if !seen[k] {
				seen[k] = true
				out = append(out, occurrence{file: r.File, span: r.Span})
			}
		}
	}
	return out, nil
}

func (s *session) references(ctx context.Context, req jsonrpc2.Request) (any, error) {
	p, pl, err := decodeAt(s, req, func(p *protocol.ReferenceParams) protocol.TextDocumentPositionParams {
		return p.TextDocumentPositionParams
	})
	if err != nil {
		return nil, err
	}
	_, sym, _ := s.symbolAt(pl)
	if sym == nil {
		return []protocol.Location{}, nil
	}
	occ, err := s.occurrences(ctx, sym)
	if err != nil {
		return nil, err
	}
	out := []protocol.Location{}
	for _, o := range occ {
		if (o.decl && !p.Context.IncludeDeclaration) || strings.HasPrefix(o.file.Name, "<") {
			continue
		}
		out = append(out, s.location(o.file, o.span))
	}
	return out, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// renamable says why a symbol cannot be renamed, or "".
func renamable(sym *compiler.Symbol) string {
	switch {
	case sym.Std || strings.HasPrefix(sym.File.Name, "<"):
		return fmt.Sprintf("%s `%s` comes from the standard library and cannot be renamed", sym.Kind, sym.Name)
	case sym.Kind == compiler.SymCellPart:
		return "a cell's stages are always named assess, advance and develop; rename the cell instead"
	case sym.Kind == compiler.SymTest:
		return "a test's name is a string: edit it in place"
	}
	return ""
}

// renameTarget finds the symbol a rename request is at, or says why
// there is none to rename.
func (s *session) renameTarget(p protocol.TextDocumentPositionParams) (place, *unit, *compiler.Symbol, lang.Span, error) {
	pl, err := s.locate(p.TextDocument, p.Position)
	if err != nil {
		return pl, nil, nil, lang.Span{}, err
	}
	u, sym, span := s.symbolAt(pl)
	if sym == nil {
		return pl, nil, nil, span, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "there is no name to rename here")
	}
	if why := renamable(sym); why != "" {
		return pl, nil, nil, span, jsonrpc2.NewError(jsonrpc2.InvalidRequest, why)
	}
	return pl, u, sym, span, nil
}

func (s *session) prepareRename(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.PrepareRenameParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	pl, _, _, span, err := s.renameTarget(p.TextDocumentPositionParams)
	if err != nil {
		return nil, err
	}
	return pl.m.rng(span), nil
}

// builtinNames cannot be declared, so nothing can be renamed to them.
func builtinNames(kind string) []string {
	switch kind {
	case compiler.SymField:
		var out []string
		for _, f := range ir.BuiltinAttrs {
			out = append(out, f.Name)
		}
		return out
	case compiler.SymEvent:
		return []string{ir.EventCaptured, ir.EventUpdated}
	case compiler.SymEventField:
		return []string{"type", "at"}
	}
	return nil
}

// clash returns the declaration a new name would collide with: the same
// kind (stages and cells share one namespace), in the same event or
// standard for fields and lifecycle stages.
func clash(ix *compiler.Index, sym *compiler.Symbol, newName string) *compiler.Symbol {
	full := newName
	if sym.Parent != nil && (sym.Kind == compiler.SymEventField || sym.Kind == compiler.SymLifecycle || sym.Kind == compiler.SymSLA) {
		full = sym.Parent.Name + "." + newName
	}
	kinds := []string{sym.Kind}
	if sym.Kind == compiler.SymStage || sym.Kind == compiler.SymCell {
		kinds = []string{compiler.SymStage, compiler.SymCell}
	}
	for _, k := range kinds {
		if other := ix.Find(k, full); other != nil && other != sym {
			return other
		}
	}
	return nil
}

func (s *session) rename(ctx context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.RenameParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	_, u, sym, _, err := s.renameTarget(p.TextDocumentPositionParams)
	if err != nil {
		return nil, err
	}
	old := bareName(sym)
	switch {
	case !identRE.MatchString(p.NewName):
		return nil, invalidParams("%q is not a valid name: names are letters, digits and _, starting with a letter or _", p.NewName)
	case p.NewName == old:
		return nil, invalidParams("`%s` already has that name", old)
	case slices.Contains(builtinNames(sym.Kind), p.NewName):
		return nil, invalidParams("`%s` is built in and cannot name a %s", p.NewName, sym.Kind)
	}
	if other := clash(u.result.Index, sym, p.NewName); other != nil {
		at := newMapper(other.File.Src, s.utf8).position(other.Span.Start)
		return nil, invalidParams("cannot rename %s `%s` to `%s`: %s `%s` already exists (%s:%d:%d)",
			sym.Kind, old, p.NewName, other.Kind, p.NewName, other.File.Name, at.Line+1, at.Character+1)
	}
	occ, err := s.occurrences(ctx, sym)
	if err != nil {
		return nil, err
	}
	edits := map[protocol.DocumentURI][]protocol.TextEdit{}
	for _, o := range occ {
		if o.file.Src[o.span.Start:o.span.End] != old || strings.HasPrefix(o.file.Name, "<") {
			continue // a qualified or std use, which keeps its name
		}
		uri := s.uriOf(o.file.Name)
		edits[uri] = append(edits[uri], protocol.TextEdit{Range: newMapper(o.file.Src, s.utf8).rng(o.span), NewText: p.NewName})
	}
	return protocol.WorkspaceEdit{Changes: edits}, nil
}

// bareName is the name as written at the declaration.
func bareName(sym *compiler.Symbol) string { return sym.File.Src[sym.Span.Start:sym.Span.End] }
