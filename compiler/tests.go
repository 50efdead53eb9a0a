package compiler

import (
	"sort"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib/celenv"
)

// DefaultTestTime is a test's virtual clock when it has no `at`.
var DefaultTestTime = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Test is a compiled `test` block (the language reference §15).
type Test struct {
	Name  string
	File  *lang.File
	Pos   ir.Pos
	Steps []TestStep
}

// Test step kinds.
const (
	StepAt       = "at"
	StepCapture  = "capture"
	StepSend     = "send"
	StepWait     = "wait"
	StepExpect   = "expect"
	StepOverride = "override"
)

// TestStep is one statement of a test, with its values already checked
// against the schema and converted to run-time form.
type TestStep struct {
	Kind   string
	Pos    ir.Pos
	At     time.Time      // at
	Fields map[string]any // capture fields or send payload
	ID     string         // capture: the lead id, if given
	Event  string         // send
	Stage  string         // override: the stage (a cell's qualified)
	Reason string         // override: the reason recorded
	Wait   time.Duration  // wait
	Expect *ir.Expr       // expect: a bool expression in the test context
}

// compileTests checks the workflow's test blocks.
func (c *compilation) compileTests() {
	seen := map[string]lang.Span{}
	var jobs []*exprJob
	for _, td := range c.testDecls {
		f, d := td.file, td.node
		t := &Test{Name: d.Name.Value(), File: f, Pos: pos(f, d.Span())}
		if prev, ok := seen[t.Name]; ok && f == c.main {
			c.errorf(f, d.Name.Span(), CodeDuplicate, "test %s is declared twice", d.Name.Raw).related(f, prev, "first declared here")
		}
		seen[t.Name] = d.Name.Span()
		captured := false
		var clock *time.Time
		for _, st := range d.Stmts {
			step := TestStep{Pos: pos(f, st.Span())}
			switch st := st.(type) {
			case *lang.At:
				ts, err := time.Parse(time.RFC3339, st.Time.Value())
				if err != nil {
					c.errorf(f, st.Time.Span(), CodeTest, "invalid time %s", st.Time.Raw).
						help("write an RFC 3339 time with its offset, e.g. \"2026-03-02T09:00:00-05:00\"")
					continue
				}
				if clock != nil && ts.Before(*clock) {
					c.errorf(f, st.Time.Span(), CodeTest, "`at` cannot move the clock backwards")
					continue
				}
				clock = &ts
				step.Kind, step.At = StepAt, ts
			case *lang.Capture:
				step.Kind = StepCapture
				step.Fields, step.ID = c.captureFields(f, st, st.Fields)
				captured = true
			case *lang.Send:
				if !captured {
					c.errorf(f, st.Span(), CodeTest, "`send` needs a lead: capture one first")
				}
				step.Kind, step.Event = StepSend, st.Event.Name
				if !c.resolveEvent(f, st.Event) {
					continue
				}
				switch st.Event.Name {
				case ir.EventCaptured:
					c.errorf(f, st.Event.Span(), CodeTest, "`captured` happens when a lead is created: use `capture { ... }`")
					continue
				case ir.EventUpdated:
					// `send updated { FIELD = VALUE }` changes lead fields as
					// PATCH /v1/leads/{id} does, then runs `updated`.
					if st.Data == nil || len(st.Data.Fields) == 0 {
						c.errorf(f, st.Event.Span(), CodeTest, "`send updated` needs the fields it changes: `send updated { FIELD = VALUE }`")
						continue
					}
					step.Fields = c.updateFields(f, st.Data)
				default:
					step.Fields = c.payload(f, st)
				}
			case *lang.Override:
				if !captured {
					c.errorf(f, st.Span(), CodeTest, "`override` needs a lead: capture one first")
				}
				step.Kind = StepOverride
				if step.Stage = c.resolveTarget(f, st.Stage, nil); step.Stage == "" {
					continue
				}
				step.Reason = "overridden by a test"
				if st.Reason != nil {
					if strings.TrimSpace(st.Reason.Value()) == "" {
						c.errorf(f, st.Reason.Span(), CodeTest, "an override's reason cannot be empty").
							help("say why the lead is moved, or leave the reason out")
						continue
					}
					step.Reason = st.Reason.Value()
				}
			case *lang.Wait:
				d, ok := c.duration(f, st.For)
				if !ok {
					continue
				}
				step.Kind, step.Wait = StepWait, time.Duration(d)
			case *lang.Expect:
				step.Kind = StepExpect
				j := c.queue(f, st.Cond, celenv.Context{Test: true}, wantBool, "an expectation", nil, nil)
				jobs = append(jobs, j)
				step.Expect = j.out
			}
			t.Steps = append(t.Steps, step)
		}
		c.tests = append(c.tests, t)
	}
	// Expectations are checked like every other expression, after the
	// workflow's own (which they may not affect).
	saved := c.exprs
	c.exprs = jobs
	c.checkExprs()
	c.exprs = append(saved, jobs...)
}

