package compiler

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib"
	"github.com/leadlang/lead/stdlib/celenv"

	"github.com/leadlang/lead/internal/suggest"
)

// want is what an expression must produce.
type want int

const (
	wantAny    want = iota
	wantBool        // guards and conditions
	wantNumber      // best_fit scores
	wantString      // user targets and messages
	wantTarget      // an escalation target: a string naming a role or person
	wantField       // a `set` value: the field's type
)

// exprJob is one expression waiting to be type-checked. Its diagnostics
// are collected separately and merged in source order, because jobs are
// checked in parallel.
type exprJob struct {
	file  *lang.File
	expr  *lang.Expr
	ctx   celenv.Context
	want  want
	what  string    // "a guard", "the value of lead.fit", for messages
	field *ir.Field // wantField: the target field
	// guard is the expression that must hold for this one to run (a
	// transition's guard for its actions, a routing rule's condition for
	// its target): fields it tests with has() may be read here safely.
	guard *exprJob
	out   *ir.Expr

	checked   *cel.Ast
	hasSet    map[string]bool // fields this expression tests with has() at top level
	diags     lang.Diagnostics
	fields    map[string][]string // the fields of lead, event and member here
	env       *celenv.Env
	workflow  *ir.Workflow
	calendars []string // calendar names passed to business-hours functions
}

// queue registers an expression for checking and returns its IR node,
// filled in by checkExprs.
func (c *compilation) queue(f *lang.File, e *lang.Expr, ctx celenv.Context, w want, what string, field *ir.Field, guard *exprJob) *exprJob {
	j := &exprJob{file: f, expr: e, ctx: ctx, want: w, what: what, field: field, guard: guard,
		out: &ir.Expr{Src: canonicalExpr(e.Text), Pos: pos(f, e.Span())}}
	c.exprs = append(c.exprs, j)
	c.jobOf[j.out] = j
	return j
}

// checkExprs type-checks every queued expression, using both cores:
// unguarded expressions first, then those whose guard they depend on.
func (c *compilation) checkExprs() {
	var first, second []*exprJob
	for _, j := range c.exprs {
		if j.guard == nil {
			first = append(first, j)
		} else {
			second = append(second, j)
		}
	}
	run := func(jobs []*exprJob) {
		var wg sync.WaitGroup
		next := make(chan *exprJob)
		for i := 0; i < runtime.GOMAXPROCS(0); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range next {
					c.checkExpr(j)
				}
			}()
		}
		for _, j := range jobs {
			next <- j
		}
		close(next)
		wg.Wait()
	}
	run(first)
	run(second)
	for _, j := range c.exprs {
		c.diags = append(c.diags, j.diags...)
	}
}

func (j *exprJob) errorf(start, end int, code, format string, args ...any) diag {
	d := &lang.Diagnostic{Severity: lang.Error, Code: code, File: j.file, Subject: lang.Span{Start: start, End: end}, Summary: fmt.Sprintf(format, args...)}
	j.diags = append(j.diags, d)
	return diag{d}
}

func (j *exprJob) whole() (int, int) { s := j.expr.Span(); return s.Start, s.End }

// celResult is the outcome of parsing and checking one expression text in
// one context. Workflows repeat expressions (`lead.segment ==
// "enterprise"`, a notification message), so each distinct (context, text)
// is parsed and checked once and shared: CEL's positions are relative to
// the text, and every job turns them into file positions from its own
// offset.
type celResult struct {
	once     sync.Once
	envErr   error
	parsed   *cel.Ast
	parseIss *cel.Issues
	checked  *cel.Ast
	checkIss *cel.Issues
}

// celResultFor parses and checks j's text in j's context, once per
// compilation for each distinct pair.
func (c *compilation) celResultFor(j *exprJob) *celResult {
	key := j.ctx.Key() + "\x00" + j.expr.Text
	c.celMu.Lock()
	r, ok := c.celCache[key]
	if !ok {
		r = &celResult{}
		c.celCache[key] = r
	}
	c.celMu.Unlock()
	r.once.Do(func() {
		env, err := c.env.For(j.ctx)
		if err != nil {
			r.envErr = err
			return
		}
		r.parsed, r.parseIss = env.ParseSource(common.NewStringSource(j.expr.Text, j.file.Name))
		if r.parseIss.Err() != nil {
			return
		}
		if j.ctx.Test {
			celenv.CountEscalations(r.parsed)
		}
		r.checked, r.checkIss = env.Check(r.parsed)
	})
	return r
}

