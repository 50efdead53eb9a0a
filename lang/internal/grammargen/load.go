// Package grammargen reads Lead's grammar from the source of lang/ast.go
// and writes the code that lang derives from it: the fast parser (one
// function a node, one dispatcher a union), the keyword tables that word
// syntax errors and drive completion, and the participle union lists of
// the grammar test. See docs/language/grammar.md.
//
// The grammar is what ast.go says, in three Go-native forms:
//
//   - each node's participle struct tags (the normative syntax);
//   - each union's members: the marker methods `func (*T) stageStmt() {}`,
//     in the order they are declared (the order of participle's ordered
//     choice, and of keyword lists in messages and completion);
//   - directives in a node's doc comment:
//     //lead:usage `TEXT` (the syntax shown in help, for the keyword TEXT
//     starts with; one line per keyword), //lead:block KIND DESCRIPTION (a
//     node whose braces hold a block of statements or items of that kind),
//     and //lead:in KIND... (a union member listed only in those kinds of
//     block: `qualify` only in a cell's assess).
package grammargen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

// Grammar is the grammar read from ast.go.
type Grammar struct {
	Structs  map[string]*Struct
	Order    []string          // struct names in source order
	Unions   map[string]*Union // by interface name
	UnionSeq []string          // interface names in source order
}

// Struct is a node type with parser tags (or Expr, which parses itself).
type Struct struct {
	Name   string
	Fields map[string]*Field
	Rule   *Node // the grammar of the concatenated tags; nil for Expr
	Usage  []string
	Block  string // kind of block its braces hold, or ""
	What   string // the block's description, e.g. "a stage"
	In     []string
	pos    token.Position
}

// Field is a struct field that a tag captures into.
type Field struct {
	Name string
	Elem string // the element type's name: Ident, StageStmt, string, bool
	Ptr  bool
	List bool
}

// Union is an interface whose members are marked by an unexported method.
type Union struct {
	Name    string
	Marker  string
	Members []string
}

// Kind of grammar node.
type Kind int

const (
	Seq       Kind = iota // Items in order
	Alt                   // one of Items
	Opt                   // Items[0]?
	Star                  // Items[0]*
	Plus                  // Items[0]+
	Lookahead             // (?= Items[0])
	Lit                   // the literal Value
	Tok                   // a token of type Value
	Capture               // @@ into Field
)

// Node is a node of a tag grammar. Lit and Tok capture into Field when
// it is set (`@"{"`, `@Ident`).
type Node struct {
	Kind  Kind
	Items []*Node
	Value string
	Field *Field
}

// Load reads the grammar from the source of ast.go.
func Load(filename string, src []byte) (*Grammar, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	// Expr parses itself (lang/expr.go): the grammar knows it as a
	// struct without a rule.
	g := &Grammar{Structs: map[string]*Struct{"Expr": {Name: "Expr"}}, Unions: map[string]*Union{}}
	markers := map[string]*Union{}
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil {
				doc = gd.Doc
			}
			switch t := ts.Type.(type) {
			case *ast.InterfaceType:
				for _, m := range t.Methods.List {
					if len(m.Names) == 1 && !m.Names[0].IsExported() {
						u := &Union{Name: ts.Name.Name, Marker: m.Names[0].Name}
						g.Unions[u.Name] = u
						g.UnionSeq = append(g.UnionSeq, u.Name)
						markers[u.Marker] = u
					}
				}
			case *ast.StructType:
				s, err := loadStruct(fset, ts.Name.Name, t, doc)
				if err != nil {
					return nil, err
				}
				if s != nil {
					g.Structs[s.Name] = s
					g.Order = append(g.Order, s.Name)
				}
			}
		}
	}
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
			continue
		}
		u := markers[fd.Name.Name]
		if u == nil {
			continue
		}
		star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
		if !ok {
			return nil, fmt.Errorf("%s: the marker %s needs a pointer receiver", fset.Position(fd.Pos()), u.Marker)
		}
		name := star.X.(*ast.Ident).Name
		if name == "BadStmt" {
			continue // recovery's placeholder, not grammar
		}
		if g.Structs[name] == nil || g.Structs[name].Rule == nil {
			return nil, fmt.Errorf("%s: %s is a member of %s but has no grammar", fset.Position(fd.Pos()), name, u.Name)
		}
		u.Members = append(u.Members, name)
	}
	return g, g.check()
}

func loadStruct(fset *token.FileSet, name string, t *ast.StructType, doc *ast.CommentGroup) (*Struct, error) {
	s := &Struct{Name: name, Fields: map[string]*Field{}, pos: fset.Position(t.Pos())}
	var toks []tagToken
	tagged := false
	for _, f := range t.Fields.List {
		if f.Tag == nil || len(f.Names) != 1 {
			continue
		}
		raw, err := strconv.Unquote(f.Tag.Value)
		if err != nil {
			return nil, err
		}
		tag, ok := reflect.StructTag(raw).Lookup("parser")
		if !ok {
			continue
		}
		tagged = true
		fld := &Field{Name: f.Names[0].Name}
		typ := f.Type
		if a, ok := typ.(*ast.ArrayType); ok {
			fld.List, typ = true, a.Elt
		}
		if st, ok := typ.(*ast.StarExpr); ok {
			fld.Ptr, typ = true, st.X
		}
		id, ok := typ.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("%s: field %s.%s has a type the generator does not know", fset.Position(f.Pos()), name, fld.Name)
		}
		fld.Elem = id.Name
		s.Fields[fld.Name] = fld
		ft, err := lexTag(tag, fld)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.%s: %v", fset.Position(f.Pos()), name, fld.Name, err)
		}
		toks = append(toks, ft...)
	}
	if !tagged {
		if name == "Expr" {
			return s, nil
		}
		return nil, nil
	}
	p := &tagParser{toks: toks}
	rule, err := p.alternatives()
	if err == nil && p.i < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: the grammar of %s: %v", s.pos, name, err)
	}
	s.Rule = rule
	if doc != nil {
		for _, c := range doc.List {
			if err := s.directive(c.Text); err != nil {
				return nil, fmt.Errorf("%s: %v", fset.Position(c.Pos()), err)
			}
		}
	}
	return s, nil
}

