package compiler

import (
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/compiler/celenv"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
)

// want is what an expression must produce.
type want int

const (
	wantAny    want = iota
	wantBool        // guards and conditions
	wantNumber      // best_fit scores
	wantString      // user targets and messages
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

	checked  *cel.Ast
	hasSet   map[string]bool // fields this expression tests with has() at top level
	diags    lang.Diagnostics
	env       *celenv.Env
	workflow  *ir.Workflow
	calendars []string // calendar names passed to business-hours functions
}

// queue registers an expression for checking and returns its IR node,
// filled in by checkExprs.
func (c *compilation) queue(f *lang.File, e *lang.Expr, ctx celenv.Context, w want, what string, field *ir.Field, guard *exprJob) *exprJob {
	j := &exprJob{file: f, expr: e, ctx: ctx, want: w, what: what, field: field, guard: guard,
		out: &ir.Expr{Src: normalizeExpr(e.Text), Pos: pos(f, e.Span())}}
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

func (c *compilation) checkExpr(j *exprJob) {
	j.env, j.workflow = c.env, c.w
	env, err := c.env.For(j.ctx)
	if err != nil {
		s, e := j.whole()
		j.errorf(s, e, CodeExpr, "cannot check this expression: %v", err)
		return
	}
	src := common.NewStringSource(j.expr.Text, j.file.Name)
	parsed, iss := env.ParseSource(src)
	if iss.Err() != nil {
		j.reportIssues(iss.Errors(), nil)
		return
	}
	reported := j.checkFieldNames(parsed)
	checked, iss := env.Check(parsed)
	if iss.Err() != nil {
		j.reportIssues(iss.Errors(), reported)
		return
	}
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
)

var operatorNames = map[string]string{
	operators.Add: "+", operators.Subtract: "-", operators.Multiply: "*", operators.Divide: "/",
	operators.Modulo: "%", operators.Equals: "==", operators.NotEquals: "!=", operators.Less: "<",
	operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">=",
	operators.LogicalAnd: "&&", operators.LogicalOr: "||", operators.LogicalNot: "!",
	operators.Negate: "-", operators.In: "in", operators.Index: "[]", operators.Conditional: "?:",
}

// leadFunctions are the Lead stdlib's functions, for suggestions and help.
var leadFunctions = map[string]string{
	"domain":                 "domain(email string) string",
	"is_free_email":          "is_free_email(email string) bool",
	"region_of":              "region_of(country_code string) string",
	"days_since":             "days_since(ts timestamp) int",
	"hours_since":            "hours_since(ts timestamp) int",
	"business_hours_between": "business_hours_between(calendar string, from timestamp, to timestamp) duration",
	"in_business_hours":      "in_business_hours(calendar string, ts timestamp) bool",
}

// reportIssues turns CEL's errors into diagnostics inside the .lead file,
// rewording the common ones.
func (j *exprJob) reportIssues(errs []*common.Error, skip map[int]bool) {
	for _, e := range errs {
		off := j.locOffset(e.Location)
		if skip[off] {
			continue
		}
		end := off + 1
		msg := e.Message
		var d diag
		switch {
		case reUndeclared.MatchString(msg):
			name := reUndeclared.FindStringSubmatch(msg)[1]
			end = off + len(name)
			d = j.undeclared(off, end, name)
		case reOverload.MatchString(msg):
			m := reOverload.FindStringSubmatch(msg)
			args := friendlyTypes(m[2])
			if op, ok := operatorNames[m[1]]; ok {
				d = j.errorf(off, end, CodeExprType, "operator `%s` cannot be applied to (%s)", op, args)
				if op == "+" && strings.Contains(args, "string") {
					d.help("convert values to text with string(x)")
				}
			} else {
				d = j.errorf(off, end, CodeExprType, "`%s` cannot be applied to (%s)", m[1], args)
				if sig, ok := leadFunctions[m[1]]; ok {
					d.help("%s", sig)
				}
			}
		case reUndefField.MatchString(msg):
			name := reUndefField.FindStringSubmatch(msg)[1]
			d = j.errorf(off, off+len(name), CodeExpr, "unknown field `%s`", name)
		case strings.HasPrefix(msg, "Syntax error: "):
			d = j.errorf(off, end, CodeExpr, "invalid expression: %s", strings.TrimPrefix(msg, "Syntax error: "))
		default:
			d = j.errorf(off, end, CodeExpr, "%s", msg)
		}
		_ = d
	}
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
		return j.errorf(start, end, CodeExpr, "`event` is not available in %s", j.what).
			help("`event` exists only in `on EVENT` handlers and transitions and their actions")
	case name == "member" && j.ctx.Team == "":
		return j.errorf(start, end, CodeExpr, "`member` is not available here").help("`member` exists only in a team's `best_fit by`")
	}
	fns := make([]string, 0, len(leadFunctions))
	for f := range leadFunctions {
		fns = append(fns, f)
	}
	sort.Strings(fns)
	return j.errorf(start, end, CodeExpr, "unknown name `%s`", name).
		suggest(name, append(vars, fns...)).
		help("in scope here: %s", strings.Join(vars, ", "))
}

