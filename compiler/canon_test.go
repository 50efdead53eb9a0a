package compiler

import (
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/lang"
)

func TestCanonicalExpr(t *testing.T) {
	for _, c := range [][2]string{
		{"lead.fit+1>=60", "lead.fit + 1 >= 60"},
		{"lead.fit + lead.engagement   >=  60", "lead.fit + lead.engagement >= 60"},
		{"((lead.segment == \"enterprise\" ? 30 : 0)\n   - (is_free_email(lead.email) ? 20 : 0))",
			`((lead.segment == "enterprise" ? 30 : 0) - (is_free_email(lead.email) ? 20 : 0))`},
		{"-lead.fit", "-lead.fit"},
		{"1 - -2", "1 - -2"},
		{"a-b", "a - b"},
		{"!has( lead.x ) && lead.x.size()>0", "!has(lead.x) && lead.x.size() > 0"},
		{`lead.region in ["na","emea"]`, `lead.region in ["na", "emea"]`},
		{`{"a":1, "b" : 2}["a"]`, `{"a": 1, "b": 2}["a"]`},
		{`x[0] // trailing`, `x[0]`},
		{`"a  b" + 'c // d'`, `"a  b" + 'c // d'`},
		{`r"x\" + b'y'`, `r"x\" + b'y'`},
		{`1.5e-3*2`, `1.5e-3 * 2`},
		{`lead.tags.exists(t, t=="vip")`, `lead.tags.exists(t, t == "vip")`},
		{`(a) - (b)`, `(a) - (b)`},
		{`f(-1, !x)`, `f(-1, !x)`},
		{`a ? -1 : -2`, `a ? -1 : -2`},
		{`"unterminated`, `"unterminated`},
	} {
		if got := canonicalExpr(c[0]); got != c[1] {
			t.Errorf("canonicalExpr(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestCanonicalExprSameAST: the canonical text of every expression of the
// examples and of a generated workflow parses to the same CEL AST as the
// original, so the runtime runs what was checked.
func TestCanonicalExprSameAST(t *testing.T) {
	env, err := cel.NewEnv(cel.Variable("x", types.DynType))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, src := range corpusSources(t) {
		f, _ := lang.Parse(name, src)
		c := newCompilation(f, Options{})
		c.run()
		for _, j := range c.exprs {
			orig, iss := env.Parse(j.expr.Text)
			if iss.Err() != nil {
				t.Fatalf("%s: %v", j.expr.Text, iss.Err())
			}
			canon, iss := env.Parse(j.out.Src)
			if iss.Err() != nil {
				t.Fatalf("canonical %q of %q does not parse: %v", j.out.Src, j.expr.Text, iss.Err())
			}
			a, _ := cel.AstToString(orig)
			b, _ := cel.AstToString(canon)
			if a != b {
				t.Errorf("%q became %q: %s vs %s", j.expr.Text, j.out.Src, a, b)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d expressions compared", n)
	}
}