// captureFields checks a capture's values against the lead schema and
// converts them. `id` sets the lead's id.
func (c *compilation) captureFields(f *lang.File, st *lang.Capture, obj *lang.ObjectLit) (map[string]any, string) {
	out := map[string]any{}
	id := ""
	given := map[string]bool{}
	for _, fv := range obj.Fields {
		name := fv.Name.Name
		if given[name] {
			c.errorf(f, fv.Name.Span(), CodeTest, "field `%s` is given twice", name)
			continue
		}
		given[name] = true
		if name == "id" {
			if fv.Value.String == nil {
				c.errorf(f, fv.Value.Span(), CodeTest, "a lead id is a string")
				continue
			}
			id = fv.Value.String.Value()
			continue
		}
		field := c.testField(f, fv.Name)
		if field == nil {
			continue
		}
		if v, ok := c.literal(f, fv.Value, field.Type); ok {
			out[name] = v
		}
	}
	var missing []string
	for _, fd := range c.w.Lead {
		if fd.Required() && !given[fd.Name] {
			missing = append(missing, fd.Name)
		}
	}
	if len(missing) > 0 {
		kw := lang.Span{Start: st.Span().Start, End: st.Span().Start + len("capture")}
		c.errorf(f, kw, CodeTest, "capture is missing required %s %s", plural(len(missing), "field", "fields"), strings.Join(missing, ", ")).
			help("a lead field without a default and without `?` must be given when a lead is captured")
	}
	return out, id
}

// testField resolves a lead field a test gives a value, reporting one
// that the schema does not have.
func (c *compilation) testField(f *lang.File, name *lang.Ident) *ir.Field {
	field := c.w.Field(name.Name)
	if field == nil {
		d := c.errorf(f, name.Span(), CodeTest, "lead has no field `%s`", name.Name).suggest(name.Name, c.fieldNames())
		if ir.IsBuiltinAttr(name.Name) {
			d.help("lead.%s is set by the runtime", name.Name)
		}
	}
	return field
}

// updateFields checks the fields of `send updated { ... }` against the
// lead schema.
func (c *compilation) updateFields(f *lang.File, obj *lang.ObjectLit) map[string]any {
	out := map[string]any{}
	for _, fv := range obj.Fields {
		name := fv.Name.Name
		field := c.testField(f, fv.Name)
		if field == nil {
			continue
		}
		if _, dup := out[name]; dup {
			c.errorf(f, fv.Name.Span(), CodeTest, "field `%s` is given twice", name)
			continue
		}
		if v, ok := c.literal(f, fv.Value, field.Type); ok {
			out[name] = v
		}
	}
	return out
}

// payload checks a send's payload against the event's fields.
func (c *compilation) payload(f *lang.File, st *lang.Send) map[string]any {
	out := map[string]any{}
	ev := c.w.Event(st.Event.Name)
	given := map[string]bool{}
	if st.Data != nil {
		var names []string
		for _, fd := range ev.Fields {
			names = append(names, fd.Name)
		}
		for _, fv := range st.Data.Fields {
			name := fv.Name.Name
			var field *ir.Field
			for i := range ev.Fields {
				if ev.Fields[i].Name == name {
					field = &ev.Fields[i]
				}
			}
			if field == nil {
				c.errorf(f, fv.Name.Span(), CodeTest, "event %s has no field `%s`", ev.Name, name).suggest(name, names)
				continue
			}
			if given[name] {
				c.errorf(f, fv.Name.Span(), CodeTest, "field `%s` is given twice", name)
				continue
			}
			given[name] = true
			if v, ok := c.literal(f, fv.Value, field.Type); ok {
				out[name] = v
			}
		}
	}
	var missing []string
	for _, fd := range ev.Fields {
		if fd.Required() && !given[fd.Name] {
			missing = append(missing, fd.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		c.errorf(f, st.Event.Span(), CodeTest, "event %s needs %s %s", ev.Name, plural(len(missing), "field", "fields"), strings.Join(missing, ", ")).
			help("write them in braces: send %s { %s = ... }", ev.Name, missing[0])
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
