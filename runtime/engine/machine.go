package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/stdlib/calendar"
	"github.com/leadlang/lead/stdlib/celenv"
)

// Machine is a loaded workflow version: the IR plus everything Step needs
// precomputed — CEL programs (built once, reused by every step and safe for
// concurrent use), calendars, and lookup tables.
type Machine struct {
	W *ir.Workflow

	irOnce sync.Once
	irJSON []byte

	env        *celenv.Env
	progs      map[*ir.Expr]cel.Program
	fieldIndex map[string]int
	fieldNames []string // lead fields in schema order
	stages     map[string]*ir.Stage
	events     map[string]*ir.Event
	teams      map[string]*teamRT
	routings   map[string]*ir.Routing
	roles      map[string]bool
	cals       map[string]*calendar.Calendar
	scores     map[string]*ir.Score
	wfExc      map[string]*ir.ExceptionHandler
	// handlers lists the workflow-level handlers and score rules for each
	// event, in source order.
	handlers map[string][]*ir.Handler

	// Precomputed so that a step builds no strings: timer names and the
	// boxed CEL value of each event type's name.
	afterNames  []string          // "after:0", "after:1", ...
	warnNames   map[string]string // SLA name -> "warn:NAME"
	breachNames map[string]string // SLA name -> "breach:NAME"
	eventTypes  map[string]any    // event name -> types.String
}

// teamRT is a team as routing uses it: its rotation key, its members as
// CEL objects (for best_fit) and its shift calendar.
type teamRT struct {
	t        *ir.Team
	key      string
	row      string   // TeamRow + key
	openRows []string // OpenRow + each member's email, in member order
	members  []*memberObj
	cal      *calendar.Calendar
}

// IR returns the workflow as JSON, the form a store keeps its versions in,
// encoded once.
func (m *Machine) IR() []byte {
	m.irOnce.Do(func() {
		b, err := json.Marshal(m.W)
		if err != nil {
			panic("engine: a compiled workflow does not marshal: " + err.Error()) // plain data always does
		}
		m.irJSON = b
	})
	return m.irJSON
}

// Load prepares a compiled workflow for execution.
func Load(w *ir.Workflow) (*Machine, error) {
	env, err := celenv.New(w)
	if err != nil {
		return nil, err
	}
	m := &Machine{
		W: w, env: env,
		progs:      map[*ir.Expr]cel.Program{},
		fieldIndex: map[string]int{},
		stages:     map[string]*ir.Stage{},
		events:     map[string]*ir.Event{},
		teams:      map[string]*teamRT{},
		routings:   map[string]*ir.Routing{},
		roles:      map[string]bool{},
		cals:       map[string]*calendar.Calendar{},
		scores:     map[string]*ir.Score{},
		wfExc:      map[string]*ir.ExceptionHandler{},
		handlers:   map[string][]*ir.Handler{},

		warnNames:   map[string]string{},
		breachNames: map[string]string{},
		eventTypes:  map[string]any{},
	}
	for i, f := range w.Lead {
		m.fieldIndex[f.Name] = i
		m.fieldNames = append(m.fieldNames, f.Name)
	}
	for i := range w.Stages {
		m.stages[w.Stages[i].Name] = &w.Stages[i]
	}
	for i := range w.Events {
		m.events[w.Events[i].Name] = &w.Events[i]
		m.eventTypes[w.Events[i].Name] = types.String(w.Events[i].Name)
	}
	for i := range w.Routings {
		m.routings[w.Routings[i].Name] = &w.Routings[i]
	}
	for _, r := range w.Roles {
		m.roles[r.Name] = true
	}
	for _, c := range w.Calendars {
		cal, err := c.Build()
		if err != nil {
			return nil, err
		}
		m.cals[c.Name] = cal
	}
	for i := range w.Teams {
		t := &w.Teams[i]
		rt := &teamRT{t: t, key: TeamKey(w.Name, t.Name), cal: m.cals[t.Calendar]}
		rt.row = TeamRow + rt.key
		for j := range t.Members {
			rt.members = append(rt.members, newMemberObj(&t.Members[j]))
			rt.openRows = append(rt.openRows, OpenRow+t.Members[j].Email)
		}
		m.teams[t.Name] = rt
	}
	for i := range w.Stages {
		st := &w.Stages[i]
		for len(m.afterNames) < len(st.After) {
			m.afterNames = append(m.afterNames, timerAfter+strconv.Itoa(len(m.afterNames)))
		}
		for _, sla := range st.SLAs {
			m.warnNames[sla.Name] = timerWarn + sla.Name
			m.breachNames[sla.Name] = timerBreach + sla.Name
		}
	}
	for i := range w.Scores {
		m.scores[w.Scores[i].Field] = &w.Scores[i]
	}
	for i := range w.Exceptions {
		m.wfExc[w.Exceptions[i].Kind] = &w.Exceptions[i]
	}
	for i := range w.Handlers {
		h := &w.Handlers[i]
		for _, e := range h.Events {
			m.handlers[e] = append(m.handlers[e], h)
		}
	}
	if err := m.compile(); err != nil {
		return nil, fmt.Errorf("load %s@%s: %w", w.Name, w.Version, err)
	}
	return m, nil
}

