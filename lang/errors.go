package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Syntax diagnostic codes. Codes are stable: tools and docs refer to them.
const (
	CodeSyntax              = "E001" // a token the grammar does not allow here
	CodeInvalidChar         = "E002"
	CodeUnterminatedString  = "E003"
	CodeUnterminatedComment = "E004"
	CodeBadEscape           = "E005"
	CodeUnclosedBlock       = "E006"
	CodeUnknownDecl         = "E007"
	CodeUnknownStmt         = "E008"
	CodeStrayClose          = "E009"
)

// blockKinds describes what each kind of block may hold, for messages about
// an unknown statement. The key is the keyword that opened the block.
var blockKinds = map[string]struct {
	what     string
	keywords []string
}{
	"stage":    {"a stage", []string{"owner", "enter", "exit", "on", "when", "after", "sla", "lifecycle"}},
	"assess":   {"a cell's assess", []string{"disqualify", "qualify", "undecided", "owner", "enter", "exit", "on", "when", "after", "sla", "lifecycle"}},
	"advance":  {"a cell's advance", []string{"route", "accept", "reject", "owner", "enter", "exit", "on", "when", "after", "sla", "lifecycle"}},
	"develop":  {"a cell's develop", []string{"nurture", "reassess", "recycle", "owner", "enter", "exit", "on", "when", "after", "sla", "lifecycle"}},
	"cell":     {"a cell", []string{"owner", "assess", "advance", "develop"}},
	"team":     {"a team", []string{"strategy", "capacity", "calendar", "member"}},
	"calendar": {"a calendar", []string{"timezone", "hours", "holiday"}},
	"routing":  {"a routing", []string{"when", "else"}},
	"score":    {"a score", []string{"on", "decay", "limit"}},
	"owner":    {"an owner block", []string{"responsible", "accountable", "consulted", "informed"}},
	"sla":      {"an SLA", []string{"warn", "breach"}},
	"test":     {"a test", []string{"at", "capture", "send", "wait", "expect"}},
	"standard": {"a standard", []string{"stages", "terminal", "require"}},
	"actions":  {"an action block", []string{"set", "assign", "reassign", "notify", "escalate", "->"}},
	"lead":     {"the lead schema", nil},
	"event":    {"an event", nil},
	"member":   {"a member", nil},
	"values":   {"a list of field values", nil},
}

var topLevelKeywords = []string{
	"workflow", "start", "conforms", "use", "waive", "lead", "event", "role", "team",
	"calendar", "routing", "score", "owner", "on", "stage", "cell", "standard", "test",
}

// blockKindOf maps the first token of the statement that opened a `{` to the
// kind of block it opened.
func blockKindOf(opener string) string {
	switch opener {
	case "enter", "exit", "on", "when", "after", "warn", "breach", "->":
		return "actions"
	case "capture", "send":
		return "values"
	}
	if _, ok := blockKinds[opener]; ok {
		return opener
	}
	return ""
}

