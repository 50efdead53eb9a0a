// Package celenv builds the CEL environments in which a workflow's
// expressions are checked (by the compiler) and run (by the runtime), from
// the workflow's IR alone. Both sides use this one package, so what compiles
// is exactly what runs.
//
// `lead`, `event` and `member` are declared as typed objects: selecting a
// field that does not exist, or comparing it with a value of another type,
// is a compile error rather than a `dyn` surprise at run time. At run time
// their values are any Go value implementing Object; CEL reads fields through
// the getters this package registers, so there is no proto or reflection.
package celenv

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/stdlib"
	"github.com/leadlang/lead/stdlib/calendar"
)

// Object is the run-time value of `lead`, `event`, `member` and history
// steps: its fields by name. ok is false for an absent optional field.
// Values are Go natives: string (also enums), int64, float64, bool,
// time.Time, time.Duration, []any, map[string]any.
type Object interface {
	Field(name string) (v any, ok bool)
}

// Type names of the objects in CEL.
const (
	LeadType   = "lead.Lead"
	StepType   = "lead.Step"
	eventTypeP = "lead.Event."
	memberType = "lead.Member."
)

// Test-only variables behind the test macros escalated(), notified(),
// stuck() and sla() (the language reference §15).
const (
	VarEscalated = "leadtest_escalated"
	VarNotified  = "leadtest_notified"
	VarStuck     = "leadtest_stuck"
	VarSLA       = "leadtest_sla" // map: SLA name -> its last outcome
	VarHistory   = "history"
)

// Context says which variables an expression sees (the language reference §6).
type Context struct {
	Events []string // the events of the handler or transition; nil: no `event`
	Team   string   // the team of a `best_fit by` expression: `member`
	Test   bool     // an `expect` in a test: escalated(), notified(), stuck(), sla(), history
}

// Key identifies the context: expressions with equal keys see the same
// variables.
func (c Context) Key() string {
	return strings.Join(c.Events, ",") + "|" + c.Team + "|" + fmt.Sprint(c.Test)
}

// Env holds a workflow's CEL environments, one per distinct Context, built
// on first use. It is safe for concurrent use.
type Env struct {
	w    *ir.Workflow
	base *cel.Env
	prov *provider

	mu   sync.Mutex
	envs map[string]*cel.Env
	errs map[string]error
}

// New builds the environments for w. Calendars are resolved by name from
// the workflow for business_hours_between and in_business_hours.
func New(w *ir.Workflow) (*Env, error) {
	cals := map[string]*calendar.Calendar{}
	for _, c := range w.Calendars {
		cal, err := c.Build()
		if err == nil {
			cals[c.Name] = cal
		}
	}
	e := &Env{w: w, envs: map[string]*cel.Env{}, errs: map[string]error{}}
	managers := Managers(w)
	rules, err := ruleMacros(w)
	if err != nil {
		return nil, err
	}
	base, err := cel.NewEnv(
		cel.Function(ManagerOf,
			cel.Overload("lead_manager_of_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.(types.String)
					if !ok {
						return types.NewErr("manager_of: %s is not a string", v.Type().TypeName())
					}
					return types.String(managers[string(s)])
				}))),
		cel.StdLib(),
		ext.Strings(), // the language reference §6: CEL's string extensions
		stdlib.Library(func(name string) *calendar.Calendar { return cals[name] }),
		cel.Variable("now", cel.TimestampType),
		cel.Macros(macros(w)...),
		cel.Macros(rules...),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
	)
	if err != nil {
		return nil, fmt.Errorf("celenv: base environment: %w", err)
	}
	e.prov = newProvider(base.CELTypeProvider())
	e.prov.add(LeadType, leadFields(w))
	e.prov.add(StepType, stepFields)
	for _, t := range w.Teams {
		fields := []ir.Field{{Name: "email", Type: ir.Type{Kind: ir.String}}, {Name: "weight", Type: ir.Type{Kind: ir.Int}}, {Name: "load", Type: ir.Type{Kind: ir.Int}}}
		e.prov.add(memberType+t.Name, append(fields, t.Attrs...))
	}
	base, err = base.Extend(
		cel.CustomTypeProvider(e.prov),
		cel.Variable("lead", cel.ObjectType(LeadType)),
	)
	if err != nil {
		return nil, fmt.Errorf("celenv: lead type: %w", err)
	}
	e.base = base
	return e, nil
}

