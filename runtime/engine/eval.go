package engine

import (
	"errors"
	"fmt"
	"math"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/leadlang/lead/compiler/ir"
)

// leadObj is the CEL view of a lead (`lead` in expressions). A step keeps
// one and hands CEL a pointer to it, so resolving `lead` allocates nothing.
type leadObj struct {
	m *Machine
	l *Lead
}

func (o *leadObj) Field(name string) (any, bool) {
	switch name {
	case "id":
		return o.l.ID, true
	case "stage":
		return o.l.Stage, true
	case "owner":
		return o.l.Owner, true
	case "created_at":
		return o.l.CreatedAt, true
	case "entered_at":
		return o.l.EnteredAt, true
	case "version":
		return o.l.Version, true
	case "lifecycle":
		if st := o.m.stages[o.l.Stage]; st != nil {
			return st.Lifecycle, true
		}
		return "", true
	}
	i, ok := o.m.fieldIndex[name]
	if !ok || o.l.Fields[i] == nil {
		return nil, false
	}
	return o.l.Fields[i], true
}

// eventObj is the CEL view of the event being handled (`event`). Its
// payload is held in the event's field order.
type eventObj struct {
	ev   *ir.Event
	typ  any // types.String
	at   time.Time
	vals []any
}

func (o *eventObj) Field(name string) (any, bool) {
	switch name {
	case "type":
		return o.typ, true
	case "at":
		return types.Timestamp{Time: o.at}, true
	}
	if o.ev != nil {
		for i := range o.ev.Fields {
			if o.ev.Fields[i].Name == name {
				v := o.vals[i]
				return v, v != nil
			}
		}
	}
	return nil, false
}

// memberObj is the CEL view of a team member (`member` in best_fit). The
// machine builds one per member at load, with attributes already in their
// run-time form.
type memberObj struct {
	email, weight any
	attrs         map[string]any
}

func newMemberObj(mb *ir.Member) *memberObj {
	o := &memberObj{email: mb.Email, weight: int64(mb.Weight), attrs: make(map[string]any, len(mb.Attrs))}
	for k, v := range mb.Attrs {
		o.attrs[k] = runtimeAttr(v)
	}
	return o
}

func (o *memberObj) Field(name string) (any, bool) {
	switch name {
	case "email":
		return o.email, true
	case "weight":
		return o.weight, true
	}
	v, ok := o.attrs[name]
	return v, ok
}

// memberLoad is a member as one best_fit evaluation sees it: its
// attributes and its current load (`member.load`, its open leads other
// than this one).
type memberLoad struct {
	*memberObj
	load int64
}

func (o *memberLoad) Field(name string) (any, bool) {
	if name == "load" {
		return o.load, true
	}
	return o.memberObj.Field(name)
}

// runtimeAttr converts a member attribute from its IR form: numbers are
// float64 after a JSON round trip but int or int64 when built by the
// compiler; lists become []any.
func runtimeAttr(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return v
}

// activation resolves the variables of one evaluation. Its values are
// boxed once per step, not once per lookup.
type activation struct {
	lead   any // *leadObj, or nil outside a lead
	event  any // *eventObj, or nil
	member any // *memberObj, or nil
	t      time.Time
	now    any // types.Timestamp of t, boxed on first use
	extra  map[string]any
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "lead":
		return a.lead, a.lead != nil
	case "now":
		if a.now == nil {
			a.now = types.Timestamp{Time: a.t}
		}
		return a.now, true
	case "event":
		if a.event != nil {
			return a.event, true
		}
	case "member":
		if a.member != nil {
			return a.member, true
		}
	}
	v, ok := a.extra[name]
	return v, ok
}

func (a *activation) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*activation)(nil)

// errEval wraps a run-time expression failure; it becomes eval_error.
type errEval struct {
	expr *ir.Expr
	err  error
}

func (e *errEval) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.expr.Pos, e.expr.Src, e.err)
}

// eval evaluates an expression; run-time errors (an absent optional field,
// division by zero, an unknown calendar) come back as *errEval, never a
// panic.
func (m *Machine) eval(e *ir.Expr, act *activation) (v ref.Val, err error) {
	p, ok := m.progs[e]
	if !ok {
		return nil, &errEval{e, errors.New("expression not loaded")}
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &errEval{e, fmt.Errorf("internal error: %v", r)}
		}
	}()
	out, _, err := p.Eval(act)
	if err != nil {
		return nil, &errEval{e, err}
	}
	if types.IsError(out) {
		return nil, &errEval{e, out.(*types.Err)}
	}
	if types.IsUnknown(out) {
		return nil, &errEval{e, errors.New("the value is unknown")}
	}
	return out, nil
}

