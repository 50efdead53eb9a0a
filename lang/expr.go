package lang

import (
	"strings"
	"unsafe"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Expr is a CEL expression captured as source text (the language reference §1, §6).
// The compiler type-checks it; the parser only decides where it ends.
//
// An expression ends, outside any ( [ {, at the end of the statement (newline
// or `;`), at `->`, at a `{` that opens an action block, at a `}` ) or ]
// that closes an enclosing construct, and at the keywords `add` (score rules),
// `min` (after a best_fit score) and `responsible accountable consulted
// informed` (a `user EXPR` inside a one-line owner block) unless they follow
// a `.` (a field access). Inside
// parentheses none of these end it, so long expressions can be wrapped there.
type Expr struct {
	Node
	// Text is the expression's source with /* */ comments blanked out, so
	// CEL offsets equal offsets in the file (CEL itself accepts // comments).
	Text string
}

// bracketError reports brackets in an expression that do not pair up: an
// opener never closed (Close is nil when the input ended first), or a closer
// of the wrong kind.
type bracketError struct {
	Open  lexer.Token
	Close *lexer.Token
}

func (e *bracketError) Error() string            { return e.Message() }
func (e *bracketError) Message() string          { return "unclosed " + e.Open.Value }
func (e *bracketError) Position() lexer.Position { return e.Open.Pos }

var closerOf = map[string]string{"(": ")", "[": "]", "{": "}"}

// Parse implements participle.Parseable.
func (e *Expr) Parse(lex *lexer.PeekingLexer) error {
	first := lex.Peek()
	if exprEnds(first, "") {
		return participle.NextMatch
	}
	e.Pos = first.Pos
	rawStart := lex.RawCursor()
	var open []*lexer.Token // unclosed brackets, innermost last
	prev := ""
	last := first
	for {
		t := lex.Peek()
		if len(open) == 0 && exprEnds(t, prev) {
			break
		}
		if t.EOF() {
			return &bracketError{Open: *open[len(open)-1]}
		}
		switch t.Value {
		case "(", "[", "{":
			if t.Type == tokOpen || t.Type == tokPunct {
				open = append(open, t)
			}
		case ")", "]", "}":
			if t.Type == tokClose || t.Type == tokPunct {
				top := open[len(open)-1]
				if closerOf[top.Value] != t.Value {
					return &bracketError{Open: *top, Close: t}
				}
				open = open[:len(open)-1]
			}
		}
		prev = t.Value
		last = lex.Next()
	}
	e.EndPos = last.Pos
	e.EndPos.Offset += len(last.Value)
	e.Text = sourceBetween(first, last)
	for _, t := range lex.Range(rawStart, lex.RawCursor()) {
		if t.Type == tokComment && strings.HasPrefix(t.Value, "/*") && t.Pos.Offset > e.Pos.Offset && t.Pos.Offset < e.EndPos.Offset {
			e.Text = blankComments(e.Text, e.Pos.Offset, lex.Range(rawStart, lex.RawCursor()))
			break
		}
	}
	return nil
}

// sourceBetween returns the source text from the start of first to the end
// of last, whitespace included. Whitespace produces no tokens, but every
// token's value is a substring of the one source string scan was given, so
// the text between two tokens is the memory between their values; this
// avoids copying every expression. Should the values not lie in one string
// (a token stream from elsewhere), the gaps are filled with spaces, which
// keeps offsets right.
func sourceBetween(first, last *lexer.Token) string {
	n := last.Pos.Offset + len(last.Value) - first.Pos.Offset
	p, q := unsafe.StringData(first.Value), unsafe.StringData(last.Value)
	if uintptr(unsafe.Pointer(q))-uintptr(unsafe.Pointer(p)) == uintptr(last.Pos.Offset-first.Pos.Offset) {
		return unsafe.String(p, n)
	}
	b := []byte(strings.Repeat(" ", n))
	copy(b, first.Value)
	copy(b[last.Pos.Offset-first.Pos.Offset:], last.Value)
	return string(b)
}

// blankComments returns text (which starts at offset start) with the block
// comments among toks that lie inside it replaced by spaces, newlines kept, so positions after
// them are unchanged.
func blankComments(text string, start int, toks []lexer.Token) string {
	b := []byte(text)
	for _, t := range toks {
		if t.Type != tokComment || !strings.HasPrefix(t.Value, "/*") || t.Pos.Offset < start {
			continue
		}
		for i := t.Pos.Offset - start; i < t.Pos.Offset-start+len(t.Value) && i < len(b); i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// exprEnds reports whether t ends an expression at depth 0, given the value
// of the token before it.
func exprEnds(t *lexer.Token, prev string) bool {
	switch t.Type {
	case lexer.EOF, tokEOL, tokArrow, tokClose:
		return true
	case tokPunct:
		return t.Value == "{" || t.Value == "}"
	case tokIdent:
		return prev != "." && exprStopWords[t.Value]
	}
	return false
}
