package grammargen

import (
	"slices"
	"strings"
)

// term is what may come next in the input: a literal (matched by its
// value, whatever the token type), a token type, or any token that can
// start an expression.
type term struct {
	kind  Kind // Lit, Tok, or Capture for an expression
	value string
}

// terms is an ordered set of terms.
type terms []term

func (ts *terms) add(t term) {
	if !slices.Contains(*ts, t) {
		*ts = append(*ts, t)
	}
}

func (ts *terms) addAll(o terms) {
	for _, t := range o {
		ts.add(t)
	}
}

func (ts terms) lits() []string {
	var out []string
	for _, t := range ts {
		if t.kind == Lit {
			out = append(out, t.value)
		}
	}
	return out
}

var anyExpr = term{Capture, "Expr"}

// first returns the terms that can start n.
func (g *Grammar) first(n *Node) terms {
	var out terms
	switch n.Kind {
	case Seq:
		for _, it := range n.Items {
			out.addAll(g.first(it))
			if !g.nullable(it) {
				break
			}
		}
	case Alt:
		for _, it := range n.Items {
			out.addAll(g.first(it))
		}
	case Opt, Star, Plus, Lookahead:
		out = g.first(n.Items[0])
	case Lit, Tok:
		out.add(term{n.Kind, n.Value})
	case Capture:
		out = g.firstOf(n.Field.Elem)
	}
	return out
}

// firstOf returns the terms that can start a struct or union.
func (g *Grammar) firstOf(name string) terms {
	if u := g.Unions[name]; u != nil {
		var out terms
		for _, m := range u.Members {
			out.addAll(g.firstOf(m))
		}
		return out
	}
	s := g.Structs[name]
	if s.Rule == nil {
		return terms{anyExpr}
	}
	return g.first(s.Rule)
}

func (g *Grammar) nullable(n *Node) bool {
	switch n.Kind {
	case Seq:
		for _, it := range n.Items {
			if !g.nullable(it) {
				return false
			}
		}
		return true
	case Alt:
		return slices.ContainsFunc(n.Items, g.nullable)
	case Opt, Star, Lookahead:
		return true
	case Plus:
		return g.nullable(n.Items[0])
	case Capture:
		if s := g.Structs[n.Field.Elem]; s != nil && s.Rule != nil {
			return g.nullable(s.Rule)
		}
	}
	return false
}

// tokenTerms names token types as syntax errors do (see lang's
// termDescriptions).
var tokenTerms = map[string]string{
	"Ident": "<ident>", "String": "StringLit", "Duration": "Duration", "Percent": "Percent",
	"Clock": "Clock", "DotDot": "<dotdot>", "Float": "<float>", "Int": "<int>", "EOL": "<eol>",
}

// tokenConsts names token types in lang's code.
var tokenConsts = map[string]string{
	"Ident": "tokIdent", "String": "tokString", "Duration": "tokDuration", "Percent": "tokPercent",
	"Clock": "tokClock", "DotDot": "tokDotDot", "Float": "tokFloat", "Int": "tokInt", "EOL": "tokEOL",
}

// termOf is the term a syntax error names when a struct is missing: the
// term of its first element when that is a single token or struct
// (`<ident>` for a Ref), else the struct's name (`Assignee`).
func (g *Grammar) termOf(name string) string {
	s := g.Structs[name]
	if s == nil || s.Rule == nil {
		return name
	}
	first := s.Rule
	if first.Kind == Seq {
		first = first.Items[0]
	}
	switch first.Kind {
	case Tok:
		return tokenTerms[first.Value]
	case Capture:
		if g.Structs[first.Field.Elem] != nil {
			return g.termOf(first.Field.Elem)
		}
	}
	return name
}