func (m *Machine) evalBool(e *ir.Expr, act *activation) (bool, error) {
	if e == nil {
		return true, nil
	}
	v, err := m.eval(e, act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, &errEval{e, fmt.Errorf("expected a bool, got %s", v.Type())}
	}
	return bool(b), nil
}

func (m *Machine) evalString(e *ir.Expr, act *activation) (string, error) {
	v, err := m.eval(e, act)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", &errEval{e, fmt.Errorf("expected a string, got %s", v.Type())}
	}
	return string(s), nil
}

func (m *Machine) evalNumber(e *ir.Expr, act *activation) (float64, error) {
	v, err := m.eval(e, act)
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case types.Int:
		return float64(n), nil
	case types.Double:
		return float64(n), nil
	case types.Uint:
		return float64(n), nil
	}
	return 0, &errEval{e, fmt.Errorf("expected a number, got %s", v.Type())}
}

// native converts a CEL value to the run-time native of a field type.
func native(v ref.Val, t ir.Type) (any, error) {
	n, err := nativeOf(v, t)
	if err == nil && !finite(n) {
		return nil, fmt.Errorf("the value is not a finite number (infinity or NaN)")
	}
	return n, err
}

// finite reports whether a value holds no infinite or NaN float: JSON (the
// API and the store) cannot represent them, so producing one is an
// expression error.
func finite(v any) bool {
	switch x := v.(type) {
	case float64:
		return !math.IsInf(x, 0) && !math.IsNaN(x)
	case []any:
		for _, e := range x {
			if !finite(e) {
				return false
			}
		}
	case map[string]any:
		for _, e := range x {
			if !finite(e) {
				return false
			}
		}
	}
	return true
}

func nativeOf(v ref.Val, t ir.Type) (any, error) {
	switch t.Kind {
	case ir.String, ir.Enum:
		if s, ok := v.(types.String); ok {
			if t.Kind == ir.Enum && !t.HasValue(string(s)) {
				return nil, fmt.Errorf("%q is not one of %v", string(s), t.Enum)
			}
			return string(s), nil
		}
	case ir.Int:
		if n, ok := v.(types.Int); ok {
			return int64(n), nil
		}
	case ir.Float:
		switch n := v.(type) {
		case types.Double:
			return float64(n), nil
		case types.Int:
			return float64(n), nil
		}
	case ir.Bool:
		if b, ok := v.(types.Bool); ok {
			return bool(b), nil
		}
	case ir.Timestamp:
		if ts, ok := v.(types.Timestamp); ok {
			return ts.Time, nil
		}
	case ir.DurationK:
		if d, ok := v.(types.Duration); ok {
			return d.Duration, nil
		}
	case ir.List, ir.Map:
		return ir.Coerce(t, toNative(v))
	}
	return nil, fmt.Errorf("expected %s, got %s", t, v.Type())
}

// toNative converts a CEL value to plain Go values, recursively.
func toNative(v ref.Val) any {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Int:
		return int64(x)
	case types.Uint:
		return int64(x)
	case types.Double:
		return float64(x)
	case types.Bool:
		return bool(x)
	case types.Timestamp:
		return x.Time
	case types.Duration:
		return x.Duration
	case types.Null:
		return nil
	case traits.Lister:
		n := int(x.Size().(types.Int))
		out := make([]any, n)
		for i := 0; i < n; i++ {
			out[i] = toNative(x.Get(types.Int(i)))
		}
		return out
	case traits.Mapper:
		out := map[string]any{}
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			out[fmt.Sprint(toNative(k))] = toNative(x.Get(k))
		}
		return out
	}
	return v.Value()
}

// NewActivation returns the variables of an expression evaluated outside a
// step — test expectations: `lead` (nil for none), `now`, and extra
// variables by name.
func NewActivation(m *Machine, l *Lead, now time.Time, extra map[string]any) interpreter.Activation {
	a := &activation{t: now, extra: extra}
	if l != nil {
		a.lead = &leadObj{m, l}
	}
	return a
}

// FieldValue returns a lead field by name in its JSON form, for reports.
func (m *Machine) FieldValue(l *Lead, name string) (any, bool) {
	v, ok := (&leadObj{m, l}).Field(name)
	if !ok {
		return nil, false
	}
	return ir.Export(v), true
}