func (c *compilation) checkExpr(j *exprJob) {
	j.env, j.workflow, j.fields = c.env, c.w, c.fieldsFor(j.ctx)
	res := c.celResultFor(j)
	if res.envErr != nil {
		s, e := j.whole()
		j.errorf(s, e, CodeExpr, "cannot check this expression: %v", res.envErr)
		return
	}
	if res.parseIss.Err() != nil {
		j.reportIssues(res.parseIss.Errors(), nil, nil)
		return
	}
	reported := j.checkFieldNames(res.parsed)
	if res.checkIss.Err() != nil {
		j.reportIssues(res.checkIss.Errors(), reported, res.parsed.NativeRep())
		return
	}
	checked := res.checked
	j.checked = checked
	out := checked.OutputType()
	j.out.Type = typeName(out)
	j.checkResult(out)
	j.hasSet = hasTests(checked.NativeRep().Expr(), false)
	guarded := map[string]bool{}
	for g := j.guard; g != nil; g = g.guard {
		for k := range g.hasSet {
			guarded[k] = true
		}
	}
	j.walk(checked.NativeRep(), checked.NativeRep().Expr(), guarded)
	if j.want == wantTarget && out.Kind() == types.StringKind {
		j.checkTargets(checked.NativeRep(), checked.NativeRep().Expr())
	}
}

// checkTargets checks the escalation targets an expression can give that
// are known statically: each string literal it can result in (through
// conditionals) must name a role or a team member. manager_of() gives a
// declared manager (checked where declared); other values are known only
// at run time.
func (j *exprJob) checkTargets(a *ast.AST, e ast.Expr) {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.Conditional {
		j.checkTargets(a, e.AsCall().Args()[1])
		j.checkTargets(a, e.AsCall().Args()[2])
		return
	}
	if e.Kind() != ast.LiteralKind {
		return
	}
	v, ok := e.AsLiteral().Value().(string)
	if !ok {
		return
	}
	var known []string
	for _, r := range j.workflow.Roles {
		if r.Name == v {
			return
		}
		known = append(known, r.Name)
	}
	for _, t := range j.workflow.Teams {
		for _, m := range t.Members {
			if m.Email == v {
				return
			}
			known = append(known, m.Email)
		}
	}
	start, end := j.nodeSpan(a, e)
	d := j.errorf(start, end, CodeUnknownRole, "escalation target %q is not a declared role or team member", v).suggest(v, known)
	if v == "" {
		d.help("an escalation needs someone to reach: name a role, a team member, or use manager_of(lead.owner)")
	}
}

// span converts an expression node's location to a span in the file.
func (j *exprJob) span(a *ast.AST, id int64) (int, int) {
	r, ok := a.SourceInfo().GetOffsetRange(id)
	if !ok {
		return j.whole()
	}
	base := j.expr.Span().Start
	return base + runeToByte(j.expr.Text, int(r.Start)), base + runeToByte(j.expr.Text, int(r.Stop))
}

