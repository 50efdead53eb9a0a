package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
)

// hover describes the name under the cursor: its declaration as written
// and, for stages and cells, what the compiler made of them (the RACI
// after owner defaults, SLAs, every transition); or the signature and doc
// of a stdlib function.
func (s *session) hover(_ context.Context, req jsonrpc2.Request) (any, error) {
	_, pl, err := decodeAt(s, req, func(p *protocol.HoverParams) protocol.TextDocumentPositionParams { return p.TextDocumentPositionParams })
	if err != nil {
		return nil, err
	}
	u, sym, span := s.symbolAt(pl)
	var text string
	if sym != nil {
		var w *ir.Workflow
		if u != nil {
			w = u.ir
		}
		text = describe(sym, w)
	} else if name, sp, ok := wordAt(pl.text, pl.offset); ok {
		if fn := functionDoc(name, pl.text[sp.End:]); fn != "" {
			text, span = fn, sp
		}
	}
	if text == "" {
		return nil, nil
	}
	r := pl.m.rng(span)
	return protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: text}, Range: &r}, nil
}

// wordAt returns the identifier around offset.
func wordAt(src string, off int) (string, lang.Span, bool) {
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	start, end := off, off
	for start > 0 && isWord(src[start-1]) {
		start--
	}
	for end < len(src) && isWord(src[end]) {
		end++
	}
	if start == end {
		return "", lang.Span{}, false
	}
	return src[start:end], lang.Span{Start: start, End: end}, true
}

// functionDoc documents a function called by name (rest is the text
// after the name, which must open its arguments).
func functionDoc(name, rest string) string {
	if !strings.HasPrefix(strings.TrimLeft(rest, " \t"), "(") {
		return ""
	}
	if sig, doc, ok := compiler.Function(name); ok {
		return fmt.Sprintf("```\n%s\n```\n%s", sig, doc)
	}
	if f, ok := celFunctions[name]; ok {
		return fmt.Sprintf("```\n%s\n```\n%s", f[0], f[1])
	}
	return ""
}

// celFunctions are CEL's own functions that workflows use most, with
// their signatures and a line of doc.
var celFunctions = map[string][2]string{
	"size":       {"size(string | list | map) int", "The length of a string (in code points), list or map."},
	"has":        {"has(object.field) bool", "Whether an optional field is present: has(lead.country)."},
	"int":        {"int(value) int", "Converts a number, string or timestamp to an integer."},
	"double":     {"double(value) float", "Converts a number or string to a float."},
	"string":     {"string(value) string", "Converts a value to its text."},
	"timestamp":  {"timestamp(string) timestamp", "Parses an RFC 3339 time such as \"2026-03-02T09:00:00Z\"."},
	"duration":   {"duration(string) duration", "Parses a duration such as \"4h\" or \"90m\"."},
	"matches":    {"string.matches(regex string) bool", "Whether the string matches an RE2 regular expression."},
	"contains":   {"string.contains(sub string) bool", "Whether the string contains sub."},
	"startsWith": {"string.startsWith(prefix string) bool", "Whether the string starts with prefix."},
	"endsWith":   {"string.endsWith(suffix string) bool", "Whether the string ends with suffix."},
	"lowerAscii": {"string.lowerAscii() string", "The string with ASCII letters in lower case."},
	"upperAscii": {"string.upperAscii() string", "The string with ASCII letters in upper case."},
	"trim":       {"string.trim() string", "The string without leading and trailing white space."},
	"split":      {"string.split(sep string) list<string>", "The parts of the string between separators."},
	"exists":     {"list.exists(x, predicate) bool", "Whether some element satisfies the predicate."},
	"all":        {"list.all(x, predicate) bool", "Whether every element satisfies the predicate."},
	"filter":     {"list.filter(x, predicate) list", "The elements that satisfy the predicate."},
	"map":        {"list.map(x, expression) list", "The expression applied to every element."},
	"escalated":  {"escalated(role string) bool", "In tests: whether the lead was escalated to the role; compared with a number (`escalated(\"vp\") == 2`), how many times."},
	"notified":   {"notified(role string) bool", "In tests: whether the role was notified about the lead."},
	"stuck":      {"stuck() bool", "In tests: whether the lead is stuck, waiting for an operator."},
	"sla":        {"sla(name string) string", "In tests: the SLA's last outcome: started, restarted, warned, met, breached, cancelled or exempt (\"\" before it started)."},
}

