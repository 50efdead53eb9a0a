package lang

// TokenKind classifies a Token for tools that read source lexically: the
// compiler's index of names inside expressions and the language server's
// completion context.
type TokenKind uint8

// Token kinds. Everything that is neither a name, a string, a number, a
// newline nor a comment is Other (operators, brackets, punctuation,
// durations, percentages, invalid characters).
const (
	TokIdent TokenKind = iota
	TokString
	TokNumber
	TokEOL // a newline or `;` that ends a statement (not inside ( or [)
	TokComment
	TokOther
)

// Token is one token of Lead source: its kind, its text and the byte
// offset where it starts.
type Token struct {
	Kind   TokenKind
	Text   string
	Offset int
}

// End is the offset just after the token.
func (t Token) End() int { return t.Offset + len(t.Text) }

// Tokens scans src with Lead's lexer. Offsets are relative to src plus
// base, so an expression's text scans to offsets in its file.
func Tokens(src string, base int) []Token {
	raw := scan("", src)
	out := make([]Token, 0, len(raw))
	for _, t := range raw {
		if t.EOF() {
			break
		}
		k := TokOther
		switch t.Type {
		case tokIdent:
			k = TokIdent
		case tokString, tokSQString:
			k = TokString
		case tokInt, tokFloat:
			k = TokNumber
		case tokEOL:
			k = TokEOL
		case tokComment, tokBadComment:
			k = TokComment
		}
		out = append(out, Token{Kind: k, Text: t.Value, Offset: base + t.Pos.Offset})
	}
	return out
}

// BlockKeywords returns the keywords that start a statement in the block
// opened by the given keyword ("stage", "assess", "team", "owner", "sla",
// "test", "actions" for an action block, ...), or the top-level
// declaration keywords for "". It returns nil for blocks that hold fields
// or values rather than statements.
func BlockKeywords(block string) []string {
	if block == "" {
		return topLevelKeywords
	}
	return blockKinds[BlockKindOf(block)].keywords
}

// BlockKindOf maps the first word of the statement that opened a `{` to
// the kind of block it opened: "actions" for enter, on, breach and the
// other statements whose block holds actions, "values" for capture and
// send, the keyword itself for the others, "" if it opens no known block.
func BlockKindOf(opener string) string { return blockKindOf(opener) }