func runeToByte(s string, n int) int {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// locSpan converts a CEL error location (1-based line, 0-based column in
// runes) into a file offset.
func (j *exprJob) locOffset(loc common.Location) int {
	text := j.expr.Text
	line, col := loc.Line(), loc.Column()
	i := 0
	for l := 1; l < line && i < len(text); i++ {
		if text[i] == '\n' {
			l++
		}
	}
	return j.expr.Span().Start + i + runeToByte(text[i:], col)
}

var (
	reUndeclared = regexp.MustCompile(`^undeclared reference to '([^']+)'`)
	reOverload   = regexp.MustCompile(`^found no matching overload for '([^']+)' applied to '\((.*)\)'`)
	reUndefField = regexp.MustCompile(`^undefined field '([^']+)'`)
	reExpected   = regexp.MustCompile(`^expected type '([^']+)' but found '([^']+)'`)
	reNoSelect   = regexp.MustCompile(`^type '([^']+)' does not support field selection`)
	reBadInput   = regexp.MustCompile(`^(?:extraneous|mismatched) input '(.*)' expecting`)
	reNoViable   = regexp.MustCompile(`^no viable alternative at input '(.*)'`)
	reMissing    = regexp.MustCompile(`^missing '?(.*?)'? at '(.*)'`)
)

var operatorNames = map[string]string{
	operators.Add: "+", operators.Subtract: "-", operators.Multiply: "*", operators.Divide: "/",
	operators.Modulo: "%", operators.Equals: "==", operators.NotEquals: "!=", operators.Less: "<",
	operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">=",
	operators.LogicalAnd: "&&", operators.LogicalOr: "||", operators.LogicalNot: "!",
	operators.Negate: "-", operators.In: "in", operators.Index: "[]", operators.Conditional: "?:",
}

// leadFunctions are the signatures of the Lead stdlib's functions
// (stdlib.Names), for help lines.
var leadFunctions = map[string]string{
	"domain":                 "domain(email string) string",
	"is_free_email":          "is_free_email(email string) bool",
	"region_of":              "region_of(country_code string) string",
	"days_since":             "days_since(ts timestamp) int",
	"hours_since":            "hours_since(ts timestamp) int",
	"business_hours_between": "business_hours_between(calendar string, from timestamp, to timestamp) duration",
	"in_business_hours":      "in_business_hours(calendar string, ts timestamp) bool",
	"bant_count":             "bant_count(lead) int",
	"manager_of":             "manager_of(member string) string",
}

// functionDocs say in one line what each Lead stdlib function does.
var functionDocs = map[string]string{
	"domain":                 "The domain of an e-mail address, lower-cased: domain(\"Ana@Big.Example\") is \"big.example\".",
	"is_free_email":          "Whether the address is at a free mail provider (gmail.com, outlook.com, ...).",
	"region_of":              "The sales region (na, emea, apac, latam) of an ISO 3166 alpha-2 country code.",
	"days_since":             "Whole days from a timestamp to now.",
	"hours_since":            "Whole hours from a timestamp to now.",
	"business_hours_between": "The working time of a calendar between two timestamps.",
	"in_business_hours":      "Whether a timestamp falls in a calendar's working hours.",
	"bant_count":             "How many of budget, authority, need and timeline are true (use std.bant).",
	"manager_of":             "The manager of a team member (theirs, else their team's), \"\" if none: escalate (manager_of(lead.owner)).",
}

// Function returns the signature and a line of documentation of a Lead
// stdlib function, for editors.
func Function(name string) (signature, doc string, ok bool) {
	signature, ok = leadFunctions[name]
	return signature, functionDocs[name], ok
}

// FunctionNames lists the Lead stdlib functions, sorted.
func FunctionNames() []string { return sorted(names(leadFunctions)) }

// hiddenFunctions are the stdlib's internal overloads behind macros, by
// the name the author wrote; the macro adds `now` as the last argument.
var hiddenFunctions = map[string]string{"@lead_days_since": "days_since", "@lead_hours_since": "hours_since"}

// reportIssues turns CEL's errors into diagnostics inside the .lead file,
// rewording the common ones so that they speak Lead rather than CEL, and
// underlining the whole offending subexpression where CEL names one.
func (j *exprJob) reportIssues(errs []*common.Error, skip map[int]bool, parsed *ast.AST) {
	for _, e := range errs {
		off := j.locOffset(e.Location)
		if skip[off] {
			continue
		}
		start, end := off, off+1
		if parsed != nil && e.ExprID != 0 {
			if node := findExpr(parsed.Expr(), e.ExprID); node != nil {
				start, end = j.nodeSpan(parsed, node)
			}
		}
		msg := e.Message
		switch {
		case reUndeclared.MatchString(msg):
			name := reUndeclared.FindStringSubmatch(msg)[1]
			// CEL places an undeclared function at its `(`.
			src := j.file.Src
			switch {
			case strings.HasPrefix(src[off:], name):
				start, end = off, off+len(name)
			case off-len(name) >= 0 && src[off-len(name):off] == name:
				start, end = off-len(name), off
			}
			j.undeclared(start, end, name)
		case reOverload.MatchString(msg):
			m := reOverload.FindStringSubmatch(msg)
			fn, args := m[1], friendlyTypes(m[2])
			if name, ok := hiddenFunctions[fn]; ok {
				fn = name
				args = strings.TrimSuffix(strings.TrimSuffix(args, "timestamp"), ", ")
			}
			if op, ok := operatorNames[fn]; ok {
				d := j.errorf(start, end, CodeExprType, "operator `%s` cannot be applied to %s", op, operandList(args))
				if op == "+" && strings.Contains(args, "string") && !strings.Contains(args, "list") {
					d.help("`+` joins two strings or adds two numbers; convert a value with string(...) or int(...)")
				}
			} else {
				d := j.errorf(start, end, CodeExprType, "`%s` cannot be applied to %s", fn, operandList(args))
				if sig, ok := leadFunctions[fn]; ok {
					d.help("%s", sig)
				}
			}
		case reUndefField.MatchString(msg):
			name := reUndefField.FindStringSubmatch(msg)[1]
			j.errorf(off, off+len(name), CodeUnknownField, "unknown field `%s`", name)
		case reExpected.MatchString(msg):
			m := reExpected.FindStringSubmatch(msg)
			want, got := friendlyTypes(m[1]), friendlyTypes(m[2])
			if want == "bool" {
				j.errorf(start, end, CodeExprType, "expected true or false here, but this is %s", got)
			} else {
				j.errorf(start, end, CodeExprType, "expected %s here, but this is %s", want, got)
			}
		case reNoSelect.MatchString(msg):
			j.errorf(start, end, CodeExprType, "%s values have no fields", friendlyTypes(reNoSelect.FindStringSubmatch(msg)[1]))
		case strings.HasPrefix(msg, "Syntax error: "):
			j.syntaxError(off, strings.TrimPrefix(msg, "Syntax error: "))
		default:
			j.errorf(start, end, CodeExpr, "%s", friendlyTypes(msg))
		}
	}
}

// syntaxError rewords ANTLR's messages ("mismatched input ')' expecting
// {'[', '{', ...}") as Lead does for its own syntax errors.
func (j *exprJob) syntaxError(off int, msg string) {
	tok := ""
	switch {
	case reBadInput.MatchString(msg):
		tok = reBadInput.FindStringSubmatch(msg)[1]
	case reNoViable.MatchString(msg):
		in := reNoViable.FindStringSubmatch(msg)[1]
		if f := strings.Fields(in); len(f) > 0 {
			tok = f[len(f)-1]
		}
	case reMissing.MatchString(msg):
		m := reMissing.FindStringSubmatch(msg)
		j.errorf(off, off+max(1, len(m[2])), CodeExpr, "invalid expression: missing `%s` before `%s`", m[1], m[2])
		return
	default:
		j.errorf(off, off+1, CodeExpr, "invalid expression: %s", msg)
		return
	}
	if tok == "<EOF>" {
		s, e := j.whole()
		j.errorf(max(s, e-1), e, CodeExpr, "invalid expression: it ends too early").
			help("complete the expression; a long one can be wrapped inside parentheses")
		return
	}
	width := len(tok)
	if width == 0 || off+width > len(j.file.Src) || j.file.Src[off:off+width] != tok {
		width = 1
	}
	d := j.errorf(off, off+width, CodeExpr, "invalid expression: unexpected `%s`", tok)
	switch tok {
	case ">>", "<<", "&", "|", "^":
		d.help("CEL has no bit operators; compare with < <= > >= == !=, combine with && || !")
	case "=":
		d.help("compare with `==`; `=` only appears in `set lead.FIELD = VALUE`")
	case "'":
		d.help("strings use double quotes")
	}
}

// operandList renders CEL's argument types "string, int" as "(string, int)".
func operandList(args string) string {
	if args == "" {
		return "no arguments"
	}
	return "(" + args + ")"
}

// findExpr returns the node with the given id, or nil.
func findExpr(root ast.Expr, id int64) ast.Expr {
	var found ast.Expr
	ast.PostOrderVisit(root, ast.NewExprVisitor(func(e ast.Expr) {
		if e.ID() == id {
			found = e
		}
	}))
	return found
}

// nodeSpan is the file range of a subexpression: from the first to the
// last character of any node in it. CEL records a select at its dot and a
// global call at its `(`, so the field name and the function name are
// added, and brackets left open at the end are closed.
func (j *exprJob) nodeSpan(a *ast.AST, e ast.Expr) (int, int) {
	lo, hi := -1, -1
	text := j.expr.Text
	ast.PostOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		r, ok := a.SourceInfo().GetOffsetRange(x.ID())
		if !ok || r.Stop < r.Start {
			return
		}
		start, stop := runeToByte(text, int(r.Start)), runeToByte(text, int(r.Stop))
		switch x.Kind() {
		case ast.SelectKind:
			name := x.AsSelect().FieldName()
			if k := strings.Index(text[start:], name); k >= 0 {
				stop = max(stop, start+k+len(name))
			}
		case ast.CallKind:
			call := x.AsCall()
			name := call.FunctionName()
			if n, ok := hiddenFunctions[name]; ok {
				name = n
			}
			if !call.IsMemberFunction() && start >= len(name) && text[start-len(name):start] == name {
				start -= len(name)
			}
		}
		if lo < 0 || start < lo {
			lo = start
		}
		hi = max(hi, stop)
	}))
	if lo < 0 {
		return j.whole()
	}
	hi = min(hi, len(text))
	depth := 0
	for k := lo; k < hi; k++ {
		switch text[k] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '"', '\'':
			q := text[k]
			for k++; k < hi && text[k] != q; k++ {
				if text[k] == '\\' {
					k++
				}
			}
		}
	}
	for ; depth > 0 && hi < len(text); hi++ {
		switch text[hi] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
	}
	for hi > lo && strings.ContainsRune(" \t\r\n", rune(text[hi-1])) {
		hi--
	}
	base := j.expr.Span().Start
	return base + lo, base + hi
}

