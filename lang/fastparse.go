package lang

import (
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The participle grammar in ast.go is the specification of Lead's syntax.
// participle interprets it through reflection, allocating for every
// alternative it tries, which is too slow for the LSP's parse-per-keystroke
// on a large workflow, and it stops at the first error with one message.
// fastParser is the parser that runs: recursive descent for the same
// grammar, generated from ast.go (grammar_gen.go: a parse function a node,
// a dispatcher a union) on the runtime in this file. Inside blocks it
// recovers from errors, skipping a
// broken statement to its end, so a declaration with errors still yields
// a partial AST (see BadStmt) for the language server; and it records
// what it looked for at each token (wanted), so its first failure says
// what the grammar expected there (syntaxFailure), from which
// syntaxError words the diagnostic. A parity test and a fuzzer
// (grammar_test.go) check that participle and fastParser accept the same
// declarations and build the same AST, as the lexer's do for scan and
// referenceRules.
//
// It follows participle's rules exactly: literals match by value whatever
// the token type, and with lookahead 0 an optional or repeated group that
// consumed a token must complete (so `[1, ]` is an error, as in participle).
// A node spans from its first token to the end of its last token.
type fastParser struct {
	toks []lexer.Token // one declaration's tokens, comments included
	eof  lexer.Token
	i    int // index of the next non-comment token
	end  int // end offset of the last consumed token
	// broken is set once a statement inside a block failed to parse and
	// was skipped (see recoverStmt).
	broken bool

	// far is the index of the furthest token at which the parser looked
	// for something it did not find, and want what it looked for there:
	// at a failure, what the grammar would have accepted.
	far  int
	want []wanted
	// err is the first failure: the error the declaration is reported with.
	err *syntaxFailure
}

// syntaxFailure is where a declaration stopped parsing and what the
// grammar expected there, in the grammar's terms: a quoted keyword or
// punctuation (`"}"`), a token kind (`<ident>`, `Duration`) or a node
// (`Expr`, `ActionBlock`). want is nil when a statement was complete but
// more followed it on its line. bracket is set for brackets in an
// expression that do not pair up.
type syntaxFailure struct {
	tok     lexer.Token
	want    []string
	bracket *bracketError
}

// wanted is a term the grammar looked for: a literal (lit), written
// quoted in a syntaxFailure, or a term written as it is.
type wanted struct {
	term string
	lit  bool
}

func (w wanted) String() string {
	if w.lit {
		return `"` + w.term + `"`
	}
	return w.term
}

// wanted records that the grammar looked for term at the current token.
func (p *fastParser) wanted(term string) { p.record(wanted{term, false}) }

// record records that the grammar looked for w at the current token. It
// runs at every optional part that is absent, so it does not allocate
// (literals are quoted only at a failure).
func (p *fastParser) record(w wanted) {
	switch {
	case p.i > p.far:
		p.far, p.want = p.i, append(p.want[:0], w)
	case p.i == p.far && !slices.Contains(p.want, w):
		p.want = append(p.want, w)
	}
}

// failed records the first failure of the declaration: at the furthest
// token looked at, with what was wanted there.
func (p *fastParser) failed() {
	switch {
	case p.err != nil:
	case p.i > p.far:
		// Nothing was looked for here: a word that starts nothing.
		p.err = &syntaxFailure{tok: *p.peek()}
	default:
		tok := p.eof
		if p.far < len(p.toks) {
			tok = p.toks[p.far]
		}
		want := make([]string, len(p.want))
		for i, w := range p.want {
			want[i] = w.String()
		}
		p.err = &syntaxFailure{tok: tok, want: want}
	}
}

// trailing records a statement (or declaration) that was complete with
// something more on its line.
func (p *fastParser) trailing() {
	if p.err == nil {
		p.err = &syntaxFailure{tok: *p.peek()}
		if p.far == p.i && p.peek().Type == tokIdent && slices.Contains(p.want, wanted{"->", true}) {
			// A name where the statement could still take `->` is a
			// target without its arrow (`on closed_won won`).
			p.err.want = []string{`"->"`}
		}
	}
	p.fail()
}

// fastFail aborts a fast parse of a statement (recoverStmt catches it in
// a block) or of the declaration.
type fastFail struct{}

// parseDeclFast parses one declaration from toks, which must hold nothing
// else. clean reports whether it parsed without an error. A declaration
// with errors inside its blocks is still returned, partial: each broken
// statement is skipped (and kept as a BadStmt where the block holds
// statements), so an editor can complete, hover and outline inside the
// declaration being typed. d is nil when even its head did not parse.
func parseDeclFast(toks []lexer.Token, eof lexer.Token) (d Decl, clean bool, failure *syntaxFailure) {
	p := &fastParser{toks: toks, eof: eof, far: -1}
	p.skipComments()
	defer func() {
		if r := recover(); r != nil {
			if _, fail := r.(fastFail); !fail {
				panic(r)
			}
			p.failed()
			d, clean, failure = nil, false, p.err
		}
	}()
	d = p.decl()
	if !p.peek().EOF() {
		p.trailing()
	}
	return d, !p.broken, p.err
}

func (p *fastParser) fail() { panic(fastFail{}) }

// try runs fn and reports whether it parsed, recovering from its failure.
func (p *fastParser) try(fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, fail := r.(fastFail); !fail {
				panic(r)
			}
			ok = false
		}
	}()
	fn()
	return true
}