// ManagerOf is the function giving a team member's manager.
const ManagerOf = "manager_of"

// Managers maps each team member to their manager: the member's own
// `manager`, else that of the first team (in declaration order) that lists
// them and declares one. manager_of(x) is "" for anyone else.
func Managers(w *ir.Workflow) map[string]string {
	out := map[string]string{}
	for _, t := range w.Teams {
		for _, m := range t.Members {
			if m.Manager != "" {
				out[m.Email] = m.Manager
			}
		}
	}
	for _, t := range w.Teams {
		if t.Manager == "" {
			continue
		}
		for _, m := range t.Members {
			if _, ok := out[m.Email]; !ok {
				out[m.Email] = t.Manager
			}
		}
	}
	return out
}

// Workflow returns the workflow the environments were built for.
func (e *Env) Workflow() *ir.Workflow { return e.w }

// For returns the environment of ctx.
func (e *Env) For(ctx Context) (*cel.Env, error) {
	k := ctx.Key()
	e.mu.Lock()
	defer e.mu.Unlock()
	if env, ok := e.envs[k]; ok {
		return env, e.errs[k]
	}
	var opts []cel.EnvOption
	if ctx.Events != nil {
		name := eventTypeP + strings.Join(sortedCopy(ctx.Events), "|")
		if !e.prov.has(name) {
			e.prov.add(name, commonEventFields(e.w, ctx.Events))
		}
		opts = append(opts, cel.Variable("event", cel.ObjectType(name)))
	}
	if ctx.Team != "" {
		opts = append(opts, cel.Variable("member", cel.ObjectType(memberType+ctx.Team)))
	}
	if ctx.Test {
		opts = append(opts,
			cel.Variable(VarEscalated, cel.ListType(cel.StringType)),
			cel.Function(countFn,
				cel.Overload("leadtest_count_string_list", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.IntType,
					cel.BinaryBinding(count))),
			cel.Variable(VarNotified, cel.ListType(cel.StringType)),
			cel.Variable(VarStuck, cel.BoolType),
			cel.Variable(VarSLA, cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable(VarHistory, cel.ListType(cel.ObjectType(StepType))),
		)
	}
	env := e.base
	var err error
	if len(opts) > 0 {
		env, err = e.base.Extend(opts...)
	}
	e.envs[k], e.errs[k] = env, err
	return env, err
}

// Program compiles src in ctx and plans it for evaluation.
func (e *Env) Program(ctx Context, src string) (cel.Program, *cel.Ast, error) {
	env, err := e.For(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, nil, iss.Err()
	}
	if ctx.Test {
		CountEscalations(a)
	}
	a, iss = env.Check(a)
	if iss.Err() != nil {
		return nil, nil, iss.Err()
	}
	p, err := env.Program(a, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, err
	}
	return p, a, nil
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// CELType maps a Lead field type to its CEL type. Enums are strings.
func CELType(t ir.Type) *types.Type {
	switch t.Kind {
	case ir.String, ir.Enum:
		return types.StringType
	case ir.Int:
		return types.IntType
	case ir.Float:
		return types.DoubleType
	case ir.Bool:
		return types.BoolType
	case ir.Timestamp:
		return types.TimestampType
	case ir.DurationK:
		return types.DurationType
	case ir.List:
		return types.NewListType(CELType(*t.Elem))
	case ir.Map:
		return types.NewMapType(types.StringType, CELType(*t.Elem))
	}
	return types.DynType
}

func leadFields(w *ir.Workflow) []ir.Field {
	fields := append([]ir.Field(nil), ir.BuiltinAttrs...)
	return append(fields, w.Lead...)
}

var stepFields = []ir.Field{
	{Name: "at", Type: ir.Type{Kind: ir.Timestamp}},
	{Name: "cause", Type: ir.Type{Kind: ir.String}},
	{Name: "event", Type: ir.Type{Kind: ir.String}},
	{Name: "from", Type: ir.Type{Kind: ir.String}},
	{Name: "to", Type: ir.Type{Kind: ir.String}},
	{Name: "owner", Type: ir.Type{Kind: ir.String}},
}

// StepFields lists the fields of a history step as tests see it.
func StepFields() []ir.Field { return stepFields }

// EventFields returns the fields `event` has in a handler for events: the
// payload fields common to all of them (same name and type), plus type and at.
func EventFields(w *ir.Workflow, events []string) []ir.Field {
	return commonEventFields(w, events)
}

func commonEventFields(w *ir.Workflow, events []string) []ir.Field {
	fields := []ir.Field{
		{Name: "type", Type: ir.Type{Kind: ir.String}},
		{Name: "at", Type: ir.Type{Kind: ir.Timestamp}},
	}
	var first *ir.Event
	for _, name := range events {
		if ev := w.Event(name); ev != nil {
			first = ev
			break
		}
	}
	if first == nil {
		return fields
	}
	for _, f := range first.Fields {
		common := true
		for _, name := range events {
			ev := w.Event(name)
			if ev == nil {
				continue
			}
			found := false
			for _, g := range ev.Fields {
				if g.Name == f.Name && g.Type.String() == f.Type.String() && g.Optional == f.Optional {
					found = true
				}
			}
			common = common && found
		}
		if common {
			fields = append(fields, f)
		}
	}
	return fields
}

// provider extends CEL's type provider with Lead's object types.
type provider struct {
	types.Provider
	mu   sync.RWMutex
	objs map[string]*object
}

type object struct {
	names  []string
	fields map[string]*types.FieldType
	source map[string]ir.Field
}

func newProvider(base types.Provider) *provider {
	return &provider{Provider: base, objs: map[string]*object{}}
}

func (p *provider) has(name string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.objs[name]
	return ok
}

func (p *provider) add(typeName string, fields []ir.Field) {
	o := &object{fields: map[string]*types.FieldType{}, source: map[string]ir.Field{}}
	for _, f := range fields {
		name := f.Name
		prefix := strings.TrimPrefix(typeName, "lead.")
		o.names = append(o.names, name)
		o.source[name] = f
		o.fields[name] = &types.FieldType{
			Type: CELType(f.Type),
			IsSet: func(target any) bool {
				obj, ok := target.(Object)
				if !ok {
					return false
				}
				_, set := obj.Field(name)
				return set
			},
			GetFrom: func(target any) (any, error) {
				obj, ok := target.(Object)
				if !ok {
					return nil, fmt.Errorf("%s is not available here", strings.ToLower(prefix))
				}
				v, set := obj.Field(name)
				if !set {
					return nil, fmt.Errorf("%s.%s is not set (test it with has() first)", objectVar(typeName), name)
				}
				return v, nil
			},
		}
	}
	p.mu.Lock()
	p.objs[typeName] = o
	p.mu.Unlock()
}

// objectVar names the CEL variable holding objects of typeName.
func objectVar(typeName string) string {
	switch {
	case typeName == LeadType:
		return "lead"
	case strings.HasPrefix(typeName, eventTypeP):
		return "event"
	case strings.HasPrefix(typeName, memberType):
		return "member"
	}
	return "step"
}

func (p *provider) obj(name string) (*object, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	o, ok := p.objs[name]
	return o, ok
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.obj(name); ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Provider.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.obj(name); ok {
		return o.names, true
	}
	return p.Provider.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.obj(name); ok {
		ft, ok := o.fields[field]
		return ft, ok
	}
	return p.Provider.FindStructFieldType(name, field)
}

func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.obj(name); ok {
		return types.NewErr("%s values cannot be constructed in expressions", name)
	}
	return p.Provider.NewValue(name, fields)
}

// FieldOf returns the declared field behind `VAR.name` for an object type
// name as the checker reports it, for diagnostics (optional-field reads,
// enum comparisons).
func (e *Env) FieldOf(typeName, name string) (ir.Field, bool) {
	o, ok := e.prov.obj(typeName)
	if !ok {
		return ir.Field{}, false
	}
	f, ok := o.source[name]
	return f, ok
}

// FieldNames lists the fields of an object type, for "did you mean".
func (e *Env) FieldNames(typeName string) []string {
	o, ok := e.prov.obj(typeName)
	if !ok {
		return nil
	}
	return o.names
}

// macros are Lead's macros (CEL's standard ones come with cel.StdLib): the
// test helpers and, with `use std.bant`, bant_count(lead).
func macros(w *ir.Workflow) []cel.Macro {
	var ms []cel.Macro
	inList := func(name, variable string) cel.Macro {
		return cel.GlobalMacro(name, 1, func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *cel.Error) {
			return eh.NewCall("@in", args[0], eh.NewIdent(variable)), nil
		})
	}
	ms = append(ms,
		inList("escalated", VarEscalated),
		inList("notified", VarNotified),
		cel.GlobalMacro("stuck", 0, func(eh cel.MacroExprFactory, _ ast.Expr, _ []ast.Expr) (ast.Expr, *cel.Error) {
			return eh.NewIdent(VarStuck), nil
		}),
		// sla(NAME) is the SLA's last outcome ("" before it started).
		cel.GlobalMacro("sla", 1, func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *cel.Error) {
			return eh.NewCall("_?_:_",
				eh.NewCall("@in", args[0], eh.NewIdent(VarSLA)),
				eh.NewCall("_[_]", eh.NewIdent(VarSLA), eh.Copy(args[0])),
				eh.NewLiteral(types.String(""))), nil
		}),
	)
	if w.BantCount {
		ms = append(ms, cel.GlobalMacro("bant_count", 1, func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *cel.Error) {
			var sum ast.Expr
			for _, f := range []string{"budget", "authority", "need", "timeline"} {
				term := eh.NewCall("_?_:_", eh.NewSelect(eh.Copy(args[0]), f), eh.NewLiteral(types.Int(1)), eh.NewLiteral(types.Int(0)))
				if sum == nil {
					sum = term
				} else {
					sum = eh.NewCall("_+_", sum, term)
				}
			}
			return sum, nil
		}))
	}
	return ms
}

