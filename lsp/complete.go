package lsp

import (
	"context"
	"slices"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib"
)

// completion proposes what may be written at the cursor. The context
// (the block the cursor is in, the statement so far, the word before) is
// read from the tokens of the current declaration, which need not parse;
// the names come from the workflow's index as last analysed, so
// completion answers at once while the user types, errors or not.
func (s *session) completion(_ context.Context, req jsonrpc2.Request) (any, error) {
	_, pl, err := decodeAt(s, req, func(p *protocol.CompletionParams) protocol.TextDocumentPositionParams {
		return p.TextDocumentPositionParams
	})
	if err != nil {
		return nil, err
	}
	ix := s.latestIndex(pl.path)
	items := complete(pl.text, pl.offset, ix)
	return protocol.CompletionList{IsIncomplete: false, Items: items}, nil
}

// latestIndex returns the index of the last analysis of the workflow
// holding path, analysing it only if it never was.
func (s *session) latestIndex(path string) *compiler.Index {
	for _, p := range append([]string{path}, s.unitsReading(path)...) {
		if u := s.units[p]; u != nil && u.result != nil {
			return u.result.Index
		}
	}
	if u := s.unitOf(path); u != nil && u.result != nil {
		return u.result.Index
	}
	return compiler.BuildIndex(nil)
}

// declStart finds where the top-level declaration holding offset starts:
// the last line before it that starts in column 1 with a declaration
// keyword.
func declStart(src string, offset int) int {
	top := lang.BlockKeywords("")
	for i := offset; i > 0; i-- {
		if src[i-1] != '\n' {
			continue
		}
		word, _, _ := wordAt(src, i)
		if i < len(src) && slices.Contains(top, word) && strings.HasPrefix(src[i:], word) {
			return i
		}
	}
	return 0
}

// cursor is the syntactic context of a completion.
type cursor struct {
	block  string       // kind of the innermost open block ("" at top level)
	opener []lang.Token // the statement that opened that block
	stmt   []lang.Token // the statement so far, before the word being typed
	cell   string       // the cell the cursor is in
}

func (c cursor) last(n int) string {
	if len(c.stmt) < n {
		return ""
	}
	return c.stmt[len(c.stmt)-n].Text
}

func (c cursor) has(word string) bool {
	return slices.ContainsFunc(c.stmt, func(t lang.Token) bool { return t.Text == word })
}

// contextAt reads the context of offset from the tokens of its
// declaration; ok is false inside a comment or a string.
func contextAt(src string, offset int) (cursor, bool) {
	start := declStart(src, offset)
	var c cursor
	type frame struct {
		kind   string
		opener []lang.Token
	}
	var stack []frame
	for _, t := range lang.Tokens(src[start:offset], start) {
		switch {
		case t.Kind == lang.TokComment:
			if t.End() >= offset && (strings.HasPrefix(t.Text, "//") || !strings.HasSuffix(t.Text, "*/")) {
				return c, false
			}
			continue
		case t.Kind == lang.TokString && (t.End() > offset || len(t.Text) < 2 || t.Text[len(t.Text)-1] != t.Text[0]):
			return c, false
		case t.Kind == lang.TokEOL:
			c.stmt = nil
			continue
		case t.Text == "{":
			kind := lang.BlockKindOf(first(c.stmt))
			if first(c.stmt) == "member" {
				kind = "member"
			}
			if first(c.stmt) == "cell" && len(c.stmt) > 1 {
				c.cell = c.stmt[1].Text
			}
			stack = append(stack, frame{kind, c.stmt})
			c.stmt = nil
			continue
		case t.Text == "}":
			if len(stack) > 0 {
				if stack[len(stack)-1].kind == "cell" {
					c.cell = ""
				}
				stack = stack[:len(stack)-1]
			}
			c.stmt = nil
			continue
		}
		// In a one-line owner block each RACI keyword starts an entry.
		if len(stack) > 0 && stack[len(stack)-1].kind == "owner" && slices.Contains(lang.BlockKeywords("owner"), t.Text) {
			c.stmt = nil
		}
		c.stmt = append(c.stmt, t)
	}
	if len(stack) > 0 {
		c.block, c.opener = stack[len(stack)-1].kind, stack[len(stack)-1].opener
	}
	if len(c.stmt) > 0 {
		if t := c.stmt[len(c.stmt)-1]; t.Kind == lang.TokIdent && t.End() == offset {
			c.stmt = c.stmt[:len(c.stmt)-1] // the word being typed
		}
	}
	return c, true
}

func first(toks []lang.Token) string {
	if len(toks) == 0 {
		return ""
	}
	return toks[0].Text
}

