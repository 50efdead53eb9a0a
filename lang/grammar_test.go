package lang

import (
	"reflect"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
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
	return participle.MustBuild[declRoot](
		participle.Lexer(Lexer),
		participle.Elide("Comment"),
		participle.Union[Decl](
			&Workflow{}, &Start{}, &Conforms{}, &Use{}, &Waive{}, &LeadSchema{}, &Event{}, &Role{},
			&Team{}, &Calendar{}, &Routing{}, &OwnerBlock{}, &On{}, &Score{}, &Stage{}, &Cell{},
			&Standard{}, &Test{},
		),
		participle.Union[TeamStmt](&Strategy{}, &Capacity{}, &TeamCalendar{}, &Member{}),
		participle.Union[CalStmt](&Timezone{}, &Hours{}, &Holiday{}),
		participle.Union[ScoreStmt](&ScoreRule{}, &Decay{}, &Limit{}),
		participle.Union[CellPart](&OwnerBlock{}, &Assess{}, &Advance{}, &Develop{}),
		participle.Union[StandardStmt](&StandardStages{}, &Require{}),
		participle.Union[TestStmt](&At{}, &Capture{}, &Send{}, &Wait{}, &Expect{}),
		participle.Union[StageStmt](
			&Lifecycle{}, &OwnerBlock{}, &EnterExit{}, &On{}, &When{}, &After{}, &SLA{},
			&Disqualify{}, &Qualify{}, &Undecided{}, &Route{}, &Accept{}, &Reject{},
			&Nurture{}, &Reassess{}, &Recycle{},
		),
		participle.Union[SLAClause](&Warn{}, &Breach{}),
		participle.Union[Action](&Set{}, &Assign{}, &Reassign{}, &Notify{}, &Escalate{}, &Move{}),
		participle.UseLookahead(0),
	)
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