// ruleMacros makes each of the standard's named rules a macro: NAME()
// expands to the rule's expression, parsed once here with the other macros
// (a rule cannot use another rule). A rule that does not parse has no
// macro: the compiler reports it where the rule is written.
func ruleMacros(w *ir.Workflow) ([]cel.Macro, error) {
	if len(w.Rules) == 0 {
		return nil, nil
	}
	pe, err := cel.NewEnv(cel.StdLib(), ext.Strings(), stdlib.Library(nil), cel.Macros(macros(w)...))
	if err != nil {
		return nil, fmt.Errorf("celenv: rule parser: %w", err)
	}
	var out []cel.Macro
	for _, r := range w.Rules {
		if r.Expr == nil {
			continue
		}
		a, iss := pe.Parse(r.Expr.Src)
		if iss.Err() != nil {
			continue
		}
		body := a.NativeRep().Expr()
		out = append(out, cel.GlobalMacro(r.Name, 0, func(eh cel.MacroExprFactory, _ ast.Expr, _ []ast.Expr) (ast.Expr, *cel.Error) {
			return eh.Copy(body), nil
		}))
	}
	return out, nil
}

// countFn counts a string's occurrences in a list: escalated(r) compared
// with a number, after CountEscalations.
const countFn = "@leadtest_count"