// complete returns the completion items at offset.
func complete(src string, offset int, ix *compiler.Index) []protocol.CompletionItem {
	c, ok := contextAt(src, offset)
	if !ok {
		return []protocol.CompletionItem{}
	}
	var out []protocol.CompletionItem
	add := func(kind protocol.CompletionItemKind, detail string, labels ...string) {
		for _, l := range labels {
			out = append(out, protocol.CompletionItem{Label: l, Kind: kind, Detail: detail})
		}
	}
	names := func(kinds ...string) []string {
		var ns []string
		for _, s := range ix.Symbols {
			if slices.Contains(kinds, s.Kind) && !slices.Contains(ns, s.Name) {
				ns = append(ns, s.Name)
			}
		}
		return ns
	}
	symbols := func(detail string, kinds ...string) {
		add(protocol.CompletionItemKindReference, detail, names(kinds...)...)
	}
	targets := func() {
		for _, s := range ix.Symbols {
			switch s.Kind {
			case compiler.SymStage:
				add(protocol.CompletionItemKindEnumMember, "stage", s.Name)
			case compiler.SymCell:
				add(protocol.CompletionItemKindModule, "cell (its assess stage)", s.Name)
			case compiler.SymCellPart:
				add(protocol.CompletionItemKindEnumMember, "cell stage", s.Name)
			}
		}
		if c.cell != "" {
			add(protocol.CompletionItemKindEnumMember, "this cell's stage", "assess", "advance", "develop")
		}
	}
	last, prev := c.last(1), c.last(2)
	switch {
	case len(c.stmt) == 0:
		switch c.block {
		case "values":
			if first(c.opener) == "send" && len(c.opener) > 1 && c.opener[1].Text != "updated" {
				eventFields(add, ix, []string{c.opener[1].Text})
			} else {
				symbols("lead field", compiler.SymField)
			}
		case "lead", "event", "member":
		default:
			add(protocol.CompletionItemKindKeyword, "keyword", lang.BlockKeywords(c.block)...)
			out = append(out, snippetsFor(c.block)...)
		}
	case last == "." && prev == "lead":
		symbols("lead field", compiler.SymField)
		for _, f := range ir.BuiltinAttrs {
			add(protocol.CompletionItemKindField, "built-in, read-only: "+f.Type.String(), f.Name)
		}
	case last == "." && prev == "event":
		eventFields(add, ix, handlerEvents(c))
		add(protocol.CompletionItemKindField, "built in", "type", "at")
	case last == "." && ix.Find(compiler.SymCell, prev) != nil:
		add(protocol.CompletionItemKindEnumMember, "cell stage", "assess", "advance", "develop")
	case last == "->" && c.block == "routing":
		add(protocol.CompletionItemKindKeyword, "owner", "route", "team", "role", "user")
	case last == "->" || last == "start":
		targets()
	case last == "exception":
		add(protocol.CompletionItemKindEnumMember, "exception kind", ir.ExceptionKinds...)
	case last == "on" && first(c.stmt) == "waive":
		targets()
	case last == "until" && first(c.stmt) == "waive":
	case last == "on" && len(c.stmt) > 1 && slices.Contains([]string{"after", "sla", "decay", "nurture", "undecided", "recycle"}, first(c.stmt)):
		symbols("calendar", compiler.SymCalendar)
	case last == "on" || last == "until" || last == "send" || (last == "," && slices.Contains([]string{"on", "sla", "accept", "reject", "reassess"}, first(c.stmt)) && !c.has("when")):
		symbols("event", compiler.SymEvent)
		add(protocol.CompletionItemKindEvent, "built-in event", ir.EventCaptured, ir.EventUpdated)
		if last == "on" && len(c.stmt) == 1 && c.block != "score" {
			add(protocol.CompletionItemKindKeyword, "keyword", "exception")
		}
	case last == "accountable" || last == "consulted" || last == "informed" || last == "escalate" || last == "manager":
		symbols("role", compiler.SymRole)
	case last == "notify":
		symbols("role", compiler.SymRole)
		add(protocol.CompletionItemKindKeyword, "the stage's owner", "responsible", "accountable", "consulted", "informed")
	case last == "responsible" || last == "assign":
		add(protocol.CompletionItemKindKeyword, "owner", "route", "team", "role", "user")
	case last == "team":
		symbols("team", compiler.SymTeam)
	case last == "role":
		symbols("role", compiler.SymRole)
	case last == "route":
		symbols("routing", compiler.SymRouting)
	case last == "calendar" && c.block == "team":
		symbols("calendar", compiler.SymCalendar)
	case last == "strategy":
		add(protocol.CompletionItemKindEnumMember, "strategy", ir.RoundRobin, ir.Weighted, ir.LeastLoaded, ir.BestFit)
	case last == "conforms":
		symbols("standard", compiler.SymStandard)
		add(protocol.CompletionItemKindModule, "standard library", stdlib.Modules()...)
	case last == "use":
		add(protocol.CompletionItemKindModule, "standard library", stdlib.Modules()...)
	case last == "lifecycle":
		for _, s := range ix.Symbols {
			if s.Kind == compiler.SymLifecycle {
				add(protocol.CompletionItemKindEnumMember, "lifecycle stage of "+s.Parent.Name, strings.TrimPrefix(s.Name, s.Parent.Name+"."))
			}
		}
	case inExpression(c):
		add(protocol.CompletionItemKindVariable, "the lead", "lead")
		add(protocol.CompletionItemKindVariable, "timestamp: the runtime's clock", "now")
		if len(handlerEvents(c)) > 0 {
			add(protocol.CompletionItemKindVariable, "the event being handled", "event")
		}
		for _, fn := range compiler.FunctionNames() {
			sig, doc, _ := compiler.Function(fn)
			out = append(out, protocol.CompletionItem{Label: fn, Kind: protocol.CompletionItemKindFunction, Detail: sig,
				Documentation: doc, InsertText: fn + "($1)", InsertTextFormat: protocol.InsertTextFormatSnippet})
		}
		for fn, f := range celFunctions {
			out = append(out, protocol.CompletionItem{Label: fn, Kind: protocol.CompletionItemKindFunction, Detail: f[0], Documentation: f[1]})
		}
	}
	if out == nil {
		out = []protocol.CompletionItem{}
	}
	slices.SortStableFunc(out, func(a, b protocol.CompletionItem) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// eventFields adds the payload fields of events.
func eventFields(add func(protocol.CompletionItemKind, string, ...string), ix *compiler.Index, events []string) {
	var seen []string
	for _, s := range ix.Symbols {
		if s.Kind != compiler.SymEventField || s.Parent == nil || !slices.Contains(events, s.Parent.Name) {
			continue
		}
		name := strings.TrimPrefix(s.Name, s.Parent.Name+".")
		if slices.Contains(seen, name) {
			continue
		}
		seen = append(seen, name)
		detail := "field of event " + s.Parent.Name
		if f, ok := s.Decl.(*lang.Field); ok {
			detail = s.File.Src[f.Type.Span().Start:f.Type.Span().End] + " — " + detail
		}
		add(protocol.CompletionItemKindField, detail, name)
	}
}

// handlerEvents are the events of the `on E, F when ...` statement (or a
// score rule, or a statement in a block it opened) around the cursor.
func handlerEvents(c cursor) []string {
	for _, st := range [][]lang.Token{c.stmt, c.opener} {
		if first(st) != "on" || (len(st) > 1 && st[1].Text == "exception") {
			continue
		}
		var evs []string
		for _, t := range st[1:] {
			if t.Text == "when" || t.Text == "->" || t.Text == "{" || t.Text == "add" {
				break
			}
			if t.Kind == lang.TokIdent {
				evs = append(evs, t.Text)
			}
		}
		return evs
	}
	return nil
}

// inExpression reports whether the cursor is inside a CEL expression.
func inExpression(c cursor) bool {
	switch first(c.stmt) {
	case "expect", "when", "qualify", "disqualify":
		return !c.has("->")
	case "on":
		return c.has("when") && !c.has("->") && !c.has("add")
	case "set":
		return c.has("=")
	case "strategy":
		return c.has("by")
	case "notify", "escalate", "nurture":
		return len(c.stmt) >= 2
	}
	return c.has("user")
}

// snippet is a skeleton inserted with its placeholders.
type snippet struct {
	label, detail, body string
}

var topSnippets = []snippet{
	{"stage", "stage skeleton", "stage ${1:name} {\n  owner { accountable ${2:role}  responsible ${3:role ${2:role}} }\n  on ${4:event} -> ${5:target}\n  after ${6:30d} -> ${7:target}\n}"},
	{"cell", "cell skeleton: assess, advance, develop", "cell ${1:name} {\n  owner { accountable ${2:role}  responsible role ${2:role} }\n  assess {\n    qualify when ${3:lead.fit >= 60}\n  }\n  advance -> ${4:target}\n  develop {\n    nurture every ${5:14d}\n    reassess on ${6:event}\n    recycle after ${7:180d} -> ${8:target}\n  }\n}"},
	{"test", "test skeleton", "test \"${1:what it shows}\" {\n  at \"${2:2026-03-02T09:00:00Z}\"\n  capture { ${3:email = \"a@b.example\"} }\n  send ${4:event}\n  expect lead.stage == \"${5:stage}\"\n}"},
}

var stageSnippets = []snippet{
	{"sla", "SLA skeleton", "sla ${1:first_touch} within ${2:4h} {\n  warn at ${3:50%} { notify responsible \"${4:Half of the SLA is used}\" }\n  breach { escalate ${5:role}; reassign }\n}"},
}

func snippetsFor(block string) []protocol.CompletionItem {
	var list []snippet
	switch block {
	case "":
		list = topSnippets
	case "stage", "assess", "advance", "develop":
		list = stageSnippets
	}
	var out []protocol.CompletionItem
	for _, sn := range list {
		out = append(out, protocol.CompletionItem{Label: sn.label + "…", FilterText: sn.label, Kind: protocol.CompletionItemKindSnippet,
			Detail: sn.detail, InsertText: sn.body, InsertTextFormat: protocol.InsertTextFormatSnippet})
	}
	return out
}