// syntaxError turns participle's error into a diagnostic. participle's own
// text is never shown: the message is rebuilt from the unexpected token, the
// block it is in, and what the grammar expected there.
func syntaxError(f *File, err error, c chunk, toks []lexer.Token) *Diagnostic {
	var ute *participle.UnexpectedTokenError
	if !errorsAs(err, &ute) {
		off := c.stop
		if pe, ok := err.(participle.Error); ok {
			off = pe.Position().Offset
		}
		return &Diagnostic{Code: CodeSyntax, File: f, Subject: Span{off, off}, Summary: "syntax error in this declaration"}
	}
	tok := ute.Unexpected
	if tok.EOF() && c.unclosed >= 0 {
		return nil // reported as an unclosed block
	}
	found := describeToken(f, tok)
	subject := tokSpan(tok)
	expected := expectedOf(ute)
	switch {
	case expected == "" && tok.Pos.Offset == toks[c.start].Pos.Offset:
		return unknownKeyword(f, tok, CodeUnknownDecl, "declaration", topLevelKeywords,
			"a file holds: "+strings.Join(topLevelKeywords, ", "))
	case expected == "" && tok.Value == "}":
		return &Diagnostic{Code: CodeStrayClose, File: f, Subject: subject,
			Summary: "unexpected `}`: no block is open here", Help: []string{"remove it, or check the braces before it"}}
	case expected == "":
		// A statement or field was complete but something else followed
		// on its line (participle's lookahead failures carry no
		// expectation).
		switch kind := enclosingBlock(toks[c.start:c.end], tok.Pos.Offset); kind {
		case "":
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected the end of the line, found %s", found),
				Help:    []string{"each declaration goes on its own line"}}
		case "lead", "event", "member", "values":
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected `,` or a new line before %s", found),
				Help:    blockHelp(kind)}
		default:
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected a new line or `;` before %s", found),
				Help:    []string{"each statement ends at the end of its line or at `;`"}}
		}
	case expected == `"}"`:
		kind := enclosingBlock(toks[c.start:c.end], tok.Pos.Offset)
		if k, ok := blockKinds[kind]; ok && k.keywords != nil && tok.Type == tokIdent {
			return unknownKeyword(f, tok, CodeUnknownStmt, "statement in "+k.what, k.keywords,
				k.what+" holds: "+strings.Join(k.keywords, ", "))
		}
		if k, ok := blockKinds[kind]; ok {
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("unexpected %s in %s", found, k.what), Help: blockHelp(kind)}
		}
	}
	d := &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
		Summary: fmt.Sprintf("expected %s, found %s", describeExpected(expected), found)}
	d.Help = tokenHelp(expected, tok)
	return d
}

func errorsAs(err error, target **participle.UnexpectedTokenError) bool {
	u, ok := err.(*participle.UnexpectedTokenError)
	if ok {
		*target = u
	}
	return ok
}

// expectedOf extracts what the grammar expected from participle's message.
// participle exposes it only through Message (as EBNF); the text never
// reaches users as is, see describeExpected.
func expectedOf(ute *participle.UnexpectedTokenError) string {
	msg := ute.Message()
	if i := strings.Index(msg, " (expected "); i >= 0 {
		return strings.TrimSuffix(msg[i+len(" (expected "):], ")")
	}
	return ""
}

func unknownKeyword(f *File, tok lexer.Token, code, what string, keywords []string, help string) *Diagnostic {
	d := &Diagnostic{Code: code, File: f, Subject: tokSpan(tok),
		Summary: fmt.Sprintf("unknown %s: %s", what, describeToken(f, tok)), Help: []string{help}}
	if tok.Type == tokIdent {
		if s := Suggest(tok.Value, keywords); s != "" {
			d.Fixes = []Fix{{Message: fmt.Sprintf("did you mean `%s`?", s), Replace: s}}
		}
	}
	return d
}

func blockHelp(kind string) []string {
	switch kind {
	case "lead", "event":
		return []string{"fields are written NAME TYPE [= DEFAULT], e.g. `engagement int = 0`"}
	case "member":
		return []string{"member attributes are written NAME VALUE, e.g. `{ weight 2 }`"}
	case "values":
		return []string{"field values are written NAME = VALUE, e.g. `{ email = \"a@b.example\" }`"}
	}
	return nil
}

// enclosingBlock finds the kind of the innermost block open at offset.
func enclosingBlock(toks []lexer.Token, offset int) string {
	type open struct{ kind string }
	var stack []open
	stmtStart := ""
	for _, t := range toks {
		if t.Pos.Offset >= offset {
			break
		}
		switch {
		case t.Type == tokComment:
		case t.Type == tokEOL:
			stmtStart = ""
		case t.Type == tokPunct && t.Value == "{":
			stack = append(stack, open{blockKindOf(stmtStart)})
			if stmtStart == "member" {
				stack[len(stack)-1].kind = "member"
			}
			stmtStart = ""
		case t.Type == tokPunct && t.Value == "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			stmtStart = ""
		default:
			if stmtStart == "" {
				stmtStart = t.Value
			}
		}
	}
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1].kind
}

// describeToken names a token for a message: `30`, end of line, end of file.
func describeToken(f *File, t lexer.Token) string {
	switch {
	case t.EOF() && t.Pos.Offset >= len(f.Src):
		return "end of file"
	case t.EOF() || t.Value == "\n":
		return "end of line"
	case t.Type == tokString:
		return "string " + t.Value
	}
	return "`" + t.Value + "`"
}