// recoverStmt skips the rest of a statement that failed to parse, from
// start (the index of its first token): to the end of its line, or to the
// `}` that closes the block it is in, whichever comes first outside the
// braces the statement opened. It returns the skipped statement's range,
// and false when the declaration ends first (the block is never closed).
func (p *fastParser) recoverStmt(start int) (Node, bool) {
	p.broken = true
	p.failed()
	p.i = max(p.i, start)
	depth := 0
	for {
		t := p.peek()
		switch {
		case t.EOF():
			return p.node(p.toks[start].Pos), false
		case t.Type == tokEOL && depth == 0:
			return p.node(p.toks[start].Pos), true
		case t.Type == tokPunct && t.Value == "{":
			depth++
		case t.Type == tokPunct && t.Value == "}":
			if depth == 0 {
				return p.node(p.toks[start].Pos), true
			}
			depth--
		}
		p.next()
	}
}

func (p *fastParser) skipComments() {
	for p.i < len(p.toks) && p.toks[p.i].Type == tokComment {
		p.i++
	}
}

func (p *fastParser) peek() *lexer.Token {
	if p.i >= len(p.toks) {
		return &p.eof
	}
	return &p.toks[p.i]
}

func (p *fastParser) next() *lexer.Token {
	t := p.peek()
	if t.EOF() {
		p.fail()
	}
	p.end = t.Pos.Offset + len(t.Value)
	p.i++
	p.skipComments()
	return t
}

// at reports whether the next token is v, recording nothing.
func (p *fastParser) at(v string) bool { return p.peek().Value == v && !p.peek().EOF() }

// is reports whether the next token is v; when not, v is among what the
// grammar wanted here.
func (p *fastParser) is(v string) bool {
	if p.at(v) {
		return true
	}
	p.record(wanted{v, true})
	return false
}

func (p *fastParser) accept(v string) bool {
	if p.is(v) {
		p.next()
		return true
	}
	return false
}

func (p *fastParser) expect(v string) {
	if !p.accept(v) {
		p.fail()
	}
}

// termOf names a token type as the grammar does.
var termOf = map[lexer.TokenType]string{
	tokIdent: "<ident>", tokString: "StringLit", tokDuration: "Duration", tokPercent: "Percent",
	tokClock: "Clock", tokDotDot: "<dotdot>", tokFloat: "<float>", tokInt: "<int>", tokEOL: "<eol>",
}

func (p *fastParser) expectType(t lexer.TokenType) *lexer.Token {
	if p.peek().Type != t {
		p.wanted(termOf[t])
		p.fail()
	}
	return p.next()
}

// need fails, wanting term, unless ok.
func (p *fastParser) need(ok bool, term string) {
	if !ok {
		p.wanted(term)
		p.fail()
	}
}

func (p *fastParser) skipEOLs() {
	for p.peek().Type == tokEOL {
		p.next()
	}
}

// node returns the range from pos to the end of the last consumed token.
func (p *fastParser) node(pos lexer.Position) Node {
	return Node{Pos: pos, EndPos: lexer.Position{Filename: pos.Filename, Offset: p.end}}
}

func (p *fastParser) pos() lexer.Position { return p.peek().Pos }

