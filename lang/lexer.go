package lang

import (
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types of the Lead lexer. The numbering is private to this package;
// the names are what grammar tags and the reference lexer use. Whitespace
// produces no token (the reference rules name it in lower case, which
// participle drops); every token's value is a substring of the source, so
// the text between two tokens is still at hand (see Expr).
const (
	tokEOF     = lexer.EOF
	tokComment = lexer.TokenType(-2 - iota)
	tokEOL
	tokDuration
	tokPercent
	tokFloat
	tokClock
	tokInt
	tokIdent
	tokString
	tokSQString
	tokArrow
	tokDotDot
	tokOp
	tokOpen  // ( or [
	tokClose // ) or ]
	tokPunct
	tokBadString
	tokBadComment
	tokInvalid
)

// tokenNames maps grammar symbol names to token types.
var tokenNames = map[string]lexer.TokenType{
	"EOF":        tokEOF,
	"Comment":    tokComment,
	"EOL":        tokEOL,
	"Duration":   tokDuration,
	"Percent":    tokPercent,
	"Float":      tokFloat,
	"Clock":      tokClock,
	"Int":        tokInt,
	"Ident":      tokIdent,
	"String":     tokString,
	"SQString":   tokSQString,
	"Arrow":      tokArrow,
	"DotDot":     tokDotDot,
	"Op":         tokOp,
	"Open":       tokOpen,
	"Close":      tokClose,
	"Punct":      tokPunct,
	"BadString":  tokBadString,
	"BadComment": tokBadComment,
	"Invalid":    tokInvalid,
}

// referenceRules is the lexical grammar of the language reference §1 as participle
// stateful-lexer rules. It is the readable specification; scan is a
// hand-written scanner producing the identical token stream, several times
// faster (a parity test and a fuzzer hold the two together).
//
// Inside ( ) and [ ] (the Paren state) a newline is whitespace, so wrapped
// expressions do not end a statement. Rules named in lower case produce no
// token. participle requires one pattern per rule name across states, hence
// the separate names for the two kinds of whitespace, and Open and Close,
// which push and pop the Paren state (a stray Close in Root pops nothing).
func referenceRules() lexer.Rules {
	common := []lexer.Rule{
		{Name: "Comment", Pattern: `//[^\n]*|/\*(?s:.*?)\*/`},
		{Name: "BadComment", Pattern: `/\*(?s:.*)`},
		{Name: "Duration", Pattern: `[0-9]+` + unitPattern() + `(?:[0-9]+` + unitPattern() + `)*\b`},
		{Name: "Percent", Pattern: `[0-9]+%`},
		{Name: "Float", Pattern: `[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+`},
		{Name: "Clock", Pattern: `[0-9][0-9]:[0-9][0-9]\b`},
		{Name: "Int", Pattern: `[0-9]+`},
		{Name: "Ident", Pattern: `[A-Za-z_][A-Za-z0-9_]*`},
		{Name: "String", Pattern: `"(?:\\.|[^"\\\n])*"`},
		{Name: "SQString", Pattern: `'(?:\\.|[^'\\\n])*'`},
		{Name: "BadString", Pattern: `"(?:\\.|[^"\\\n])*|'(?:\\.|[^'\\\n])*`},
		{Name: "Arrow", Pattern: `->`},
		{Name: "DotDot", Pattern: `\.\.`},
		{Name: "Op", Pattern: `==|!=|<=|>=|&&|\|\|`},
	}
	root := []lexer.Rule{
		{Name: "whitespace", Pattern: `[ \t\r]+`},
		{Name: "EOL", Pattern: `[\n;]`},
	}
	root = append(root, common...)
	root = append(root,
		lexer.Rule{Name: "Open", Pattern: `[(\[]`, Action: lexer.Push("Paren")},
		lexer.Rule{Name: "Close", Pattern: `[)\]]`},
		lexer.Rule{Name: "Punct", Pattern: `[-+*/%!<>=?:.,{}]`},
		lexer.Rule{Name: "Invalid", Pattern: `.`},
	)
	paren := []lexer.Rule{
		{Name: "wrapped", Pattern: `[ \t\r\n]+`},
		{Name: "EOL", Pattern: `[\n;]`}, // only `;`: the rule above takes newlines
	}
	paren = append(paren, common...)
	paren = append(paren,
		lexer.Rule{Name: "Open", Pattern: `[(\[]`, Action: lexer.Push("Paren")},
		lexer.Rule{Name: "Close", Pattern: `[)\]]`, Action: lexer.Pop()},
		lexer.Rule{Name: "Punct", Pattern: `[-+*/%!<>=?:.,{}]`},
		lexer.Rule{Name: "Invalid", Pattern: `.`},
	)
	return lexer.Rules{"Root": root, "Paren": paren}
}

// Lexer is the participle lexer definition for Lead source.
var Lexer lexer.Definition = lexDef{}

type lexDef struct{}

func (lexDef) Symbols() map[string]lexer.TokenType { return tokenNames }

func (lexDef) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return newSliceLexer(scan(filename, string(b))), nil
}

