package lang

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/leadlang/lead/internal/suggest"
)

// Syntax diagnostic codes. Codes are stable: tools and docs refer to them.
const (
	CodeSyntax              = "E001" // a token the grammar does not allow here
	CodeInvalidChar         = "E002" // a character that starts no token
	CodeUnterminatedString  = "E003" // a string without its closing quote on its line
	CodeUnterminatedComment = "E004" // a /* without */
	CodeBadEscape           = "E005" // an escape sequence Go does not know
	CodeUnclosedBlock       = "E006" // a {, or a ( or [ in an expression, never closed
	CodeUnknownDecl         = "E007" // a line that starts no declaration
	CodeUnknownStmt         = "E008" // a word that starts no statement of its block
	CodeStrayClose          = "E009" // a }, ) or ] with nothing open
)

// blockKind is a kind of block: what messages call it and the keywords
// of the statements it holds (nil for blocks of fields or values). The
// tables of blocks, keywords and usage (blockKinds, blockOpeners,
// topLevelKeywords, usage) are generated from the grammar in ast.go, in
// grammar_gen.go.
type blockKind struct {
	what     string
	keywords []string
}

// blockKindOf maps the first token of the statement that opened a `{` to the
// kind of block it opened.
func blockKindOf(opener string) string { return blockOpeners[opener] }

// errContext is where a syntax error happened: the innermost open block,
// the first token of the statement holding the error, and the token before
// the error.
type errContext struct {
	block string      // a blockKinds key, or "" at top level
	stmt  string      // first token of the statement; "" if the error starts it
	prev  lexer.Token // the significant token before the error; EOF if none
	prev2 lexer.Token // the one before prev; EOF if none
}

func contextAt(toks []lexer.Token, offset int) errContext {
	var stack []string
	ctx := errContext{prev: lexer.Token{Type: lexer.EOF}, prev2: lexer.Token{Type: lexer.EOF}}
	for _, t := range toks {
		if t.Pos.Offset >= offset {
			break
		}
		if t.Type == tokComment {
			continue
		}
		ctx.prev2, ctx.prev = ctx.prev, t
		switch {
		case t.Type == tokEOL:
			ctx.stmt = ""
		case t.Type == tokPunct && t.Value == "{":
			stack = append(stack, blockKindOf(ctx.stmt))
			ctx.stmt = ""
		case t.Type == tokPunct && t.Value == "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			ctx.stmt = ""
		case ctx.stmt == "":
			ctx.stmt = t.Value
		}
	}
	if len(stack) > 0 {
		ctx.block = stack[len(stack)-1]
	}
	return ctx
}