// wants returns the terms a syntax error names when n is missing: its
// leading elements up to the first it requires.
func (g *Grammar) wants(n *Node) []string {
	var out []string
	add := func(ws ...string) {
		for _, w := range ws {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	switch n.Kind {
	case Seq:
		for _, it := range n.Items {
			add(g.wants(it)...)
			if !g.nullable(it) {
				break
			}
		}
	case Alt:
		for _, it := range n.Items {
			add(g.wants(it)...)
		}
	case Opt, Star, Plus:
		add(g.wants(n.Items[0])...)
	case Lit:
		add(`"` + n.Value + `"`)
	case Tok:
		add(tokenTerms[n.Value])
	case Capture:
		add(g.termOf(n.Field.Elem))
	}
	return out
}

// follow computes what can come after each struct and union.
func (g *Grammar) follow() map[string]terms {
	fol := map[string]terms{"Decl": {term{Tok, "EOF"}}}
	for changed := true; changed; {
		changed = false
		add := func(sym string, ts terms) {
			cur := fol[sym]
			n := len(cur)
			cur.addAll(ts)
			if len(cur) != n {
				fol[sym] = cur
				changed = true
			}
		}
		var walk func(n *Node, after terms)
		walk = func(n *Node, after terms) {
			switch n.Kind {
			case Seq:
				cur := after
				for i := len(n.Items) - 1; i >= 0; i-- {
					it := n.Items[i]
					walk(it, cur)
					next := slices.Clone(g.first(it))
					if g.nullable(it) && it.Kind != Lookahead {
						next.addAll(cur) // a lookahead says what comes next
					}
					cur = next
				}
			case Alt:
				for _, it := range n.Items {
					walk(it, after)
				}
			case Opt:
				walk(n.Items[0], after)
			case Star, Plus:
				next := slices.Clone(g.first(n.Items[0]))
				next.addAll(after)
				walk(n.Items[0], next)
			case Capture:
				add(n.Field.Elem, after)
			}
		}
		for _, name := range g.Order {
			if s := g.Structs[name]; s.Rule != nil {
				walk(s.Rule, fol[name])
			}
		}
		for _, name := range g.UnionSeq {
			for _, m := range g.Unions[name].Members {
				add(m, fol[name])
			}
		}
	}
	return fol
}

// exprStopWords returns the keywords that can follow an expression, which
// end it (see lang's Expr). Other tokens that can follow one either end
// every expression (a new line, `->`, `{`) or are taken into it (the `,`
// between the entries of an owner block, after `user EXPR`).
func (g *Grammar) exprStopWords() []string {
	var words []string
	for _, t := range g.follow()["Expr"] {
		if t.kind == Lit && isWord(t.value) {
			words = append(words, t.value)
		}
	}
	slices.Sort(words)
	return words
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// render writes n as a tag would.
func render(n *Node) string {
	cap := func(s string, f *Field) string {
		if f != nil {
			return "@" + s
		}
		return s
	}
	switch n.Kind {
	case Seq:
		var parts []string
		for _, it := range n.Items {
			parts = append(parts, render(it))
		}
		return strings.Join(parts, " ")
	case Alt:
		var parts []string
		for _, it := range n.Items {
			parts = append(parts, render(it))
		}
		return "( " + strings.Join(parts, " | ") + " )"
	case Opt, Star, Plus:
		s := render(n.Items[0])
		if k := n.Items[0].Kind; k == Seq {
			s = "( " + s + " )"
		}
		return s + map[Kind]string{Opt: "?", Star: "*", Plus: "+"}[n.Kind]
	case Lookahead:
		return "(?= " + strings.TrimSuffix(strings.TrimPrefix(render(n.Items[0]), "( "), " )") + " )"
	case Lit:
		return cap(`"`+n.Value+`"`, n.Field)
	case Tok:
		return cap(n.Value, n.Field)
	case Capture:
		return "@@"
	}
	return "?"
}

func mustRule(tag string) string {
	p := &tagParser{}
	toks, err := lexTag(tag, &Field{Name: "X", Elem: "X"})
	if err != nil {
		panic(err)
	}
	p.toks = toks
	n, err := p.alternatives()
	if err != nil {
		panic(err)
	}
	return render(n)
}

// The shapes of braces that hold statements or items. A block of
// statements and a list of fields or values recover from errors inside
// them (see block and list in lang/fastparse.go). Each follows a "{".
var (
	blockShape = []string{mustRule(`EOL*`), mustRule(`( @@ (?= EOL | "}" ) EOL* )*`), mustRule(`"}"`)}
	listShape  = []string{mustRule(`EOL*`), mustRule(`( @@ (?= EOL | "," | "}" ) ( "," EOL* | EOL+ )? )*`), mustRule(`"}"`)}
	// Entries, several to a line, as in an owner block: no recovery.
	entriesShape = []string{mustRule(`EOL*`), mustRule(`( @@ ( EOL | "," )* )*`), mustRule(`"}"`)}
)

// braces reports whether items[i] is a "{" that opens a block or a list,
// with the capture of its statements or items.
func braces(items []*Node, i int) (shape string, item *Node) {
	if it := items[i]; it.Kind != Lit || it.Value != "{" || i+3 >= len(items) {
		return "", nil
	}
	rest := []string{render(items[i+1]), render(items[i+2]), render(items[i+3])}
	switch {
	case slices.Equal(rest, blockShape):
		return "block", items[i+2].Items[0].Items[0]
	case slices.Equal(rest, listShape):
		return "list", items[i+2].Items[0].Items[0]
	case slices.Equal(rest, entriesShape):
		return "entries", items[i+2].Items[0].Items[0]
	}
	return "", nil
}

// itemOf finds the capture of the statements or items a struct's braces
// hold.
func itemOf(n *Node) *Node {
	switch n.Kind {
	case Seq:
		for i := range n.Items {
			if shape, item := braces(n.Items, i); shape != "" {
				return item
			}
			if it := itemOf(n.Items[i]); it != nil {
				return it
			}
		}
	case Alt, Opt, Star, Plus:
		for _, it := range n.Items {
			if c := itemOf(it); c != nil {
				return c
			}
		}
	}
	return nil
}

// directStructs returns the structs captured by n itself, not inside them.
func directStructs(g *Grammar, n *Node, out *[]string) {
	switch n.Kind {
	case Capture:
		if g.Structs[n.Field.Elem] != nil {
			*out = append(*out, n.Field.Elem)
		}
	case Seq, Alt, Opt, Star, Plus:
		for _, it := range n.Items {
			directStructs(g, it, out)
		}
	}
}
