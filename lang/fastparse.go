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
// fastParser is the parser that runs: hand-written recursive descent for
// the same grammar. Inside blocks it recovers from errors, skipping a
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
	want []string
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

// wanted records that the grammar looked for term at the current token.
func (p *fastParser) wanted(term string) {
	switch {
	case p.i > p.far:
		p.far, p.want = p.i, append(p.want[:0], term)
	case p.i == p.far && !slices.Contains(p.want, term):
		p.want = append(p.want, term)
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
		p.err = &syntaxFailure{tok: tok, want: slices.Clone(p.want)}
	}
}

// trailing records a statement (or declaration) that was complete with
// something more on its line.
func (p *fastParser) trailing() {
	if p.err == nil {
		p.err = &syntaxFailure{tok: *p.peek()}
		if p.far == p.i && p.peek().Type == tokIdent && slices.Contains(p.want, `"->"`) {
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
	p.wanted(`"` + v + `"`)
	return false
}

// alt accepts v, one of several alternatives the grammar allows here.
func (p *fastParser) alt(v string) bool {
	if p.at(v) {
		p.next()
		return true
	}
	p.wanted(`|"` + v + `"`)
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
	tokClock: "Clock", tokDotDot: "<dotdot>",
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

func (p *fastParser) ident() *Ident {
	t := p.expectType(tokIdent)
	return &Ident{Node: p.node(t.Pos), Name: t.Value}
}

func (p *fastParser) identList() []*Ident {
	ids := []*Ident{p.ident()}
	for p.accept(",") {
		ids = append(ids, p.ident())
	}
	return ids
}

func (p *fastParser) ref() *Ref {
	pos := p.pos()
	r := &Ref{Name: p.expectType(tokIdent).Value}
	if p.accept(".") {
		r.Member = p.expectType(tokIdent).Value
	}
	r.Node = p.node(pos)
	return r
}

func (p *fastParser) optRef(keyword string) *Ref {
	if p.accept(keyword) {
		return p.ref()
	}
	p.wanted(`"` + keyword + `"`)
	return nil
}

func (p *fastParser) stringLit() *StringLit {
	t := p.expectType(tokString)
	return &StringLit{Node: p.node(t.Pos), Raw: t.Value}
}

func (p *fastParser) optStringLit() *StringLit {
	if p.peek().Type == tokString {
		return p.stringLit()
	}
	return nil
}

func (p *fastParser) duration() *Duration {
	t := p.expectType(tokDuration)
	return &Duration{Node: p.node(t.Pos), Text: t.Value}
}

func (p *fastParser) percent() *Percent {
	t := p.expectType(tokPercent)
	return &Percent{Node: p.node(t.Pos), Text: t.Value}
}

func (p *fastParser) clock() *Clock {
	t := p.expectType(tokClock)
	return &Clock{Node: p.node(t.Pos), Text: t.Value}
}

func (p *fastParser) number() *Number {
	pos := p.pos()
	p.need(p.at("-") || p.peek().Type == tokFloat || p.peek().Type == tokInt, "Number")
	n := &Number{Neg: p.at("-")}
	if n.Neg {
		p.next()
	}
	if t := p.peek().Type; t != tokFloat && t != tokInt {
		p.wanted("<int>")
		p.fail()
	}
	n.Text = p.next().Value
	n.Node = p.node(pos)
	return n
}

func (p *fastParser) literal() *Literal {
	pos := p.pos()
	l := &Literal{}
	switch t := p.peek(); {
	case t.Value == "-" || t.Type == tokFloat || t.Type == tokInt:
		l.Number = p.number()
	case t.Type == tokString:
		l.String = p.stringLit()
	case t.Value == "true" || t.Value == "false":
		l.Bool = p.next().Value
	case t.Type == tokDuration:
		l.Duration = p.duration()
	case t.Type == tokIdent:
		l.Name = p.ident()
	case t.Value == "[":
		p.next()
		l.IsList = true
		if p.startsLiteral() {
			l.List = append(l.List, p.literal())
			for p.accept(",") {
				l.List = append(l.List, p.literal())
			}
		} else {
			p.wanted("Literal")
		}
		p.expect("]")
	default:
		p.need(false, "Literal")
	}
	l.Node = p.node(pos)
	return l
}

func (p *fastParser) startsLiteral() bool {
	switch t := p.peek(); t.Type {
	case tokFloat, tokInt, tokString, tokDuration, tokIdent:
		return true
	default:
		return t.Value == "-" || t.Value == "["
	}
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

func (p *fastParser) optActions() *ActionBlock {
	if p.at("{") {
		return p.actionBlock()
	}
	p.wanted("ActionBlock")
	return nil
}

// ---------------------------------------------------------------------------
// Declarations

func (p *fastParser) decl() Decl {
	pos := p.pos()
	switch p.peek().Value {
	case "workflow":
		p.next()
		d := &Workflow{Name: p.ident(), Title: p.optStringLit()}
		d.Node = p.node(pos)
		return d
	case "start":
		p.next()
		d := &Start{Target: p.ref()}
		d.Node = p.node(pos)
		return d
	case "conforms":
		p.next()
		d := &Conforms{Standard: p.ref()}
		d.Node = p.node(pos)
		return d
	case "use":
		p.next()
		d := &Use{Module: p.ref()}
		d.Node = p.node(pos)
		return d
	case "waive":
		p.next()
		d := &Waive{Requirement: p.stringLit()}
		d.Reason = p.stringLit()
		d.Node = p.node(pos)
		return d
	case "lead":
		p.next()
		p.expect("{")
		d := &LeadSchema{Fields: list(p, p.field)}
		d.Node = p.node(pos)
		return d
	case "event":
		p.next()
		d := &Event{Name: p.ident()}
		if p.accept("{") {
			d.Braces = true
			d.Fields = list(p, p.field)
		}
		d.Node = p.node(pos)
		return d
	case "role":
		p.next()
		d := &Role{Name: p.ident(), Title: p.optStringLit()}
		d.Node = p.node(pos)
		return d
	case "team":
		p.next()
		d := &Team{Name: p.ident()}
		p.expect("{")
		d.Stmts = block(p, p.teamStmt)
		d.Node = p.node(pos)
		return d
	case "calendar":
		p.next()
		d := &Calendar{Name: p.ident()}
		p.expect("{")
		d.Stmts = block(p, p.calStmt)
		d.Node = p.node(pos)
		return d
	case "routing":
		p.next()
		d := &Routing{Name: p.ident()}
		p.expect("{")
		d.Rules = block(p, p.routeRule)
		d.Node = p.node(pos)
		return d
	case "owner":
		return p.ownerBlock()
	case "on":
		return p.on()
	case "score":
		p.next()
		d := &Score{Field: p.ident()}
		p.expect("{")
		d.Stmts = block(p, p.scoreStmt)
		d.Node = p.node(pos)
		return d
	case "stage":
		p.next()
		d := &Stage{Name: p.ident(), Terminal: p.accept("terminal")}
		if p.accept("{") {
			d.Braces = true
			d.Stmts = block(p, p.stageStmt)
		}
		d.Node = p.node(pos)
		return d
	case "cell":
		p.next()
		d := &Cell{Name: p.ident()}
		p.expect("{")
		d.Parts = block(p, p.cellPart)
		d.Node = p.node(pos)
		return d
	case "standard":
		p.next()
		d := &Standard{Name: p.ident()}
		p.expect("{")
		d.Stmts = block(p, p.standardStmt)
		d.Node = p.node(pos)
		return d
	case "test":
		p.next()
		d := &Test{Name: p.stringLit()}
		p.expect("{")
		d.Stmts = block(p, p.testStmt)
		d.Node = p.node(pos)
		return d
	}
	p.fail()
	return nil
}

func (p *fastParser) field() *Field {
	pos := p.pos()
	f := &Field{Name: p.ident(), Type: p.typeExpr(), Optional: p.accept("?")}
	if p.accept("=") {
		f.Default = p.literal()
	}
	f.Node = p.node(pos)
	return f
}

func (p *fastParser) typeExpr() *TypeExpr {
	pos := p.pos()
	t := &TypeExpr{}
	p.need(p.peek().Type == tokIdent, "TypeExpr")
	switch {
	case p.accept("enum"):
		p.expect("(")
		t.Enum = p.identList()
		p.expect(")")
	case p.accept("list"):
		p.expect("<")
		t.List = p.typeExpr()
		p.expect(">")
	case p.accept("map"):
		p.expect("<")
		t.MapKey = p.typeExpr()
		p.expect(",")
		t.MapVal = p.typeExpr()
		p.expect(">")
	default:
		t.Name = p.ident()
	}
	t.Node = p.node(pos)
	return t
}

func (p *fastParser) teamStmt() (TeamStmt, bool) {
	pos := p.pos()
	var s TeamStmt
	switch p.peek().Value {
	case "strategy":
		p.next()
		st := &Strategy{Kind: p.ident()}
		if p.accept("by") {
			st.By = p.expr()
		}
		st.Node = p.node(pos)
		s = st
	case "capacity":
		p.next()
		st := &Capacity{Max: p.number()}
		st.Node = p.node(pos)
		s = st
	case "calendar":
		p.next()
		st := &TeamCalendar{Calendar: p.ref()}
		st.Node = p.node(pos)
		s = st
	case "member":
		p.next()
		st := &Member{Email: p.stringLit()}
		if p.accept("{") {
			st.Braces = true
			st.Attrs = list(p, p.memberAttr)
		}
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) memberAttr() *MemberAttr {
	pos := p.pos()
	a := &MemberAttr{Name: p.ident(), Value: p.literal()}
	a.Node = p.node(pos)
	return a
}

func (p *fastParser) calStmt() (CalStmt, bool) {
	pos := p.pos()
	var s CalStmt
	switch p.peek().Value {
	case "timezone":
		p.next()
		st := &Timezone{Zone: p.stringLit()}
		st.Node = p.node(pos)
		s = st
	case "hours":
		p.next()
		st := &Hours{Days: []*DayRange{p.dayRange()}}
		for p.at(",") {
			p.next()
			st.Days = append(st.Days, p.dayRange())
		}
		st.Start = p.clock()
		p.expect("-")
		st.End = p.clock()
		st.Node = p.node(pos)
		s = st
	case "holiday":
		p.next()
		st := &Holiday{Date: p.stringLit()}
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) dayRange() *DayRange {
	pos := p.pos()
	d := &DayRange{From: p.ident()}
	if p.accept("-") {
		d.To = p.ident()
	}
	d.Node = p.node(pos)
	return d
}

func (p *fastParser) routeRule() (*RouteRule, bool) {
	pos := p.pos()
	r := &RouteRule{}
	switch {
	case p.at("when"):
		p.next()
		r.When = p.expr()
	case p.at("else"):
		p.next()
		r.Else = true
	default:
		return nil, false
	}
	p.expect("->")
	r.Target = p.assignee()
	r.Node = p.node(pos)
	return r, true
}

func (p *fastParser) assignee() *Assignee {
	pos := p.pos()
	a := &Assignee{}
	switch p.peek().Value {
	case "user":
		p.next()
		a.User = p.expr()
	case "route", "team", "role":
		a.Kind = p.next().Value
		a.Name = p.ident()
	default:
		p.need(false, "Assignee")
	}
	a.Node = p.node(pos)
	return a
}

func (p *fastParser) ownerBlock() *OwnerBlock {
	pos := p.pos()
	p.expect("owner")
	p.expect("{")
	p.skipEOLs()
	o := &OwnerBlock{}
	for {
		switch p.peek().Value {
		case "responsible", "accountable", "consulted", "informed":
		default:
			p.expect("}")
			o.Node = p.node(pos)
			return o
		}
		epos := p.pos()
		e := &OwnerEntry{Kind: p.next().Value}
		switch p.peek().Value {
		case "user", "route", "team", "role":
			e.Assignee = p.assignee()
		default:
			e.Role = p.ident()
		}
		e.Node = p.node(epos)
		o.Entries = append(o.Entries, e)
		for p.peek().Type == tokEOL || p.is(",") {
			p.next()
		}
	}
}

func (p *fastParser) scoreStmt() (ScoreStmt, bool) {
	pos := p.pos()
	var s ScoreStmt
	switch p.peek().Value {
	case "on":
		p.next()
		st := &ScoreRule{Events: p.identList()}
		if p.accept("when") {
			st.When = p.expr()
		}
		p.expect("add")
		st.Add = p.number()
		st.Node = p.node(pos)
		s = st
	case "decay":
		p.next()
		st := &Decay{Percent: p.percent()}
		p.expect("every")
		st.Every = p.duration()
		st.Calendar = p.optRef("on")
		st.Node = p.node(pos)
		s = st
	case "limit":
		p.next()
		st := &Limit{Min: p.number()}
		p.expectType(tokDotDot)
		st.Max = p.number()
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) cellPart() (CellPart, bool) {
	pos := p.pos()
	var s CellPart
	switch p.peek().Value {
	case "owner":
		s = p.ownerBlock()
	case "assess":
		p.next()
		p.expect("{")
		st := &Assess{Stmts: block(p, p.stageStmt)}
		st.Node = p.node(pos)
		s = st
	case "advance":
		p.next()
		p.expect("->")
		st := &Advance{Target: p.ref()}
		if p.accept("{") {
			st.Braces = true
			st.Stmts = block(p, p.stageStmt)
		}
		st.Node = p.node(pos)
		s = st
	case "develop":
		p.next()
		p.expect("{")
		st := &Develop{Stmts: block(p, p.stageStmt)}
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) standardStmt() (StandardStmt, bool) {
	pos := p.pos()
	var s StandardStmt
	switch p.peek().Value {
	case "stages", "terminal":
		st := &StandardStages{Terminal: p.next().Value == "terminal"}
		st.Names = p.identList()
		st.Node = p.node(pos)
		s = st
	case "require":
		p.next()
		st := &Require{}
		switch {
		case p.alt("sla"):
			st.SLA = true
			p.expect("on")
			st.Lifecycle = p.ident()
			p.expect("within")
			st.Within = p.duration()
		case p.alt("accountable"):
			st.Accountable = true
			p.expect("on")
			p.expect("every")
			p.expect("stage")
		default:
			p.fail()
		}
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) testStmt() (TestStmt, bool) {
	pos := p.pos()
	var s TestStmt
	switch p.peek().Value {
	case "at":
		p.next()
		st := &At{Time: p.stringLit()}
		st.Node = p.node(pos)
		s = st
	case "capture":
		p.next()
		st := &Capture{Fields: p.objectLit()}
		st.Node = p.node(pos)
		s = st
	case "send":
		p.next()
		st := &Send{Event: p.ident()}
		if p.is("{") {
			st.Data = p.objectLit()
		}
		st.Node = p.node(pos)
		s = st
	case "wait":
		p.next()
		st := &Wait{For: p.duration()}
		st.Node = p.node(pos)
		s = st
	case "expect":
		p.next()
		st := &Expect{Cond: p.expr()}
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) objectLit() *ObjectLit {
	pos := p.pos()
	p.need(p.at("{"), "ObjectLit")
	p.next()
	o := &ObjectLit{Fields: list(p, p.fieldValue)}
	o.Node = p.node(pos)
	return o
}

func (p *fastParser) fieldValue() *FieldValue {
	pos := p.pos()
	f := &FieldValue{Name: p.ident()}
	p.expect("=")
	f.Value = p.literal()
	f.Node = p.node(pos)
	return f
}

// ---------------------------------------------------------------------------
// Stage statements and actions

func (p *fastParser) stageStmt() (StageStmt, bool) {
	pos := p.pos()
	var s StageStmt
	switch p.peek().Value {
	case "lifecycle":
		p.next()
		st := &Lifecycle{Name: p.ident()}
		st.Node = p.node(pos)
		s = st
	case "owner":
		s = p.ownerBlock()
	case "enter", "exit":
		st := &EnterExit{Kind: p.next().Value, Actions: p.actionBlock()}
		st.Node = p.node(pos)
		s = st
	case "on":
		s = p.on()
	case "when":
		p.next()
		st := &When{Cond: p.expr()}
		p.expect("->")
		st.Target = p.ref()
		st.Actions = p.optActions()
		st.Node = p.node(pos)
		s = st
	case "after":
		p.next()
		st := &After{Duration: p.duration(), Calendar: p.optRef("on")}
		p.expect("->")
		st.Target = p.ref()
		st.Actions = p.optActions()
		st.Node = p.node(pos)
		s = st
	case "sla":
		s = p.sla()
	case "disqualify":
		p.next()
		p.expect("when")
		st := &Disqualify{Cond: p.expr()}
		p.expect("->")
		st.Target = p.ref()
		st.Node = p.node(pos)
		s = st
	case "qualify":
		p.next()
		p.expect("when")
		st := &Qualify{Cond: p.expr()}
		st.Node = p.node(pos)
		s = st
	case "undecided":
		p.next()
		p.expect("after")
		st := &Undecided{After: p.duration(), Calendar: p.optRef("on")}
		st.Target = p.optRef("->")
		st.Node = p.node(pos)
		s = st
	case "route":
		p.next()
		st := &Route{Routing: p.ident()}
		st.Node = p.node(pos)
		s = st
	case "accept":
		p.next()
		p.expect("on")
		st := &Accept{Events: p.identList()}
		st.Node = p.node(pos)
		s = st
	case "reject":
		p.next()
		p.expect("on")
		st := &Reject{Events: p.identList()}
		st.Target = p.optRef("->")
		st.Node = p.node(pos)
		s = st
	case "nurture":
		p.next()
		p.expect("every")
		st := &Nurture{Every: p.duration(), Calendar: p.optRef("on")}
		st.Message = p.optExpr()
		st.Node = p.node(pos)
		s = st
	case "reassess":
		p.next()
		p.expect("on")
		st := &Reassess{Events: p.identList()}
		st.Node = p.node(pos)
		s = st
	case "recycle":
		p.next()
		p.expect("after")
		st := &Recycle{After: p.duration(), Calendar: p.optRef("on")}
		p.expect("->")
		st.Target = p.ref()
		st.Node = p.node(pos)
		s = st
	default:
		return nil, false
	}
	return s, true
}

func (p *fastParser) on() *On {
	pos := p.pos()
	p.expect("on")
	o := &On{}
	if p.alt("exception") {
		o.Exception = p.ident()
	} else {
		o.Events = p.identList()
		if p.accept("when") {
			o.When = p.expr()
		}
	}
	o.Target = p.optRef("->")
	o.Actions = p.optActions()
	o.Node = p.node(pos)
	return o
}

func (p *fastParser) sla() *SLA {
	pos := p.pos()
	p.expect("sla")
	s := &SLA{Name: p.ident()}
	p.expect("within")
	s.Within = p.duration()
	s.Calendar = p.optRef("on")
	if p.accept("until") {
		s.Until = p.identList()
	}
	if p.accept("{") {
		s.Braces = true
		s.Clauses = block(p, p.slaClause)
	}
	s.Node = p.node(pos)
	return s
}

func (p *fastParser) slaClause() (SLAClause, bool) {
	pos := p.pos()
	switch p.peek().Value {
	case "warn":
		p.next()
		p.expect("at")
		w := &Warn{}
		switch p.peek().Type {
		case tokPercent:
			w.Percent = p.percent()
		case tokDuration:
			w.Duration = p.duration()
		default:
			p.wanted("Percent")
			p.need(false, "Duration")
		}
		w.Actions = p.actionBlock()
		w.Node = p.node(pos)
		return w, true
	case "breach":
		p.next()
		b := &Breach{Actions: p.actionBlock()}
		b.Node = p.node(pos)
		return b, true
	}
	return nil, false
}

func (p *fastParser) actionBlock() *ActionBlock {
	pos := p.pos()
	p.need(p.at("{"), "ActionBlock")
	p.next()
	b := &ActionBlock{Actions: block(p, p.action)}
	b.Node = p.node(pos)
	return b
}

func (p *fastParser) action() (Action, bool) {
	pos := p.pos()
	var a Action
	switch p.peek().Value {
	case "set":
		p.next()
		s := &Set{Field: p.ref()}
		p.expect("=")
		s.Value = p.expr()
		s.Node = p.node(pos)
		a = s
	case "assign":
		p.next()
		s := &Assign{To: p.assignee()}
		s.Node = p.node(pos)
		a = s
	case "reassign":
		p.next()
		s := &Reassign{Keyword: true}
		s.Node = p.node(pos)
		a = s
	case "notify":
		p.next()
		s := &Notify{Target: p.ident(), Message: p.optExpr()}
		s.Node = p.node(pos)
		a = s
	case "escalate":
		p.next()
		s := &Escalate{Role: p.ident(), Message: p.optExpr()}
		s.Node = p.node(pos)
		a = s
	case "->":
		p.next()
		s := &Move{Target: p.ref()}
		s.Node = p.node(pos)
		a = s
	default:
		return nil, false
	}
	return a, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