func (s *Struct) directive(line string) error {
	rest, ok := strings.CutPrefix(line, "//lead:")
	if !ok {
		return nil
	}
	verb, arg, _ := strings.Cut(rest, " ")
	arg = strings.TrimSpace(arg)
	switch verb {
	case "usage":
		if !strings.HasPrefix(arg, "`") {
			return fmt.Errorf("//lead:usage of %s: the syntax is written in backquotes", s.Name)
		}
		s.Usage = append(s.Usage, arg)
	case "block":
		kind, what, _ := strings.Cut(arg, " ")
		if kind == "" || what == "" {
			return fmt.Errorf("//lead:block of %s: write //lead:block KIND DESCRIPTION", s.Name)
		}
		s.Block, s.What = kind, what
	case "in":
		s.In = strings.Fields(arg)
	default:
		return fmt.Errorf("unknown directive //lead:%s", verb)
	}
	return nil
}

// tagToken is a token of a struct tag, with the field whose tag holds it.
type tagToken struct {
	text  string
	field *Field
}

func lexTag(tag string, f *Field) ([]tagToken, error) {
	var out []tagToken
	for i := 0; i < len(tag); {
		c := tag[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"':
			j := i + 1
			for j < len(tag) && tag[j] != '"' {
				if tag[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(tag) {
				return nil, fmt.Errorf("unterminated literal in %q", tag)
			}
			out = append(out, tagToken{tag[i : j+1], f})
			i = j + 1
		case strings.HasPrefix(tag[i:], "@@"):
			out = append(out, tagToken{"@@", f})
			i += 2
		case strings.HasPrefix(tag[i:], "(?="):
			out = append(out, tagToken{"(?=", f})
			i += 3
		case strings.ContainsRune("@()|?*+", rune(c)):
			out = append(out, tagToken{string(c), f})
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(tag) && (tag[j] == '_' || tag[j] >= 'A' && tag[j] <= 'Z' || tag[j] >= 'a' && tag[j] <= 'z' || tag[j] >= '0' && tag[j] <= '9') {
				j++
			}
			out = append(out, tagToken{tag[i:j], f})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q in %q", c, tag)
		}
	}
	return out, nil
}

type tagParser struct {
	toks []tagToken
	i    int
}

func (p *tagParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].text
	}
	return ""
}

func (p *tagParser) alternatives() (*Node, error) {
	var alts []*Node
	for {
		s, err := p.sequence()
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if p.peek() != "|" {
			break
		}
		p.i++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &Node{Kind: Alt, Items: alts}, nil
}

func (p *tagParser) sequence() (*Node, error) {
	s := &Node{Kind: Seq}
	for {
		switch p.peek() {
		case "", "|", ")":
			if len(s.Items) == 1 {
				return s.Items[0], nil
			}
			return s, nil
		}
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, t)
	}
}

func (p *tagParser) term() (*Node, error) {
	n, err := p.atom()
	if err != nil {
		return nil, err
	}
	switch p.peek() {
	case "?":
		n = &Node{Kind: Opt, Items: []*Node{n}}
		p.i++
	case "*":
		n = &Node{Kind: Star, Items: []*Node{n}}
		p.i++
	case "+":
		n = &Node{Kind: Plus, Items: []*Node{n}}
		p.i++
	}
	return n, nil
}

func (p *tagParser) atom() (*Node, error) {
	t := p.toks[p.i]
	p.i++
	switch {
	case t.text == "@@":
		return &Node{Kind: Capture, Field: t.field}, nil
	case t.text == "@":
		if p.i >= len(p.toks) {
			return nil, fmt.Errorf("@ at the end")
		}
		n, err := p.atom()
		if err != nil {
			return nil, err
		}
		if err := captureInto(n, t.field); err != nil {
			return nil, err
		}
		return n, nil
	case t.text == "(" || t.text == "(?=":
		n, err := p.alternatives()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		if t.text == "(?=" {
			return &Node{Kind: Lookahead, Items: []*Node{n}}, nil
		}
		return n, nil
	case strings.HasPrefix(t.text, `"`):
		v, err := strconv.Unquote(t.text)
		if err != nil {
			return nil, err
		}
		return &Node{Kind: Lit, Value: v}, nil
	case t.text[0] == '_' || t.text[0] >= 'A' && t.text[0] <= 'Z' || t.text[0] >= 'a' && t.text[0] <= 'z':
		return &Node{Kind: Tok, Value: t.text}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

// captureInto marks the terminals of n (a literal, a token type, or a
// group of alternatives of them) as captured into f.
func captureInto(n *Node, f *Field) error {
	switch n.Kind {
	case Lit, Tok:
		n.Field = f
	case Alt:
		for _, a := range n.Items {
			if err := captureInto(a, f); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("the generator captures only terminals and alternatives of terminals with @")
	}
	return nil
}

func (g *Grammar) check() error {
	for _, name := range g.Order {
		s := g.Structs[name]
		for _, f := range s.Fields {
			switch {
			case f.Elem == "string" || f.Elem == "bool":
			case g.Structs[f.Elem] != nil || g.Unions[f.Elem] != nil:
			default:
				return fmt.Errorf("%s: %s.%s has type %s, which has no grammar", s.pos, name, f.Name, f.Elem)
			}
		}
	}
	return nil
}