// describe renders a symbol as Markdown: what it is, its declaration, and
// facts from the compiled workflow w (nil when the workflow has errors and
// never compiled).
func describe(sym *compiler.Symbol, w *ir.Workflow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** `%s`", sym.Kind, sym.Name)
	switch d := sym.Decl.(type) {
	case *lang.Field:
		fmt.Fprintf(&b, "\n```lead\n%s\n```", source(sym.File, d.Span()))
		if sym.Kind == compiler.SymField {
			switch {
			case d.Optional:
				b.WriteString("\noptional: test it with `has(lead." + d.Name.Name + ")`")
			case d.Default == nil:
				b.WriteString("\nrequired: every capture must give it")
			}
		}
	case *lang.Stage, *lang.Assess, *lang.Advance, *lang.Develop:
		b.WriteString(stageFacts(sym, w))
	case *lang.Cell:
		b.WriteString("\nstages: ")
		for i, part := range []string{"assess", "advance", "develop"} {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "`%s.%s`", sym.Name, part)
		}
		for _, part := range []string{"assess", "advance", "develop"} {
			if w != nil {
				if st := w.Stage(sym.Name + "." + part); st != nil {
					fmt.Fprintf(&b, "\n\n**%s**%s", st.Name, stageBody(st))
				}
			}
		}
	case *lang.Role:
		fmt.Fprintf(&b, "\n```lead\n%s\n```", source(sym.File, d.Span()))
		if w != nil {
			b.WriteString(roleUses(sym.Name, w))
		}
	case *lang.Ident: // a standard's lifecycle stage
		if sym.Parent != nil {
			fmt.Fprintf(&b, "\nof standard `%s`", sym.Parent.Name)
		}
	default:
		if n, ok := sym.Decl.(interface{ Span() lang.Span }); ok {
			fmt.Fprintf(&b, "\n```lead\n%s\n```", source(sym.File, n.Span()))
		}
	}
	return b.String()
}

// source is a declaration's text, cut after 30 lines.
func source(f *lang.File, sp lang.Span) string {
	text := f.Src[sp.Start:sp.End]
	if lines := strings.Split(text, "\n"); len(lines) > 30 {
		text = strings.Join(lines[:30], "\n") + "\n  ..."
	}
	return text
}

func stageFacts(sym *compiler.Symbol, w *ir.Workflow) string {
	if w == nil {
		return "\n\n(the workflow has errors: fix them to see this stage's owners, SLAs and transitions)"
	}
	st := w.Stage(sym.Name)
	if st == nil {
		return ""
	}
	return stageBody(st)
}

// stageBody lists a compiled stage's lifecycle, RACI, SLAs and
// transitions.
func stageBody(st *ir.Stage) string {
	var b strings.Builder
	if st.Terminal {
		b.WriteString(" (terminal)")
	}
	if st.Lifecycle != "" {
		fmt.Fprintf(&b, "\n- lifecycle: `%s`", st.Lifecycle)
	}
	o := st.Owner
	raci := []string{}
	if o.Responsible != nil {
		raci = append(raci, "R: "+o.Responsible.String())
	}
	if o.Accountable != "" {
		raci = append(raci, "A: "+o.Accountable)
	}
	if len(o.Consulted) > 0 {
		raci = append(raci, "C: "+strings.Join(o.Consulted, ", "))
	}
	if len(o.Informed) > 0 {
		raci = append(raci, "I: "+strings.Join(o.Informed, ", "))
	}
	if len(raci) > 0 {
		fmt.Fprintf(&b, "\n- RACI: %s", strings.Join(raci, " · "))
	}
	for _, sla := range st.SLAs {
		line := fmt.Sprintf("\n- SLA `%s` within %s", sla.Name, ir.DescribeLength(sla.Within, sla.Written, sla.Calendar, sla.Choices))
		if sla.Clock != "" {
			line += " from " + sla.Clock
		}
		if len(sla.Until) > 0 {
			line += " until " + strings.Join(sla.Until, ", ")
		}
		b.WriteString(line)
	}
	for _, t := range st.On {
		fmt.Fprintf(&b, "\n- on %s%s → `%s`", strings.Join(t.Events, ", "), guard(t.Guard), t.Target)
	}
	for _, t := range st.When {
		if t.Guard == nil {
			fmt.Fprintf(&b, "\n- at once → `%s`", t.Target)
			continue
		}
		fmt.Fprintf(&b, "\n- when `%s` → `%s`", t.Guard.Src, t.Target)
	}
	for _, t := range st.After {
		fmt.Fprintf(&b, "\n- after %s → `%s`", ir.DescribeLength(t.After, t.Written, t.Calendar, t.Choices), t.Target)
	}
	return b.String()
}

func guard(e *ir.Expr) string {
	if e == nil {
		return ""
	}
	return " when `" + e.Src + "`"
}

// roleUses lists the stages where a role is accountable, consulted or
// informed.
func roleUses(role string, w *ir.Workflow) string {
	var a, c, i []string
	for _, st := range w.Stages {
		if st.Owner.Accountable == role {
			a = append(a, st.Name)
		}
		for _, x := range st.Owner.Consulted {
			if x == role {
				c = append(c, st.Name)
			}
		}
		for _, x := range st.Owner.Informed {
			if x == role {
				i = append(i, st.Name)
			}
		}
	}
	var b strings.Builder
	for _, l := range []struct {
		what   string
		stages []string
	}{{"accountable for", a}, {"consulted in", c}, {"informed in", i}} {
		if len(l.stages) > 0 {
			fmt.Fprintf(&b, "\n- %s: %s", l.what, strings.Join(l.stages, ", "))
		}
	}
	return b.String()
}
