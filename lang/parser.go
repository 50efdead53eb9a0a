package lang

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses one .lead source. It always returns a File holding every
// declaration that parsed, and what could be parsed of the broken ones
// (their broken statements skipped or kept as BadStmt); the diagnostics
// report every syntax error, one per broken declaration at most, so an
// error in one stage never hides an error in the next.
//
// Each declaration is parsed by fastParser, which reports what the grammar
// expected where a declaration stops parsing (see syntaxError).
func Parse(filename, src string) (*File, Diagnostics) {
	f := &File{Name: filename, Src: src}
	toks, chunks := splitDecls(filename, src)
	var diags Diagnostics
	for _, c := range chunks {
		if lexDiags := lexicalErrors(f, toks[c.start:c.end]); len(lexDiags) > 0 {
			diags = append(diags, lexDiags...)
			continue
		}
		eof := lexer.EOFToken(lexer.Position{Filename: filename, Offset: c.stop})
		d, _, failure := parseDeclFast(toks[c.start:c.end], eof)
		if d != nil {
			f.Decls = append(f.Decls, d)
		}
		if failure != nil {
			if diag := syntaxError(f, failure, c, toks); diag != nil {
				diags = append(diags, diag)
			}
		}
		if c.unclosed >= 0 {
			diags = append(diags, unclosedBlock(f, c))
		}
	}
	for _, t := range toks {
		if t.Type == tokComment || t.Type == tokBadComment {
			f.Comments = append(f.Comments, Comment{Span: tokSpan(t), Text: t.Value})
		}
	}
	return f, diags
}

// splitDecls scans src and cuts the tokens into top-level declarations.
func splitDecls(filename, src string) ([]lexer.Token, []chunk) {
	toks := scan(filename, src)
	var chunks []chunk
	for i := 0; ; {
		c, ok := nextDecl(toks, i, src)
		if !ok {
			return toks, chunks
		}
		i = c.end
		if c.rescan {
			// The declaration ended inside ( or [, where the scanner
			// read newlines as spaces: scan the rest afresh.
			toks = append(toks[:c.end:c.end], scanFrom(filename, src, c.stop)...)
		}
		chunks = append(chunks, c)
	}
}

// chunk is the token range [start, end) of one top-level declaration; stop
// is the offset where it ends (its terminating newline, the start of the
// next declaration, or the file's end). unclosed is the offset of an
// unclosed `{`, or -1.
type chunk struct {
	start, end int
	stop       int
	unclosed   int
	resynced   bool // ended because a new declaration began inside a block
	rescan     bool // ended inside ( or [: the tokens after it need rescanning
}

// nextDecl returns the first declaration at or after toks[i]: it ends at a
// newline (or `;`) outside any braces.
func nextDecl(toks []lexer.Token, i int, src string) (chunk, bool) {
	for i < len(toks) && (toks[i].Type == tokComment || toks[i].Type == tokEOL) {
		i++
	}
	if i >= len(toks) || toks[i].EOF() {
		return chunk{}, false
	}
	c := chunk{start: i, unclosed: -1}
	var open []int
	for ; ; i++ {
		t := toks[i]
		if t.EOF() {
			c.end, c.stop = i, t.Pos.Offset
			break
		}
		if t.Type == tokEOL && len(open) == 0 {
			c.end, c.stop = i, t.Pos.Offset
			break
		}
		if i > c.start && startsDecl(toks, i, src) {
			// In column 1 after a newline that was no EOL token: the
			// newline was inside ( or [.
			inParens := toks[i-1].Type != tokEOL || toks[i-1].Pos.Offset != t.Pos.Offset-1
			if len(open) > 0 || inParens {
				c.end, c.stop, c.resynced, c.rescan = i, t.Pos.Offset, true, inParens
				break
			}
		}
		if t.Type == tokPunct {
			switch t.Value {
			case "{":
				open = append(open, t.Pos.Offset)
			case "}":
				if len(open) > 0 {
					open = open[:len(open)-1]
				}
			}
		}
	}
	if len(open) > 0 {
		c.unclosed = open[len(open)-1]
	}
	return c, true
}

// startsDecl reports whether toks[i] begins a line in column 1 with a
// declaration keyword followed by a name (and by `{` for declarations that
// always have a block).
func startsDecl(toks []lexer.Token, i int, src string) bool {
	t := toks[i]
	if t.Type != tokIdent {
		return false
	}
	block, ok := declKeywords[t.Value]
	if !ok || t.Pos.Offset == 0 || src[t.Pos.Offset-1] != '\n' {
		return false
	}
	j := i + 1
	for toks[j].Type == tokComment {
		j++
	}
	next := toks[j]
	if next.Type != tokIdent && next.Type != tokString {
		return false
	}
	if !block {
		return true
	}
	for j++; j < len(toks); j++ {
		switch {
		case toks[j].Type == tokPunct && toks[j].Value == "{":
			return true
		case toks[j].Type == tokEOL || toks[j].EOF() || strings.IndexByte(src[next.Pos.Offset:toks[j].Pos.Offset], '\n') >= 0:
			return false
		}
	}
	return false
}