// undeclared explains an unknown name: a variable not in scope here, a
// misspelt variable, or an unknown function.
func (j *exprJob) undeclared(start, end int, name string) diag {
	vars := []string{"lead", "now"}
	if j.ctx.Events != nil {
		vars = append(vars, "event")
	}
	if j.ctx.Team != "" {
		vars = append(vars, "member")
	}
	switch {
	case name == "event" && j.ctx.Events == nil:
		return j.errorf(start, end, CodeExpr, "`event` is not available here").
			help("`event` exists only in `on EVENT` handlers and transitions and their actions; enter and exit blocks, `when`, `after` and SLA actions do not run for one event")
	case name == "member" && j.ctx.Team == "":
		return j.errorf(start, end, CodeExpr, "`member` is not available here").help("`member` exists only in a team's `best_fit by`")
	case name == "bant_count" && !j.workflow.BantCount:
		return j.errorf(start, end, CodeExpr, "unknown function `bant_count`").help("bant_count(lead) comes with `use std.bant`")
	}
	if j.ctx.Test && hasRole(j.workflow, name) {
		return j.errorf(start, end, CodeExpr, "unknown name `%s`", name).
			help("in expressions a role is named by a string: \"%s\", as in escalated(\"%s\")", name, name)
	}
	fns := append(stdlib.Names(), celenv.ManagerOf)
	if j.workflow.BantCount {
		fns = append(fns, "bant_count")
	}
	if s := suggest.Nearest(name, fns); s != "" {
		return j.errorf(start, end, CodeExpr, "unknown function `%s`", name).suggest(name, fns).help("%s", leadFunctions[s])
	}
	return j.errorf(start, end, CodeExpr, "unknown name `%s`", name).
		suggest(name, append(vars, fns...)).
		help("in scope here: %s", strings.Join(vars, ", "))
}

