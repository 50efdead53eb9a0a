package compiler

import "strings"

// canonicalExpr returns an expression's text in one canonical spacing, the
// IR's Src: comments dropped; one space around binary operators, `?`, `:`
// and `in`, and after commas; none inside brackets, around `.`, after a
// unary operator or before a call's `(`. So `lead.fit+1>=60` and
// `lead.fit + 1 >= 60`, or an expression re-wrapped over lines, compile to
// the same IR and keep the workflow's version. Literals are kept as
// written. Text that does not tokenize (an unterminated string) is only
// whitespace-normalized; it fails to compile anyway.
func canonicalExpr(src string) string {
	toks, ok := celTokens(src)
	if !ok {
		return normalizeExpr(src)
	}
	// `!` is always unary; `-` is unary unless it follows an operand.
	unary := make([]bool, len(toks))
	for i, t := range toks {
		unary[i] = t == "!" || t == "-" && (i == 0 || !isOperand(toks[i-1]))
	}
	binary := func(i int) bool {
		t := toks[i]
		return isBinary(t) || t == "-" && !unary[i] || t == "?" || t == "in"
	}
	var b strings.Builder
	b.Grow(len(src))
	var stack []byte // open brackets: ( [ {
	for i, t := range toks {
		if i > 0 {
			prev := toks[i-1]
			space := false
			mapColon := t == ":" && len(stack) > 0 && stack[len(stack)-1] == '{'
			switch {
			case t == "," || t == ")" || t == "]" || t == "}" || t == "." || mapColon:
			case prev == "(" || prev == "[" || prev == "{" || prev == "." || unary[i-1]:
			case prev == "," || prev == ":":
				space = true
			case t == "(" || t == "[":
				space = !isOperand(prev) // a group after an operator, not a call or an index
			default:
				space = binary(i) || binary(i-1) || t == ":" || wordy(prev) && wordy(t) || t == "{"
			}
			if space {
				b.WriteByte(' ')
			}
		}
		b.WriteString(t)
		switch t {
		case "(", "[", "{":
			stack = append(stack, t[0])
		case ")", "]", "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return b.String()
}

// isBinary reports whether an operator token is binary wherever it
// appears (`-` is decided by its left neighbour, see isOperand).
func isBinary(t string) bool {
	switch t {
	case "+", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||":
		return true
	}
	return false
}

// isOperand reports whether t can end an operand, so that a `-` after it
// subtracts rather than negates.
func isOperand(t string) bool {
	if t == ")" || t == "]" || t == "}" {
		return true
	}
	return t != "" && (wordy(t) || t[0] == '"' || t[0] == '\'' || t[len(t)-1] == '"' || t[len(t)-1] == '\'') && t != "in"
}

// wordy reports whether a token is a name or a number, which need a space
// between them.
func wordy(t string) bool {
	if t == "" {
		return false
	}
	c := t[0]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// celTokens splits CEL source into tokens, dropping whitespace and
// comments. Strings (with r/b prefixes and triple quotes) are one token.
func celTokens(src string) ([]string, bool) {
	var out []string
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || (c == 'r' || c == 'R' || c == 'b' || c == 'B') && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\'') ||
			(c == 'r' || c == 'R' || c == 'b' || c == 'B') && i+2 < len(src) && (src[i+1] == 'r' || src[i+1] == 'R' || src[i+1] == 'b' || src[i+1] == 'B') && (src[i+2] == '"' || src[i+2] == '\''):
			start := i
			raw := false
			for src[i] != '"' && src[i] != '\'' {
				raw = raw || src[i] == 'r' || src[i] == 'R'
				i++
			}
			q := src[i]
			triple := i+2 < len(src) && src[i+1] == q && src[i+2] == q
			if triple {
				i += 3
				end := strings.Index(src[i:], strings.Repeat(string(q), 3))
				if end < 0 {
					return nil, false
				}
				i += end + 3
			} else {
				i++
				for i < len(src) && src[i] != q && src[i] != '\n' {
					if src[i] == '\\' && !raw {
						i++
					}
					i++
				}
				if i >= len(src) || src[i] != q {
					return nil, false
				}
				i++
			}
			out = append(out, src[start:i])
		case wordy(string(c)):
			start := i
			for i < len(src) && (wordy(string(src[i])) || src[i] == '.' && c >= '0' && c <= '9' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' ||
				(src[i] == '+' || src[i] == '-') && c >= '0' && c <= '9' && (src[i-1] == 'e' || src[i-1] == 'E') && !strings.HasPrefix(src[start:i], "0x")) {
				i++
			}
			out = append(out, src[start:i])
		default:
			n := 1
			if i+1 < len(src) {
				switch src[i : i+2] {
				case "==", "!=", "<=", ">=", "&&", "||":
					n = 2
				}
			}
			out = append(out, src[i:i+n])
			i += n
		}
	}
	return out, true
}