func tokSpan(t lexer.Token) Span {
	return Span{Start: t.Pos.Offset, End: t.Pos.Offset + len(t.Value)}
}

// lexicalErrors reports the bad tokens of one declaration: stray characters,
// unterminated strings and comments, and invalid escapes in strings.
func lexicalErrors(f *File, toks []lexer.Token) Diagnostics {
	var ds Diagnostics
	for _, t := range toks {
		switch t.Type {
		case tokInvalid:
			ds = append(ds, &Diagnostic{
				Code: CodeInvalidChar, File: f, Subject: tokSpan(t),
				Summary: "invalid character " + describeChar(t.Value),
				Help:    []string{invalidCharHelp(t.Value)},
			})
		case tokBadString:
			ds = append(ds, &Diagnostic{
				Code: CodeUnterminatedString, File: f, Subject: tokSpan(t),
				Summary: "unterminated string: the closing quote is missing",
				Help:    []string{"add the closing `\"`; a string ends on the line it starts (write \\n for a line break)"},
			})
		case tokBadComment:
			ds = append(ds, &Diagnostic{
				Code: CodeUnterminatedComment, File: f, Subject: Span{t.Pos.Offset, t.Pos.Offset + 2},
				Summary: "unterminated block comment: `/*` has no matching `*/`",
				Help:    []string{"close it with `*/` (block comments do not nest); until then the rest of the file is part of the comment"},
			})
		case tokString:
			if strings.IndexByte(t.Value, '\\') < 0 {
				continue // only an escape can make a scanned string invalid
			}
			if _, err := strconv.Unquote(t.Value); err != nil {
				sp := badEscapeSpan(t)
				ds = append(ds, &Diagnostic{
					Code: CodeBadEscape, File: f, Subject: sp,
					Summary: fmt.Sprintf("invalid escape sequence `%s` in string", f.Src[sp.Start:sp.End]),
					Help:    []string{`strings use Go escapes: \" \\ \n \t \u00e9; write \\ for a backslash`},
				})
			}
		}
	}
	return ds
}

// describeChar names a character for a message: `#`, or its code point
// when it would not show (a space, a control character, a stray byte).
func describeChar(c string) string {
	r, n := utf8.DecodeRuneInString(c)
	switch {
	case r == utf8.RuneError && n <= 1:
		return fmt.Sprintf("byte 0x%02x (the file must be UTF-8)", c[0])
	case unicode.IsPrint(r) && !unicode.IsSpace(r):
		return "`" + c + "`"
	}
	return fmt.Sprintf("%U", r)
}

func invalidCharHelp(c string) string {
	switch c {
	case "#":
		return "comments start with // or /* */"
	case "&", "|":
		return "logical operators are && and ||"
	case "`", "\u201c", "\u201d":
		return "strings use straight double quotes: \"...\""
	case "@":
		return "names are written without @; put an e-mail address in double quotes"
	case "$":
		return "names are written without $; lead fields are lead.NAME"
	}
	if r, _ := utf8.DecodeRuneInString(c); unicode.IsSpace(r) {
		return "replace it with an ordinary space"
	}
	if r, _ := utf8.DecodeRuneInString(c); unicode.IsLetter(r) {
		return "names use ASCII letters, digits and _; put other text in double quotes"
	}
	return "remove it, or put it inside a string"
}

// badEscapeSpan narrows an invalid string to its first bad escape.
func badEscapeSpan(t lexer.Token) Span {
	s := t.Value
	for i := 1; i < len(s)-1; i++ {
		if s[i] != '\\' {
			continue
		}
		end := i + 2
		for end <= len(s)-1 {
			if _, err := strconv.Unquote(`"` + s[i:end] + `"`); err == nil {
				break
			}
			end++
			if end-i > 10 {
				return Span{t.Pos.Offset + i, t.Pos.Offset + i + 2}
			}
		}
		if end > len(s)-1 {
			return Span{t.Pos.Offset + i, t.Pos.Offset + i + 2}
		}
		i = end - 1
	}
	return tokSpan(t)
}

func unclosedBlock(f *File, c chunk) *Diagnostic {
	d := &Diagnostic{
		Code: CodeUnclosedBlock, File: f, Subject: Span{c.unclosed, c.unclosed + 1},
		Summary: "this `{` is never closed",
		Help:    []string{"add the missing `}` at the end of the block"},
	}
	if c.resynced {
		d.Related = []Related{{File: f, Span: Span{c.stop, c.stop}, Message: "the next declaration starts here"}}
	}
	return d
}