// friendlyTypes rewrites CEL's type names in text as Lead writes them.
func friendlyTypes(s string) string {
	s = strings.NewReplacer("double", "float", "google.protobuf.Timestamp", "timestamp", "google.protobuf.Duration", "duration",
		celenv.LeadType, "lead").Replace(s)
	// list(T) -> list<T>, map(K, V) -> map<K, V>
	for _, kw := range []string{"list(", "map("} {
		for {
			i := strings.Index(s, kw)
			if i < 0 {
				break
			}
			depth, k := 0, i+len(kw)-1
			for ; k < len(s); k++ {
				if s[k] == '(' {
					depth++
				} else if s[k] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if k >= len(s) {
				break
			}
			s = s[:i+len(kw)-1] + "<" + s[i+len(kw):k] + ">" + s[k+1:]
		}
	}
	for _, p := range []string{"lead.Event.", "lead.Member."} {
		for {
			i := strings.Index(s, p)
			if i < 0 {
				break
			}
			k := i + len(p)
			for k < len(s) && s[k] != ',' && s[k] != ')' && s[k] != '>' && s[k] != '\'' {
				k++
			}
			s = s[:i] + strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(p, "lead."), ".")) + s[k:]
		}
	}
	return s
}

// checkFieldNames reports `lead.x`, `event.x` and `member.x` for fields
// that do not exist, with a suggestion; CEL's own message for them is then
// skipped. It returns the offsets it reported at.
func (j *exprJob) checkFieldNames(parsed *cel.Ast) map[int]bool {
	reported := map[int]bool{}
	env := j.fields
	a := parsed.NativeRep()
	ast.PostOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		if sel.Operand().Kind() != ast.IdentKind {
			return
		}
		obj := sel.Operand().AsIdent()
		fields, ok := env[obj]
		if !ok {
			return
		}
		for _, f := range fields {
			if f == sel.FieldName() {
				return
			}
		}
		start, _ := j.span(a, e.ID())
		reported[start] = true // where CEL reports it
		// CEL places a select at its dot; point at the field name after it.
		_, stop := j.whole()
		end := start + 1
		if i := strings.Index(j.file.Src[start:stop], sel.FieldName()); i >= 0 {
			start, end = start+i, start+i+len(sel.FieldName())
		}
		if obj == "event" && len(j.ctx.Events) > 1 && j.eventFieldNotCommon(start, end, sel.FieldName()) {
			return
		}
		j.errorf(start, end, CodeUnknownField, "%s has no field `%s`", objectName(obj, j.ctx), sel.FieldName()).suggest(sel.FieldName(), fields)
	}))
	return reported
}