func (lexDef) LexString(filename, src string) (lexer.Lexer, error) {
	return newSliceLexer(scan(filename, src)), nil
}

// sliceLexer replays scanned tokens, then eof forever. Parse feeds the
// parser one declaration at a time this way, without copying tokens.
type sliceLexer struct {
	toks []lexer.Token
	eof  lexer.Token
	i    int
}

// newSliceLexer replays toks, which end with their EOF token.
func newSliceLexer(toks []lexer.Token) *sliceLexer {
	return &sliceLexer{toks: toks[:len(toks)-1], eof: toks[len(toks)-1]}
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return l.eof, nil
	}
	t := l.toks[l.i]
	l.i++
	return t, nil
}

// scan splits src into tokens, ending with an EOF token. It never fails:
// characters it cannot classify become Invalid, BadString or BadComment
// tokens, which the parser reports with a precise message. Positions carry
// the byte offset only; line and column are computed at the edges.
func scan(filename, src string) []lexer.Token {
	return scanFrom(filename, src, 0)
}

// scanFrom scans src[start:] as if it began a file (outside any brackets);
// offsets stay relative to src.
func scanFrom(filename, src string, start int) []lexer.Token {
	// About one token per four bytes in real workflows.
	toks := make([]lexer.Token, 0, (len(src)-start)/4+16)
	depth := 0 // nesting of ( and [: newlines inside are whitespace
	i := start
	emit := func(t lexer.TokenType, end int) {
		toks = append(toks, lexer.Token{Type: t, Value: src[i:end], Pos: lexer.Position{Filename: filename, Offset: i}})
		i = end
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || (c == '\n' && depth > 0):
			i++
			for i < len(src) {
				d := src[i]
				if d == ' ' || d == '\t' || d == '\r' || (d == '\n' && depth > 0) {
					i++
					continue
				}
				break
			}
		case c == '\n' || c == ';':
			emit(tokEOL, i+1)
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			j := i + 2
			for j < len(src) && src[j] != '\n' {
				j++
			}
			emit(tokComment, j)
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				emit(tokBadComment, len(src))
			} else {
				emit(tokComment, i+2+j+2)
			}
		case isDigit(c):
			t, end := scanNumber(src, i)
			emit(t, end)
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			emit(tokIdent, j)
		case c == '"' || c == '\'':
			t, end := scanString(src, i)
			emit(t, end)
		case c == '-' && i+1 < len(src) && src[i+1] == '>':
			emit(tokArrow, i+2)
		case c == '.' && i+1 < len(src) && src[i+1] == '.':
			emit(tokDotDot, i+2)
		case i+1 < len(src) && isOp(c, src[i+1]):
			emit(tokOp, i+2)
		case c == '(' || c == '[':
			depth++
			emit(tokOpen, i+1)
		case c == ')' || c == ']':
			if depth > 0 {
				depth--
			}
			emit(tokClose, i+1)
		case isPunct(c):
			emit(tokPunct, i+1)
		default:
			// One whole UTF-8 character, so the diagnostic shows it intact.
			_, n := utf8.DecodeRuneInString(src[i:])
			emit(tokInvalid, i+n)
		}
	}
	toks = append(toks, lexer.EOFToken(lexer.Position{Filename: filename, Offset: len(src)}))
	return toks
}