func friendlyTypes(s string) string {
	r := strings.NewReplacer("double", "float", "google.protobuf.Timestamp", "timestamp", "google.protobuf.Duration", "duration",
		celenv.LeadType, "lead")
	return r.Replace(s)
}

// checkFieldNames reports `lead.x`, `event.x` and `member.x` for fields
// that do not exist, with a suggestion; CEL's own message for them is then
// skipped. It returns the offsets it reported at.
func (j *exprJob) checkFieldNames(parsed *cel.Ast) map[int]bool {
	reported := map[int]bool{}
	env := j.envFields()
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
		d := j.errorf(start, end, CodeUnknownField, "%s has no field `%s`", obj, sel.FieldName()).suggest(sel.FieldName(), fields)
		if obj == "event" && len(j.ctx.Events) > 1 {
			d.help("a handler for several events sees only the fields they all have")
		}
	}))
	return reported
}

// envFields lists the fields of each object variable in scope.
func (j *exprJob) envFields() map[string][]string {
	w := j.workflow
	out := map[string][]string{}
	lead := []string{}
	for _, f := range ir.BuiltinAttrs {
		lead = append(lead, f.Name)
	}
	for _, f := range w.Lead {
		lead = append(lead, f.Name)
	}
	out["lead"] = lead
	if j.ctx.Events != nil {
		var ev []string
		for _, f := range celenv.EventFields(w, j.ctx.Events) {
			ev = append(ev, f.Name)
		}
		out["event"] = ev
	}
	if j.ctx.Team != "" {
		m := []string{"email", "weight"}
		if t := w.Team(j.ctx.Team); t != nil {
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
			j.errorf(s, e, CodeExprType, "%s must be true or false, but this is %s", j.what, typeName(out)).
				help("compare it with something, e.g. `%s > 0` or `%s == \"x\"`", strings.TrimSpace(j.expr.Text), strings.TrimSpace(j.expr.Text))
		}
	case wantNumber:
		if out.Kind() != types.IntKind && out.Kind() != types.DoubleKind {
			j.errorf(s, e, CodeExprType, "%s must be a number (int or float), but this is %s", j.what, typeName(out))
		}
	case wantString:
		if out.Kind() != types.StringKind {
			j.errorf(s, e, CodeExprType, "%s must be a string, but this is %s", j.what, typeName(out)).
				help("convert it with string(...)")
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
			j.checkEnumLiteral(a, a.Expr(), j.field)
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
			start, end := j.span(a, e.ID())
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
				if f, _, ok := j.objectField(a, args[i]); ok && f.Type.Kind == ir.Enum {
					j.checkEnumLiteral(a, args[1-i], &f)
				}
			}
		case "business_hours_between", "in_business_hours":
			j.checkCalendarArg(a, args[0])
		case operators.In:
			if f, _, ok := j.objectField(a, args[0]); ok && f.Type.Kind == ir.Enum && args[1].Kind() == ast.ListKind {
				for _, el := range args[1].AsList().Elements() {
					j.checkEnumLiteral(a, el, &f)
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
func (j *exprJob) checkEnumLiteral(a *ast.AST, e ast.Expr, f *ir.Field) {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.Conditional {
		j.checkEnumLiteral(a, e.AsCall().Args()[1], f)
		j.checkEnumLiteral(a, e.AsCall().Args()[2], f)
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
	start, end := j.span(a, e.ID())
	j.errorf(start, end, CodeEnumCheck, "%q is not a value of %s (%s)", s, f.Name, f.Type).suggest(s, f.Type.Enum)
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