// objectName names the object a field was looked up in, for messages:
// "lead", "event form_submitted", "member of team field".
func objectName(obj string, ctx celenv.Context) string {
	switch {
	case obj == "event" && len(ctx.Events) == 1:
		return "event " + ctx.Events[0]
	case obj == "member":
		return "a member of team " + ctx.Team
	}
	return obj
}

// eventFieldNotCommon explains `event.X` in a handler for several events
// when some of them have X: it must be in all of them, with one type.
func (j *exprJob) eventFieldNotCommon(start, end int, name string) bool {
	var with, without, typed []string
	typesSeen := map[string]bool{}
	for _, e := range j.ctx.Events {
		ev := j.workflow.Event(e)
		if ev == nil {
			continue
		}
		found := false
		for _, f := range ev.Fields {
			if f.Name == name {
				found = true
				t := f.Type.String()
				if f.Optional {
					t += "?"
				}
				typesSeen[t] = true
				typed = append(typed, e+" has "+t)
			}
		}
		if found {
			with = append(with, e)
		} else {
			without = append(without, e)
		}
	}
	if len(with) == 0 {
		return false
	}
	var d diag
	if len(without) > 0 {
		d = j.errorf(start, end, CodeUnknownField, "event.%s is not a field of every event handled here: %s %s no `%s`",
			name, strings.Join(without, ", "), plural(len(without), "has", "have"), name)
	} else {
		d = j.errorf(start, end, CodeUnknownField, "event.%s has a different type in the events handled here: %s", name, strings.Join(typed, ", "))
	}
	d.help("a handler for several events sees only the fields they all have, with the same type; handle the events separately")
	return true
}

// fieldsFor lists the fields of each object variable in scope in ctx, for
// "did you mean"; computed once per context.
func (c *compilation) fieldsFor(ctx celenv.Context) map[string][]string {
	key := ctx.Key()
	c.celMu.Lock()
	defer c.celMu.Unlock()
	if f, ok := c.fieldCache[key]; ok {
		return f
	}
	f := envFields(c.w, ctx)
	c.fieldCache[key] = f
	return f
}

// envFields lists the fields of each object variable in scope.
func envFields(w *ir.Workflow, ctx celenv.Context) map[string][]string {
	out := map[string][]string{}
	lead := []string{}
	for _, f := range ir.BuiltinAttrs {
		lead = append(lead, f.Name)
	}
	for _, f := range w.Lead {
		lead = append(lead, f.Name)
	}
	out["lead"] = lead
	if ctx.Events != nil {
		var ev []string
		for _, f := range celenv.EventFields(w, ctx.Events) {
			ev = append(ev, f.Name)
		}
		out["event"] = ev
	}
	if ctx.Team != "" {
		m := []string{"email", "weight", "load"}
		if t := w.Team(ctx.Team); t != nil {
			for _, a := range t.Attrs {
				m = append(m, a.Name)
			}
		}
		out["member"] = m
	}
	return out
}

// checkResult checks the expression's type against what its place wants.
func (j *exprJob) checkResult(out *types.Type) {
	if out.Kind() == types.DynKind || out.Kind() == types.ErrorKind {
		return
	}
	s, e := j.whole()
	switch j.want {
	case wantBool:
		if out.Kind() != types.BoolKind {
			d := j.errorf(s, e, CodeExprType, "%s must be true or false, but this is %s", j.what, typeName(out))
			text := normalizeExpr(j.expr.Text)
			switch out.Kind() {
			case types.IntKind, types.DoubleKind:
				d.help("compare it, e.g. `%s > 0`", text)
			case types.StringKind:
				d.help("compare it, e.g. `%s == \"...\"` or `%s != \"\"`", text, text)
			case types.ListKind, types.MapKind:
				d.help("test its size, e.g. `size(%s) > 0`", text)
			}
		}
	case wantNumber:
		if out.Kind() != types.IntKind && out.Kind() != types.DoubleKind {
			d := j.errorf(s, e, CodeExprType, "%s must be a number (int or float), but this is %s", j.what, typeName(out))
			if out.Kind() == types.BoolKind {
				d.help("turn a condition into points with `(CONDITION ? 10 : 0)`")
			}
		}
	case wantString:
		if out.Kind() != types.StringKind {
			d := j.errorf(s, e, CodeExprType, "%s must be a string, but this is %s", j.what, typeName(out))
			switch out.Kind() {
			case types.IntKind, types.DoubleKind, types.BoolKind, types.TimestampKind, types.DurationKind:
				d.help("convert it with string(...)")
			}
		}
	case wantTarget:
		if out.Kind() != types.StringKind {
			j.errorf(s, e, CodeExprType, "%s must be a string naming a role or person, but this is %s", j.what, typeName(out)).
				help("choose the role by a condition: `(lead.region == \"emea\" ? \"emea_director\" : \"na_director\")`")
		}
	case wantField:
		want := celenv.CELType(j.field.Type)
		if j.field.Type.Kind == ir.Float && out.Kind() == types.IntKind {
			return // ints widen to float fields
		}
		if !want.IsAssignableType(out) {
			j.errorf(s, e, CodeExprType, "lead.%s is %s, but this value is %s", j.field.Name, j.field.Type, typeName(out))
			return
		}
		if j.field.Type.Kind == ir.Enum {
			a := j.checked.NativeRep()
			j.checkEnumLiteral(a, a.Expr(), j.field, "lead."+j.field.Name)
		}
	}
}

