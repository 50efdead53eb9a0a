package grammargen

import (
	"strings"
	"testing"
)

// mini is a small grammar in the form of lang/ast.go.
const mini = `package lang

type Decl interface {
	Span() Span
	decl()
}

type Ident struct {
	Node
	Name string ` + "`parser:\"@Ident\"`" + `
}

type Expr struct {
	Node
	Text string
}

// Box is a block.
//
//lead:block box a box
//lead:usage ` + "`box NAME { STATEMENTS }`" + `
type Box struct {
	Node
	Name  *Ident ` + "`parser:\"\\\"box\\\" @@ \\\"{\\\" EOL*\"`" + `
	Stmts []Stmt ` + "`parser:\"( @@ (?= EOL | \\\"}\\\" ) EOL* )* \\\"}\\\"\"`" + `
}

type Stmt interface {
	Span() Span
	stmt()
}

// Put is a statement.
//
//lead:usage ` + "`put EXPRESSION [into NAME]`" + `
type Put struct {
	Node
	Value *Expr  ` + "`parser:\"\\\"put\\\" @@\"`" + `
	Into  *Ident ` + "`parser:\"( \\\"into\\\" @@ )?\"`" + `
}

func (*Box) decl() {}
func (*Put) stmt() {}
`

func TestMini(t *testing.T) {
	files, err := Generate([]byte(mini))
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[ParserFile])
	for _, want := range []string{
		`var topLevelKeywords = []string{"box"}`,
		`"box": {"a box", []string{"put"}},`,
		`"box put": "` + "`put EXPRESSION [into NAME]`" + `",`,
		`"into": true,`, // a keyword after an expression ends it
		"n.Stmts = block(p, p.parseStmt)",
		`case "put":`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated parser lacks %s\n%s", want, src)
		}
	}
	if !strings.Contains(string(files[TestFile]), "participle.Union[Stmt](&Put{})") {
		t.Errorf("no union list:\n%s", files[TestFile])
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"//lead:usage `put EXPRESSION [into NAME]`", "", "Put has no //lead:usage for `put`"},
		{"//lead:usage `put", "//lead:usage `pull x`\n//lead:usage `put", "does not start with `pull`"},
		{"//lead:block box a box", "", "no block holds the union Stmt"},
		{"// Put is a statement.\n//", "// Put is a statement.\n//\n//lead:in crate", "//lead:in crate, but no block of that kind holds Stmt"},
		{"// Put is a statement.\n//", "// Put is a statement.\n//\n//lead:frobnicate", "unknown directive //lead:frobnicate"},
		{"type Ident struct", "// Ident.\n//\n//lead:usage `ident`\ntype Ident struct", "Ident starts no statement or declaration"},
		{"func (*Put) stmt() {}", "func (*Put) stmt() {}\nfunc (*Ident) stmt() {}\nfunc (*Expr) stmt() {}", "Expr"},
		{`\"put\" @@`, `\"put\" (?= Ident ) @@`, "a lookahead outside the braces"},
		{`\"put\" @@`, `\"put\" @ ( \"a\" \"b\" )`, "captures only terminals"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if !strings.Contains(mini, tc.old) {
				t.Fatalf("the grammar has no %q", tc.old)
			}
			_, err := Generate([]byte(strings.Replace(mini, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