// isRole reports whether name is a role of the workflow.
func (m *Machine) isRole(name string) bool { return m.roles[name] }

// Version is the workflow version the machine runs.
func (m *Machine) Version() string { return m.W.Version }

// Stage returns the stage named name, or nil.
func (m *Machine) Stage(name string) *ir.Stage { return m.stages[name] }

// Env returns the machine's CEL environments (tests build expectation
// programs in them).
func (m *Machine) Env() *celenv.Env { return m.env }

// compile builds a program for every expression, in the context the
// compiler checked it in (which variables it sees).
func (m *Machine) compile() error {
	none := celenv.Context{}
	var err error
	add := func(e *ir.Expr, ctx celenv.Context) {
		if e == nil || err != nil {
			return
		}
		p, _, perr := m.env.Program(ctx, e.Src)
		if perr != nil {
			err = fmt.Errorf("%s: %q: %w", e.Pos, e.Src, perr)
			return
		}
		m.progs[e] = p
	}
	actions := func(acts []ir.Action, ctx celenv.Context) {
		for i := range acts {
			a := &acts[i]
			add(a.Value, ctx)
			add(a.To, ctx)
			if a.Assign != nil {
				add(a.Assign.User, ctx)
			}
		}
	}
	for i := range m.W.Teams {
		add(m.W.Teams[i].By, celenv.Context{Team: m.W.Teams[i].Name})
	}
	for i := range m.W.Routings {
		for j := range m.W.Routings[i].Rules {
			r := &m.W.Routings[i].Rules[j]
			add(r.When, none)
			add(r.Target.User, none)
		}
	}
	for i := range m.W.Handlers {
		h := &m.W.Handlers[i]
		ctx := celenv.Context{Events: h.Events}
		add(h.Guard, ctx)
		actions(h.Actions, ctx)
	}
	for i := range m.W.Exceptions {
		actions(m.W.Exceptions[i].Actions, none)
	}
	for i := range m.W.Stages {
		s := &m.W.Stages[i]
		if s.Owner.Responsible != nil {
			add(s.Owner.Responsible.User, none)
		}
		actions(s.Enter, none)
		actions(s.Exit, none)
		for j := range s.On {
			t := &s.On[j]
			ctx := celenv.Context{Events: t.Events}
			add(t.Guard, ctx)
			actions(t.Actions, ctx)
		}
		for j := range s.Handlers {
			h := &s.Handlers[j]
			ctx := celenv.Context{Events: h.Events}
			add(h.Guard, ctx)
			actions(h.Actions, ctx)
		}
		for j := range s.When {
			add(s.When[j].Guard, none)
			actions(s.When[j].Actions, none)
		}
		for j := range s.After {
			for k := range s.After[j].Choices {
				add(s.After[j].Choices[k].When, none)
			}
			actions(s.After[j].Actions, none)
		}
		for j := range s.SLAs {
			for k := range s.SLAs[j].Choices {
				add(s.SLAs[j].Choices[k].When, none)
			}
			if w := s.SLAs[j].Warn; w != nil {
				actions(w.Actions, none)
			}
			actions(s.SLAs[j].Breach, none)
		}
		if s.Nurture != nil {
			add(s.Nurture.Message, none)
		}
		for j := range s.Exceptions {
			actions(s.Exceptions[j].Actions, none)
		}
	}
	return err
}

// add returns the instant d after t: working time on the named calendar,
// else wall-clock time.
func (m *Machine) add(t time.Time, d time.Duration, cal string) time.Time {
	if c := m.cals[cal]; c != nil {
		return c.Add(t, d)
	}
	return t.Add(d)
}

// FieldIndex returns the position of a lead field in Lead.Fields.
func (m *Machine) FieldIndex(name string) (int, bool) {
	i, ok := m.fieldIndex[name]
	return i, ok
}

// FieldNames returns the lead fields in the order of Lead.Fields. The
// slice is shared: do not modify it.
func (m *Machine) FieldNames() []string { return m.fieldNames }