// syntaxError turns the fast parser's failure into a diagnostic: the
// message is built from the unexpected token, the block and statement it
// is in, the token before it, and what the grammar expected there.
func syntaxError(f *File, fail *syntaxFailure, c chunk, toks []lexer.Token) *Diagnostic {
	ctoks := toks[c.start:c.end]
	if fail.bracket != nil {
		return bracketDiag(f, fail.bracket)
	}
	tok := fail.tok
	if tok.EOF() && c.unclosed >= 0 {
		return nil // reported as an unclosed block
	}
	found := describeToken(f, tok)
	subject := tokSpan(tok)
	expected := expectation(fail.want)
	ctx := contextAt(ctoks, tok.Pos.Offset)
	switch {
	case expected == "" && (tok.Value == "}" || tok.Value == ")" || tok.Value == "]") && tok.Type != tokString:
		return &Diagnostic{Code: CodeStrayClose, File: f, Subject: subject,
			Summary: fmt.Sprintf("unexpected %s: no block is open here", found),
			Help:    []string{"remove it, or check the braces before it"}}
	case expected == "" && tok.Pos.Offset == ctoks[0].Pos.Offset:
		return unknownKeyword(f, tok, CodeUnknownDecl, "declaration", topLevelKeywords,
			"a file holds: "+strings.Join(topLevelKeywords, ", "))
	case expected == "":
		// A statement or field was complete but something else followed
		// on its line (the parser then expected nothing in particular).
		switch ctx.block {
		case "":
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected the end of the line, found %s", found),
				Help:    append(tokenHelp("", tok), "each declaration goes on its own line")}
		case "lead", "event", "member", "values":
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected `,` or a new line before %s", found),
				Help:    blockHelp(ctx.block)}
		default:
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected a new line or `;` before %s", found),
				Help:    []string{"each statement ends at the end of its line or at `;`"}}
		}
	case expected == `"}"`:
		k, ok := blockKinds[ctx.block]
		switch {
		case ok && k.keywords != nil && tok.Type == tokIdent:
			return unknownKeyword(f, tok, CodeUnknownStmt, "statement in "+k.what, k.keywords,
				k.what+" holds: "+strings.Join(k.keywords, ", "))
		case ok && k.keywords != nil:
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("expected a statement or `}`, found %s", found),
				Help:    []string{k.what + " holds: " + strings.Join(k.keywords, ", ")}}
		case ok:
			return &Diagnostic{Code: CodeSyntax, File: f, Subject: subject,
				Summary: fmt.Sprintf("unexpected %s in %s", found, k.what), Help: blockHelp(ctx.block)}
		}
	}
	d := &Diagnostic{Code: CodeSyntax, File: f, Subject: subject}
	what, help := describeSlot(expected, ctx, ctoks, tok)
	if what == "" {
		d.Summary = "unexpected " + found
	} else {
		d.Summary = fmt.Sprintf("expected %s, found %s", what, found)
	}
	if r := openerNote(f, expected, ctoks, tok); r != nil {
		d.Related = []Related{*r}
	}
	d.Help = help
	if lit, fix := unitFix(expected, ctoks, tok); fix != "" {
		d.Subject.End = d.Subject.Start + len(lit)
		d.Summary = fmt.Sprintf("`%s` is not a duration: write %s", lit, fix)
		d.Help = []string{"a duration is a number and a unit, with no space: " + unitList() + " (e.g. 90s, 4h, 1h30m, 30d, 2w)"}
	}
	if len(d.Help) == 0 {
		d.Help = tokenHelp(expected, tok)
	}
	if len(d.Help) == 0 {
		d.Help = usageHelp(ctx)
	}
	return d
}

// describeSlot says in words what belongs where the error is, using the
// token before it when the grammar's expectation alone would be vague
// ("a name" becomes "a target after `->`"), with a specific hint if any.
func describeSlot(expected string, ctx errContext, toks []lexer.Token, tok lexer.Token) (string, []string) {
	first := ""
	if terms := splitTerms(expected); len(terms) > 0 {
		first = strings.TrimRight(terms[0], "?*+")
	}
	prev := ctx.prev.Value
	isName := first == "Ident" || first == "Ref" || first == "<ident>"
	switch {
	case isName && prev == "->":
		return "a target after `->`", []string{"a target is a stage, a cell, or a cell's part: `-> sal`, `-> marketing`, `-> marketing.develop`"}
	case isName && ctx.prev.Type == tokIdent && nameOf(ctx) != "":
		return nameOf(ctx), tokenHelp(expected, tok)
	case first == "Expr":
		switch prev {
		case "when", "expect":
			return fmt.Sprintf("a condition after `%s`", prev), []string{"a condition is an expression such as `lead.fit >= 60`"}
		case "user":
			return "an expression after `user`", []string{"`user` takes the person's e-mail address: `user lead.account_owner` or `user \"ana@acme.example\"`"}
		}
		return fmt.Sprintf("an expression after `%s`", prev), nil
	case first == `")"` && openerBefore(toks, tok.Pos.Offset, "enum"):
		return "`,` or `)` after an enum value", []string{"enum values are names separated by commas: `enum(na, emea, apac)`"}
	case first == `">"`:
		return "`>` to close the type", []string{"write list<TYPE> or map<string, TYPE>, e.g. `list<string>`"}
	case first == `","` && openerBefore(toks, tok.Pos.Offset, "map"):
		return "`,` between the key and value types", []string{"write map<string, TYPE>, e.g. `map<string, int>`"}
	case (first == "Literal" || first == "Number") && prev == ",":
		return "a value after `,`", []string{"remove the `,` before " + describeToken(nil, tok) + ", or add a value after it"}
	}
	what := describeExpected(expected)
	if n := nameOf(ctx); n != "" && ctx.prev.Type == tokIdent && strings.Contains(what, "a name") {
		what = strings.Replace(what, "a name", n, 1)
	}
	return what, nil
}