// block parses `EOL* ( STMT (?= EOL | "}") EOL* )* "}"`; one parses a
// statement or reports that none starts here. A statement that fails to
// parse, or a word that starts none, is skipped to its end and kept as a
// BadStmt (when T can hold one); parsing goes on with the next statement.
func block[T any](p *fastParser, one func() (T, bool)) []T {
	p.skipEOLs()
	var out []T
	for !p.is("}") && !p.peek().EOF() {
		start := p.i
		var s T
		var found bool
		if p.try(func() {
			s, found = one()
			if found && p.peek().Type != tokEOL && !p.at("}") {
				p.trailing()
			}
		}) && found {
			out = append(out, s)
		} else {
			n, _ := p.recoverStmt(start)
			if b, isT := any(&BadStmt{Node: n}).(T); isT {
				out = append(out, b)
			}
		}
		p.skipEOLs()
	}
	closeBlock(p)
	return out
}

// closeBlock consumes the `}` that ends a block. A block the declaration
// ends inside (the user is still typing it) ends there, as an error.
func closeBlock(p *fastParser) {
	if p.peek().EOF() {
		p.broken = true
		return
	}
	p.expect("}")
}

// list parses `EOL* ( ITEM (?= EOL | "," | "}") ( "," EOL* | EOL+ )? )* "}"`
// for items starting with a name. An item that fails to parse is skipped
// to the next `,`, line or `}`.
func list[T any](p *fastParser, item func() T) []T {
	p.skipEOLs()
	var out []T
	for !p.is("}") && !p.peek().EOF() {
		start := p.i
		var it T
		if p.peek().Type != tokIdent {
			p.wanted("<ident>")
		}
		if p.peek().Type == tokIdent && p.try(func() {
			it = item()
			if p.peek().Type != tokEOL && !p.at(",") && !p.at("}") {
				p.trailing()
			}
		}) {
			out = append(out, it)
		} else {
			p.broken = true
			p.failed()
			p.i = max(p.i, start+1)
			for t := p.peek(); !t.EOF() && t.Type != tokEOL && !p.at(",") && !p.at("}"); t = p.peek() {
				p.next()
			}
		}
		p.accept(",")
		p.skipEOLs()
	}
	closeBlock(p)
	return out
}

// optExpr parses an expression as Expr.Parse does, or returns nil when
// none starts here.
func (p *fastParser) optExpr() *Expr {
	first := p.peek()
	if exprEnds(first, "") {
		p.wanted("Expr")
		return nil
	}
	start := p.i
	var stack [16]*lexer.Token
	open := stack[:0] // unclosed brackets, innermost last
	prev := ""
	last := first
	for {
		t := p.peek()
		if len(open) == 0 && exprEnds(t, prev) {
			break
		}
		if t.EOF() {
			p.bracketFail(&bracketError{Open: *open[len(open)-1]})
		}
		switch t.Value {
		case "(", "[", "{":
			if t.Type == tokOpen || t.Type == tokPunct {
				open = append(open, t)
			}
		case ")", "]", "}":
			if t.Type == tokClose || t.Type == tokPunct {
				if top := open[len(open)-1]; closerOf[top.Value] != t.Value {
					p.bracketFail(&bracketError{Open: *top, Close: t})
				}
				open = open[:len(open)-1]
			}
		}
		prev = t.Value
		last = p.next()
	}
	e := &Expr{Node: p.node(first.Pos), Text: sourceBetween(first, last)}
	for _, t := range p.toks[start:p.i] {
		if t.Type == tokComment && strings.HasPrefix(t.Value, "/*") && t.Pos.Offset < p.end {
			e.Text = blankComments(e.Text, first.Pos.Offset, p.toks[start:p.i])
			break
		}
	}
	return e
}

// bracketFail fails on brackets of an expression that do not pair up.
func (p *fastParser) bracketFail(be *bracketError) {
	if p.err == nil {
		p.err = &syntaxFailure{tok: be.Open, bracket: be}
	}
	p.fail()
}

func (p *fastParser) expr() *Expr {
	e := p.optExpr()
	p.need(e != nil, "Expr")
	return e
}

// startsExpr reports whether an expression starts at the next token.
func (p *fastParser) startsExpr() bool { return !exprEnds(p.peek(), "") }

// decl parses a declaration; it fails, looking for nothing, at a word that
// starts none.
func (p *fastParser) decl() Decl {
	d, ok := p.parseDecl()
	if !ok {
		p.fail()
	}
	return d
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
