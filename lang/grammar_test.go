package lang

import (
	"bytes"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/leadlang/lead/lang/internal/grammargen"
)

// The participle grammar (the struct tags of ast.go, built here) is the
// normative definition of Lead's syntax. The parser that runs is the
// hand-written fastParser, which recovers from errors and reports what it
// expected; the parity test and FuzzParse hold the two to accepting the
// same declarations with the same ASTs.

// declRoot is the grammar's entry point: one top-level declaration. Files are
// parsed one declaration at a time (see Parse).
type declRoot struct {
	Decl Decl `parser:"@@"`
}

// declParser is built on first use.
var declParser = sync.OnceValue(func() *participle.Parser[declRoot] {
	opts := []participle.Option{participle.Lexer(Lexer), participle.Elide("Comment"), participle.UseLookahead(0)}
	return participle.MustBuild[declRoot](append(opts, grammarUnions()...)...)
})

// parseDeclParticiple parses one declaration's tokens with the participle
// grammar.
func parseDeclParticiple(toks []lexer.Token, eof lexer.Token) (*declRoot, error) {
	pl, err := lexer.Upgrade(&sliceLexer{toks: toks, eof: eof}, tokComment)
	if err != nil {
		panic(err) // sliceLexer never fails
	}
	return declParser().ParseFromLexer(pl)
}

// trimEnds moves the end of every node under v back over trailing
// whitespace. participle ends a node where the next token starts, and
// whitespace makes no token; the fast parser ends it after its last token.
// The parity test needs this to compare the two.
func trimEnds(v reflect.Value, src string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			trimEnds(v.Elem(), src)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			trimEnds(v.Index(i), src)
		}
	case reflect.Struct:
		if n, ok := v.Addr().Interface().(*Node); ok {
			for n.EndPos.Offset > n.Pos.Offset && n.EndPos.Offset <= len(src) && isSpace(src[n.EndPos.Offset-1]) {
				n.EndPos.Offset--
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				trimEnds(v.Field(i), src)
			}
		}
	}
}

// TestGeneratedGrammar fails when grammar_gen.go or grammar_gen_test.go
// is not what the grammar in ast.go generates: run go generate ./lang.
func TestGeneratedGrammar(t *testing.T) {
	src, err := os.ReadFile("ast.go")
	if err != nil {
		t.Fatal(err)
	}
	files, err := grammargen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what ast.go generates: run go generate ./lang", name)
		}
	}
}

// TestGrammarTermsDescribed: every term the parser can name as expected
// has words for users (termDescriptions), so that a node added to the
// grammar cannot make a message say "unexpected" where it should say
// what was expected.
func TestGrammarTermsDescribed(t *testing.T) {
	for _, term := range grammarTerms {
		if describeTerm(term) == "" {
			t.Errorf("the grammar term %s has no words in termDescriptions (errors.go)", term)
		}
	}
}