// scanNumber classifies a token starting with a digit, trying the rules in
// the reference order: Duration, Percent, Float, Clock, Int.
func scanNumber(src string, i int) (lexer.TokenType, int) {
	digits := func(j int) int {
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		return j
	}
	d := digits(i)
	// Duration: (digits unit)+ followed by a word boundary.
	if end, ok := scanDuration(src, i); ok {
		return tokDuration, end
	}
	if d < len(src) && src[d] == '%' {
		return tokPercent, d + 1
	}
	if d+1 < len(src) && src[d] == '.' && isDigit(src[d+1]) {
		end := digits(d + 1)
		if e, ok := scanExponent(src, end); ok {
			end = e
		}
		return tokFloat, end
	}
	if e, ok := scanExponent(src, d); ok {
		return tokFloat, e
	}
	if d == i+2 && d+3 <= len(src) && src[d] == ':' && isDigit(src[d+1]) && isDigit(src[d+2]) &&
		(d+3 == len(src) || !isIdentChar(src[d+3])) {
		return tokClock, d + 3
	}
	return tokInt, d
}

// durationUnits are the units of duration literals (the language reference
// §1), a longer unit before any unit it starts with. The lexer's rule, the
// scanner and the messages about durations all read this list.
var durationUnits = []string{"ms", "s", "m", "h", "bd", "d", "w"}

// unitPattern is the regular expression of a duration unit.
func unitPattern() string {
	var alts []string
	for _, u := range durationUnits {
		alts = append(alts, regexp.QuoteMeta(u))
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}

// unitAt returns the length of the duration unit at src[k:], or 0.
func unitAt(src string, k int) int {
	for _, u := range durationUnits {
		if strings.HasPrefix(src[k:], u) {
			return len(u)
		}
	}
	return 0
}

// unitList names the duration units for messages: "ms, s, m, h, d or w".
func unitList() string {
	n := len(durationUnits)
	return strings.Join(durationUnits[:n-1], ", ") + " or " + durationUnits[n-1]
}

func scanDuration(src string, i int) (int, bool) {
	j, end := i, -1
	for j < len(src) && isDigit(src[j]) {
		k := j
		for k < len(src) && isDigit(src[k]) {
			k++
		}
		if k >= len(src) {
			break
		}
		n := unitAt(src, k)
		if n == 0 {
			break
		}
		j = k + n
		if j == len(src) || !isIdentChar(src[j]) {
			end = j
		}
	}
	// The regexp is greedy with backtracking: the longest prefix of units
	// that ends on a word boundary wins.
	return end, end >= 0
}

func scanExponent(src string, j int) (int, bool) {
	if j >= len(src) || (src[j] != 'e' && src[j] != 'E') {
		return 0, false
	}
	k := j + 1
	if k < len(src) && (src[k] == '+' || src[k] == '-') {
		k++
	}
	if k >= len(src) || !isDigit(src[k]) {
		return 0, false
	}
	for k < len(src) && isDigit(src[k]) {
		k++
	}
	return k, true
}

// scanString scans a quoted string. Without its closing quote on the same
// line it is a BadString, which ends where the String rule stopped matching.
func scanString(src string, i int) (lexer.TokenType, int) {
	q := src[i]
	j := i + 1
	for j < len(src) {
		switch c := src[j]; {
		case c == '\\':
			if j+1 < len(src) && src[j+1] != '\n' {
				j += 2
				continue
			}
			return tokBadString, j
		case c == q:
			if q == '"' {
				return tokString, j + 1
			}
			return tokSQString, j + 1
		case c == '\n':
			return tokBadString, j
		}
		j++
	}
	return tokBadString, j
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

func isOp(a, b byte) bool {
	switch a {
	case '=', '!', '<', '>':
		return b == '='
	case '&':
		return b == '&'
	case '|':
		return b == '|'
	}
	return false
}

func isPunct(c byte) bool {
	switch c {
	case '-', '+', '*', '/', '%', '!', '<', '>', '=', '?', ':', '.', ',', '{', '}':
		return true
	}
	return false
}