func count(v, list ref.Val) ref.Val {
	l, ok := list.(traits.Lister)
	if !ok {
		return types.NewErr("%s: not a list", countFn)
	}
	n := int64(0)
	for it := l.Iterator(); it.HasNext() == types.True; {
		if it.Next().Equal(v) == types.True {
			n++
		}
	}
	return types.Int(n)
}

// CountEscalations rewrites a parsed test expectation so that
// escalated(r) compared with a number (`escalated("vp") == 2`, `3 >
// escalated("vp")`) is the number of escalations to r; elsewhere it stays
// true once there is one. Both sides run it between parsing and checking:
// the compiler on expectations, and the tests' programs here.
func CountEscalations(a *cel.Ast) {
	fac := ast.NewExprFactory()
	var visit func(e ast.Expr)
	visit = func(e ast.Expr) {
		switch e.Kind() {
		case ast.CallKind:
			call := e.AsCall()
			args := call.Args()
			switch call.FunctionName() {
			case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
				for i := 0; i < 2; i++ {
					if in, ok := escalatedCall(args[i]); ok && isNumber(args[1-i]) {
						args[i].SetKindCase(fac.NewCall(0, countFn, in.Args()...))
					}
				}
			}
			if call.IsMemberFunction() {
				visit(call.Target())
			}
			for _, arg := range args {
				visit(arg)
			}
		case ast.SelectKind:
			visit(e.AsSelect().Operand())
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				visit(el)
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				visit(en.AsMapEntry().Key())
				visit(en.AsMapEntry().Value())
			}
		case ast.ComprehensionKind:
			c := e.AsComprehension()
			visit(c.IterRange())
			visit(c.AccuInit())
			visit(c.LoopCondition())
			visit(c.LoopStep())
			visit(c.Result())
		}
	}
	visit(a.NativeRep().Expr())
}

