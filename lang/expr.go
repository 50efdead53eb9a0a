package lang

import (
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Expr is a CEL expression captured as source text (LANGUAGE.md §1, §6).
// The compiler type-checks it; the parser only decides where it ends.
//
// An expression ends, outside any ( [ {, at the end of the statement (newline
// or `;`), at `->`, at a `{` that opens an action block, at a `}` ) or ]
// that closes an enclosing construct, and at the keywords `add` (score rules)
// and `responsible accountable consulted informed` (a `user EXPR` inside a
// one-line owner block) unless they follow a `.` (a field access). Inside
// parentheses none of these end it, so long expressions can be wrapped there.
type Expr struct {
	Node
	// Text is the expression's source with /* */ comments blanked out, so
	// CEL offsets equal offsets in the file (CEL itself accepts // comments).
	Text string
}

// exprStopWords end an expression at nesting depth 0 (see Expr).
var exprStopWords = map[string]bool{
	"add": true, "responsible": true, "accountable": true, "consulted": true, "informed": true,
}

// Parse implements participle.Parseable.
func (e *Expr) Parse(lex *lexer.PeekingLexer) error {
	start := lex.Peek()
	if exprEnds(start, "") {
		return participle.NextMatch
	}
	e.Pos = start.Pos
	rawStart := lex.RawCursor()
	depth := 0
	prev := ""
	var last *lexer.Token
	for {
		t := lex.Peek()
		if depth == 0 && exprEnds(t, prev) {
			break
		}
		if t.EOF() {
			break
		}
		if t.Type == tokPunct {
			switch t.Value {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
		}
		prev = t.Value
		last = lex.Next()
	}
	e.EndPos = last.Pos
	e.EndPos.Offset += len(last.Value)
	var b strings.Builder
	for _, t := range lex.Range(rawStart, lex.RawCursor()) {
		if t.Pos.Offset >= e.EndPos.Offset {
			break
		}
		if t.Type == tokComment && strings.HasPrefix(t.Value, "/*") {
			b.WriteString(blankOut(t.Value))
			continue
		}
		b.WriteString(t.Value)
	}
	e.Text = b.String()
	return nil
}

// exprEnds reports whether t ends an expression at depth 0, given the value
// of the token before it.
func exprEnds(t *lexer.Token, prev string) bool {
	switch t.Type {
	case lexer.EOF, tokEOL, tokArrow:
		return true
	case tokPunct:
		switch t.Value {
		case "{", "}", ")", "]":
			return true
		}
	case tokIdent:
		return prev != "." && exprStopWords[t.Value]
	}
	return false
}

// blankOut replaces every character of a block comment with a space, keeping
// newlines, so positions after it are unchanged.
func blankOut(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}