// nameAfter describes the name that follows a keyword.
var nameAfter = map[string]string{
	"workflow": "the workflow's name", "stage": "the stage's name", "cell": "the cell's name",
	"role": "the role's name", "team": "the team's name", "event": "the event's name",
	"calendar": "a calendar's name", "routing": "the routing's name", "score": "the lead field to score",
	"standard": "the standard's name", "start": "the stage or cell where leads start",
	"conforms": "the standard's name", "use": "a module name such as std.waterfall",
	"sla": "the SLA's name", "lifecycle": "a lifecycle stage name", "route": "a routing's name",
	"notify":   "who to notify (a role, or responsible, accountable, consulted or informed)",
	"escalate": "the role to escalate to", "exception": "an exception kind (sla_breach, no_owner, eval_error or loop)",
	"send": "the event's name", "on": "an event name", "until": "an event name",
	"accountable": "a role", "consulted": "a role", "informed": "a role", "responsible": "an owner",
	"strategy": "a strategy (round_robin, weighted, least_loaded or best_fit by EXPRESSION)",
}

// nameOf describes the name expected after the keyword before the error:
// `on` names an event, but a calendar after a duration (`after 4h on
// business`).
func nameOf(ctx errContext) string {
	if ctx.prev.Value == "on" && ctx.prev2.Type == tokDuration {
		return "a calendar's name"
	}
	return nameAfter[ctx.prev.Value]
}

// openerBefore reports whether the innermost bracket still open before
// offset follows the keyword kw (`enum(`, `map<`).
func openerBefore(toks []lexer.Token, offset int, kw string) bool {
	var stack []int
	for i, t := range toks {
		if t.Pos.Offset >= offset {
			break
		}
		switch t.Value {
		case "(", "<":
			stack = append(stack, i)
		case ")", ">":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return false
	}
	for j := stack[len(stack)-1] - 1; j >= 0; j-- {
		if toks[j].Type != tokComment {
			return toks[j].Value == kw
		}
	}
	return false
}

// openerNote points at the bracket that a missing closer should close,
// when it is on an earlier line.
func openerNote(f *File, expected string, toks []lexer.Token, tok lexer.Token) *Related {
	want := map[string]string{`")"`: "(", `"]"`: "[", `">"`: "<"}[expected]
	if want == "" {
		return nil
	}
	depth := 0
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		if t.Pos.Offset >= tok.Pos.Offset {
			continue
		}
		switch t.Value {
		case ")", "]", ">":
			depth++
		case "(", "[", "<":
			if depth > 0 {
				depth--
				continue
			}
			if t.Value != want || f.Position(t.Pos.Offset).Line == f.Position(tok.Pos.Offset).Line {
				return nil
			}
			return &Related{File: f, Span: tokSpan(t), Message: "the `" + want + "` opened here"}
		}
	}
	return nil
}

// bracketDiag reports brackets of an expression that do not pair up.
func bracketDiag(f *File, be *bracketError) *Diagnostic {
	want := closerOf[be.Open.Value]
	if be.Close != nil && be.Close.Value != "}" {
		return &Diagnostic{Code: CodeSyntax, File: f, Subject: tokSpan(*be.Close),
			Summary: fmt.Sprintf("expected `%s` to close the `%s`, found `%s`", want, be.Open.Value, be.Close.Value),
			Related: []Related{{File: f, Span: tokSpan(be.Open), Message: "the `" + be.Open.Value + "` opened here"}},
			Help:    []string{fmt.Sprintf("brackets pair up innermost first: close the `%s` before this `%s`", be.Open.Value, be.Close.Value)}}
	}
	d := &Diagnostic{Code: CodeUnclosedBlock, File: f, Subject: tokSpan(be.Open),
		Summary: fmt.Sprintf("this `%s` is never closed", be.Open.Value),
		Help:    []string{fmt.Sprintf("add the missing `%s` where the expression ends; until it is closed, new lines do not end the statement", want)}}
	if be.Close != nil {
		d.Related = []Related{{File: f, Span: tokSpan(*be.Close), Message: "the block ends here, with the `" + be.Open.Value + "` still open"}}
	}
	return d
}