// escalatedCall recognises escalated(r) as its macro expands it:
// `r in leadtest_escalated`.
func escalatedCall(e ast.Expr) (ast.CallExpr, bool) {
	if e.Kind() != ast.CallKind {
		return nil, false
	}
	c := e.AsCall()
	if c.FunctionName() != operators.In || len(c.Args()) != 2 {
		return nil, false
	}
	if list := c.Args()[1]; list.Kind() != ast.IdentKind || list.AsIdent() != VarEscalated {
		return nil, false
	}
	return c, true
}

// isNumber reports whether e is a number literal, negated or not.
func isNumber(e ast.Expr) bool {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.Negate && len(e.AsCall().Args()) == 1 {
		e = e.AsCall().Args()[0]
	}
	if e.Kind() != ast.LiteralKind {
		return false
	}
	switch e.AsLiteral().(type) {
	case types.Int, types.Uint, types.Double:
		return true
	}
	return false
}

// Value wraps an Object as a CEL value of the object type typeName, for
// objects that travel inside lists (history steps): CEL's macros build
// new lists of their elements (`history.filter(...)`), which must be
// values. Fields are read through the type's getters as for any object.
func Value(o Object, typeName string) ref.Val {
	return objectVal{o, types.NewObjectType(typeName)}
}

type objectVal struct {
	obj Object
	typ *types.Type
}

func (v objectVal) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(v.obj).AssignableTo(t) {
		return v.obj, nil
	}
	return nil, fmt.Errorf("%s cannot be converted to %v", v.typ.TypeName(), t)
}

func (v objectVal) ConvertToType(t ref.Type) ref.Val {
	switch t.TypeName() {
	case v.typ.TypeName():
		return v
	case types.TypeType.TypeName():
		return v.typ
	}
	return types.NewErr("type conversion error from %s to %s", v.typ.TypeName(), t.TypeName())
}

func (v objectVal) Equal(o ref.Val) ref.Val {
	other, ok := o.(objectVal)
	return types.Bool(ok && other.typ.TypeName() == v.typ.TypeName() && reflect.DeepEqual(other.obj, v.obj))
}

func (v objectVal) Type() ref.Type { return v.typ }

func (v objectVal) Value() any { return v.obj }