func typeName(t *types.Type) string {
	switch t.Kind() {
	case types.DoubleKind:
		return "float"
	case types.TimestampKind:
		return "timestamp"
	case types.DurationKind:
		return "duration"
	case types.ListKind:
		return "list<" + typeName(t.Parameters()[0]) + ">"
	case types.MapKind:
		return "map<" + typeName(t.Parameters()[0]) + ", " + typeName(t.Parameters()[1]) + ">"
	case types.StructKind:
		return strings.TrimPrefix(t.TypeName(), "lead.")
	}
	return t.String()
}

// walk checks enum comparisons and optional-field reads across the
// expression. guarded holds the fields already tested with has().
func (j *exprJob) walk(a *ast.AST, e ast.Expr, guarded map[string]bool) {
	switch e.Kind() {
	case ast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return
		}
		if f, key, ok := j.objectField(a, e); ok && f.Optional && !guarded[key] {
			start, end := j.nodeSpan(a, e)
			j.diags = append(j.diags, &lang.Diagnostic{Severity: lang.Warning, Code: CodeOptionalRead, File: j.file,
				Subject: lang.Span{Start: start, End: end},
				Summary: fmt.Sprintf("%s is optional and may be absent here", key),
				Help:    []string{fmt.Sprintf("test it first: `has(%s) && ...` — reading an absent field raises eval_error", key)}})
		}
		j.walk(a, sel.Operand(), guarded)
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case operators.LogicalAnd:
			j.walk(a, args[0], guarded)
			j.walk(a, args[1], union(guarded, hasTests(args[0], false)))
			return
		case operators.LogicalOr:
			j.walk(a, args[0], guarded)
			j.walk(a, args[1], union(guarded, hasTests(args[0], true)))
			return
		case operators.Conditional:
			j.walk(a, args[0], guarded)
			j.walk(a, args[1], union(guarded, hasTests(args[0], false)))
			j.walk(a, args[2], union(guarded, hasTests(args[0], true)))
			return
		case operators.Equals, operators.NotEquals:
			for i := 0; i < 2; i++ {
				if f, key, ok := j.objectField(a, args[i]); ok && f.Type.Kind == ir.Enum {
					j.checkEnumLiteral(a, args[1-i], &f, key)
				} else if ok && key == "lead.lifecycle" {
					j.checkLifecycleLiteral(a, args[1-i])
				}
			}
		case "business_hours_between", "in_business_hours":
			j.checkCalendarArg(a, args[0])
		case operators.In:
			if f, key, ok := j.objectField(a, args[0]); ok && args[1].Kind() == ast.ListKind {
				for _, el := range args[1].AsList().Elements() {
					if f.Type.Kind == ir.Enum {
						j.checkEnumLiteral(a, el, &f, key)
					} else if key == "lead.lifecycle" {
						j.checkLifecycleLiteral(a, el)
					}
				}
			}
		}
		if call.IsMemberFunction() {
			j.walk(a, call.Target(), guarded)
		}
		for _, arg := range args {
			j.walk(a, arg, guarded)
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			j.walk(a, el, guarded)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			j.walk(a, me.Key(), guarded)
			j.walk(a, me.Value(), guarded)
		}
	case ast.ComprehensionKind:
		comp := e.AsComprehension()
		j.walk(a, comp.IterRange(), guarded)
		j.walk(a, comp.LoopCondition(), guarded)
		j.walk(a, comp.LoopStep(), guarded)
		j.walk(a, comp.Result(), guarded)
	}
}