// expectation is what a message is built from: of everything looked for
// at the token, the last, which the grammar required there, together with
// the alternatives it was one of (marked "|" by fastParser.alt); the
// optional parts that could also have come are left out.
func expectation(want []string) string {
	if len(want) == 0 {
		return ""
	}
	var alts []string
	for _, w := range want {
		if t, ok := strings.CutPrefix(w, "|"); ok && !slices.Contains(alts, t) {
			alts = append(alts, t)
		}
	}
	last := strings.TrimPrefix(want[len(want)-1], "|")
	if !slices.Contains(alts, last) {
		alts = append(alts, last)
	}
	if len(alts) == 1 {
		return last
	}
	return "(" + strings.Join(alts, " | ") + ")"
}

// keywordSynonyms maps words from other languages to Lead's keyword.
var keywordSynonyms = map[string]string{"if": "when", "otherwise": "else", "default": "else", "timeout": "after"}

func unknownKeyword(f *File, tok lexer.Token, code, what string, keywords []string, help string) *Diagnostic {
	d := &Diagnostic{Code: code, File: f, Subject: tokSpan(tok),
		Summary: fmt.Sprintf("unknown %s: %s", what, describeToken(f, tok)), Help: []string{help}}
	if tok.Type == tokIdent {
		s := suggest.Nearest(tok.Value, keywords)
		if s == "" {
			s = suggestByPrefix(tok.Value, keywords)
		}
		if syn, ok := keywordSynonyms[tok.Value]; ok && s == "" && slices.Contains(keywords, syn) {
			s = syn
		}
		if s != "" {
			d.Fixes = []Fix{{Message: fmt.Sprintf("did you mean `%s`?", s), Replace: s}}
		}
	}
	return d
}

// suggestByPrefix returns the longest keyword of at least 3 letters that
// starts name (`warning` → `warn`), or "".
func suggestByPrefix(name string, keywords []string) string {
	best := ""
	for _, k := range keywords {
		if len(k) >= 3 && strings.HasPrefix(name, k) && len(k) > len(best) {
			best = k
		}
	}
	return best
}

func blockHelp(kind string) []string {
	switch kind {
	case "lead", "event":
		return []string{"fields are written NAME TYPE [= DEFAULT], one per line or separated by commas, e.g. `engagement int = 0`"}
	case "member":
		return []string{"member attributes are written NAME VALUE, separated by commas, e.g. `{ products [\"storage\"], tenure 6 }`"}
	case "values":
		return []string{"field values are written NAME = VALUE, separated by commas, e.g. `{ email = \"a@b.example\", fit = 3 }`"}
	}
	return nil
}

// usageHelp shows the syntax of the statement the error is in.
func usageHelp(ctx errContext) []string {
	if u := usage[ctx.block+" "+ctx.stmt]; ctx.stmt != "" && u != "" {
		return []string{"syntax: " + u}
	}
	return blockHelp(ctx.block)
}