// termDescriptions maps grammar terms to words for users.
var termDescriptions = map[string]string{
	"Ident":       "a name",
	"<ident>":     "a name",
	"Ref":         "a name",
	"StringLit":   "a string in double quotes",
	"<string>":    "a string in double quotes",
	"Duration":    "a duration such as 4h, 30d or 1h30m",
	"Percent":     "a percentage such as 75%",
	"Number":      "a number",
	"<float>":     "a number",
	"<int>":       "a number",
	"Clock":       "a time of day such as 09:00",
	"Expr":        "an expression",
	"ActionBlock": "`{` and a block of actions",
	"Assignee":    "an owner: route R, team T, role R or user EXPR",
	"Literal":     "a value",
	"TypeExpr":    "a type such as string, int or enum(a, b)",
	"ObjectLit":   "`{` and field values",
	"DayRange":    "a day such as mon or a range such as mon-fri",
	"Field":       "a field",
	"FieldValue":  "a field value NAME = VALUE",
	"MemberAttr":  "a member attribute",
	"DotDot":      "`..`",
	"Arrow":       "`->`",
	"EOL":         "a new line",
}

// describeExpected turns participle's EBNF of what could come next into
// words: the leading optional terms and the first required one, joined by
// "or".
func describeExpected(ebnf string) string {
	var alts []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			alts = append(alts, s)
		}
	}
	for _, term := range splitTerms(ebnf) {
		optional := strings.HasSuffix(term, "?") || strings.HasSuffix(term, "*")
		body := strings.TrimRight(term, "?*+")
		for _, first := range firstTerms(body) {
			add(describeTerm(first))
		}
		if !optional {
			break
		}
	}
	if len(alts) == 0 {
		return "more input"
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

func describeTerm(t string) string {
	if d, ok := termDescriptions[t]; ok {
		return d
	}
	if strings.HasPrefix(t, `"`) {
		return "`" + strings.Trim(t, `"`) + "`"
	}
	return t
}

// splitTerms splits a sequence at top-level spaces.
func splitTerms(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ' ' && depth == 0:
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// firstTerms returns the terms that can start body: for a group
// `(A B | C)` the first terms of each alternative.
func firstTerms(body string) []string {
	if strings.HasPrefix(body, "(?=") {
		body = "(" + body[3:]
	}
	if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
		return []string{body}
	}
	inner := body[1 : len(body)-1]
	var out []string
	for _, alt := range splitAlternatives(inner) {
		terms := splitTerms(strings.TrimSpace(alt))
		for _, t := range terms {
			optional := strings.HasSuffix(t, "?") || strings.HasSuffix(t, "*")
			out = append(out, firstTerms(strings.TrimRight(t, "?*+"))...)
			if !optional {
				break
			}
		}
	}
	return out
}

func splitAlternatives(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// tokenHelp adds a hint for common mistakes, judged from what was expected
// and what was found.
func tokenHelp(expected string, tok lexer.Token) []string {
	first := ""
	if terms := splitTerms(expected); len(terms) > 0 {
		first = terms[0]
	}
	switch {
	case strings.Contains(first, "Duration") && tok.Type == tokInt:
		return []string{fmt.Sprintf("durations need a unit (ms, s, m, h, d or w): e.g. %sh or %sd", tok.Value, tok.Value)}
	case strings.Contains(first, "Percent") && tok.Type == tokInt:
		return []string{fmt.Sprintf("write %s%% for a percentage, or a duration such as %sh", tok.Value, tok.Value)}
	case first == "Clock" && tok.Type == tokInt:
		return []string{"times are 24-hour HH:MM with two digits each, e.g. 09:00"}
	case first == "StringLit" && tok.Type == tokIdent:
		return []string{fmt.Sprintf("put the text in double quotes: \"%s\"", tok.Value)}
	case first == "StringLit" && tok.Type == tokSQString:
		return []string{"strings use double quotes"}
	case first == "Ident" && (tok.Type == tokString || tok.Type == tokSQString):
		return []string{"names are written without quotes"}
	}
	return nil
}

// Suggest returns the candidate closest to name within edit distance 2
// (ties broken alphabetically), or "".
func Suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if c == name {
			continue
		}
		if d := editDistance(name, c, bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) >= limit {
		return limit
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], limit)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