// checkEnumLiteral reports a string literal compared with (or assigned to)
// an enum field that is not one of its values.
func (j *exprJob) checkEnumLiteral(a *ast.AST, e ast.Expr, f *ir.Field, key string) {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.Conditional {
		j.checkEnumLiteral(a, e.AsCall().Args()[1], f, key)
		j.checkEnumLiteral(a, e.AsCall().Args()[2], f, key)
		return
	}
	if e.Kind() != ast.LiteralKind {
		return
	}
	s, ok := e.AsLiteral().Value().(string)
	if !ok {
		return
	}
	if f.Type.HasValue(s) {
		return
	}
	start, end := j.nodeSpan(a, e)
	j.errorf(start, end, CodeEnumCheck, "%q is not a value of %s: it is one of %s", s, key, strings.Join(f.Type.Enum, ", ")).suggest(s, f.Type.Enum)
}

// checkLifecycleLiteral reports a string literal compared with
// lead.lifecycle that no stage of the workflow has as its lifecycle ("" is
// the lifecycle of a stage without one).
func (j *exprJob) checkLifecycleLiteral(a *ast.AST, e ast.Expr) {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.Conditional {
		j.checkLifecycleLiteral(a, e.AsCall().Args()[1])
		j.checkLifecycleLiteral(a, e.AsCall().Args()[2])
		return
	}
	if e.Kind() != ast.LiteralKind {
		return
	}
	s, ok := e.AsLiteral().Value().(string)
	if !ok || s == "" {
		return
	}
	var labels []string
	for _, st := range j.workflow.Stages {
		if st.Lifecycle == s {
			return
		}
		if st.Lifecycle != "" && !slices.Contains(labels, st.Lifecycle) {
			labels = append(labels, st.Lifecycle)
		}
	}
	start, end := j.nodeSpan(a, e)
	if len(labels) == 0 {
		j.errorf(start, end, CodeEnumCheck, "no stage has the lifecycle %q: no stage declares a lifecycle, so lead.lifecycle is always \"\"", s).
			help("label stages with `lifecycle NAME` (the language reference §13)")
		return
	}
	j.errorf(start, end, CodeEnumCheck, "no stage has the lifecycle %q: lead.lifecycle is one of %s, or \"\" in a stage without one", s, strings.Join(labels, ", ")).suggest(s, labels)
}

// objectField resolves `lead.x` / `event.x` / `member.x` to its declared
// field and a display key such as "lead.country".
func (j *exprJob) objectField(a *ast.AST, e ast.Expr) (ir.Field, string, bool) {
	if e.Kind() != ast.SelectKind {
		return ir.Field{}, "", false
	}
	sel := e.AsSelect()
	op := sel.Operand()
	t := a.GetType(op.ID())
	if t == nil || t.Kind() != types.StructKind {
		return ir.Field{}, "", false
	}
	f, ok := j.env.FieldOf(t.TypeName(), sel.FieldName())
	if !ok {
		return ir.Field{}, "", false
	}
	prefix := "lead"
	if op.Kind() == ast.IdentKind {
		prefix = op.AsIdent()
	}
	return f, prefix + "." + sel.FieldName(), true
}

// hasTests returns the fields an expression tests with has() when it is
// true (negated: when it is false), looking through && (|| when negated)
// and !.
func hasTests(e ast.Expr, negated bool) map[string]bool {
	out := map[string]bool{}
	var visit func(e ast.Expr, neg bool)
	visit = func(e ast.Expr, neg bool) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			if sel.IsTestOnly() && !neg && sel.Operand().Kind() == ast.IdentKind {
				out[sel.Operand().AsIdent()+"."+sel.FieldName()] = true
			}
		case ast.CallKind:
			call := e.AsCall()
			switch call.FunctionName() {
			case operators.LogicalAnd:
				if !neg {
					visit(call.Args()[0], neg)
					visit(call.Args()[1], neg)
				}
			case operators.LogicalOr:
				if neg {
					visit(call.Args()[0], neg)
					visit(call.Args()[1], neg)
				}
			case operators.LogicalNot:
				visit(call.Args()[0], !neg)
			}
		}
	}
	visit(e, negated)
	return out
}

func union(a, b map[string]bool) map[string]bool {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// checkCalendarArg checks a calendar named by a string literal.
func (j *exprJob) checkCalendarArg(a *ast.AST, e ast.Expr) {
	if e.Kind() != ast.LiteralKind {
		return
	}
	name, ok := e.AsLiteral().Value().(string)
	if !ok {
		return
	}
	if j.workflow.Calendar(name) != nil {
		j.calendars = append(j.calendars, name)
		return
	}
	var cals []string
	for _, c := range j.workflow.Calendars {
		cals = append(cals, c.Name)
	}
	start, end := j.span(a, e.ID())
	j.errorf(start, end, CodeUnknownCal, "unknown calendar %q", name).suggest(name, cals)
}

func hasRole(w *ir.Workflow, name string) bool {
	for _, r := range w.Roles {
		if r.Name == name {
			return true
		}
	}
	return false
}