// describeToken names a token for a message: `30`, end of line, end of file.
func describeToken(f *File, t lexer.Token) string {
	switch {
	case t.EOF() && f != nil && t.Pos.Offset >= len(f.Src):
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
	"Ident":        "a name",
	"<ident>":      "a name",
	"Ref":          "a name",
	"StringLit":    "a string in double quotes",
	"<string>":     "a string in double quotes",
	"Duration":     "a duration such as 4h, 30d or 1h30m",
	"Percent":      "a percentage such as 75%",
	"Number":       "a number",
	"<float>":      "a number",
	"<int>":        "a number",
	"Clock":        "a time of day such as 09:00",
	"Expr":         "an expression",
	"ActionBlock":  "`{` and a block of actions",
	"Assignee":     "an owner: route R, team T, role R or user EXPRESSION",
	"Literal":      "a value",
	"TypeExpr":     "a type such as string, int or enum(a, b)",
	"ObjectLit":    "`{` and field values",
	"DayRange":     "a day such as mon or a range such as mon-fri",
	"Field":        "a field",
	"FieldValue":   "a field value NAME = VALUE",
	"MemberAttr":   "a member attribute",
	"OwnerEntry":   "responsible, accountable, consulted or informed",
	"RouteRule":    "a routing rule",
	"ChoiceRule":   "a choice: when CONDITION -> DURATION or else -> DURATION",
	"Choice":       "a choice of length, (when CONDITION -> DURATION, ..., else -> DURATION)",
	"DotDot":       "`..`",
	"<dotdot>":     "`..`",
	"Arrow":        "`->`",
	"<arrow>":      "`->`",
	"EOL":          "a new line",
	"<eol>":        "a new line",
	"Decl":         "a declaration",
	"StageStmt":    "a statement",
	"TeamStmt":     "a statement",
	"CalStmt":      "a statement",
	"ScoreStmt":    "a statement",
	"CellPart":     "owner, assess, advance or develop",
	"StandardStmt": "a statement",
	"TestStmt":     "a step",
	"SLAClause":    "`warn` or `breach`",
	"Action":       "an action",
}

// describeExpected turns what could come next, written as grammar terms
// (see expectation), into words: the leading optional terms and the first
// required one, joined by "or". It returns "" when no term has a
// description.
func describeExpected(ebnf string) string {
	var alts []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
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
	switch len(alts) {
	case 0:
		return ""
	case 1:
		return alts[0]
	}
	return strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

// describeTerm describes one grammar term, or returns "" for a term it
// does not know (never show grammar names).
func describeTerm(t string) string {
	if d, ok := termDescriptions[t]; ok {
		return d
	}
	if strings.HasPrefix(t, `"`) && strings.HasSuffix(t, `"`) && len(t) > 2 {
		return "`" + strings.Trim(t, `"`) + "`"
	}
	return ""
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

// unitWords are unit spellings people write for the units of durations.
var unitWords = map[string]string{
	"msec": "ms", "msecs": "ms", "millis": "ms", "milliseconds": "ms",
	"sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"day": "d", "days": "d",
	"wk": "w", "wks": "w", "week": "w", "weeks": "w",
}

// unitFix recognises a number written with a unit word where a duration
// is expected (`4hrs`, `30 days`): it returns what was written and the
// duration it means, or "" if that is not the mistake.
func unitFix(expected string, toks []lexer.Token, tok lexer.Token) (string, string) {
	first := ""
	if terms := splitTerms(expected); len(terms) > 0 {
		first = strings.TrimRight(terms[0], "?*+")
	}
	if first != "Duration" || tok.Type != tokInt {
		return "", ""
	}
	for i, t := range toks {
		if t.Pos.Offset != tok.Pos.Offset || i+1 >= len(toks) {
			continue
		}
		next := toks[i+1]
		unit, ok := unitWords[strings.ToLower(next.Value)]
		if next.Type != tokIdent || !ok {
			return "", ""
		}
		lit := tok.Value + next.Value
		if next.Pos.Offset != tok.Pos.Offset+len(tok.Value) {
			lit = tok.Value + " " + next.Value
		}
		return lit, tok.Value + unit
	}
	return "", ""
}

// tokenHelp adds a hint for common mistakes, judged from what was expected
// and what was found.
func tokenHelp(expected string, tok lexer.Token) []string {
	first := ""
	if terms := splitTerms(expected); len(terms) > 0 {
		first = strings.TrimRight(terms[0], "?*+")
	}
	switch {
	case tok.Type == tokSQString:
		return []string{"Lead strings use double quotes: \"" + strings.Trim(tok.Value, "'") + "\""}
	case first == "Duration" && tok.Type == tokInt:
		return []string{fmt.Sprintf("durations need a unit (%s): e.g. %sh or %sd", unitList(), tok.Value, tok.Value)}
	case first == "Percent" && tok.Type == tokInt:
		return []string{fmt.Sprintf("write %s%% for a percentage", tok.Value)}
	case first == "Percent" && tok.Type == tokDuration:
		return []string{"use a percentage of the period here, e.g. 10%"}
	case first == "Clock" && tok.Type == tokInt:
		return []string{"times are 24-hour HH:MM with two digits each, e.g. 09:00"}
	case first == "StringLit" && tok.Type == tokIdent:
		return []string{fmt.Sprintf("put the text in double quotes: \"%s\"", tok.Value)}
	case (first == "Ident" || first == "Ref" || first == "<ident>") && tok.Type == tokString:
		return []string{"names are written without quotes: " + strings.Trim(tok.Value, `"`)}
	}
	return nil
}
