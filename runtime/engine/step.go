package engine

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
)

// MaxChain is the longest chain of moves one step may make before the
// `loop` exception (LANGUAGE.md §7.3).
const MaxChain = 64

// Timer name prefixes. A timer's name says what it does when it fires.
const (
	timerAfter   = "after:"  // after:INDEX — a stage timeout
	timerWarn    = "warn:"   // warn:SLA
	timerBreach  = "breach:" // breach:SLA
	timerNurture = "nurture" // a develop stage's nurture
	timerDecay   = "decay:"  // decay:FIELD — a score's decay
)

// InputError is a rejected input: nothing changed. Problems name every bad
// field (INTERFACES.md: 422 details).
type InputError struct {
	Message  string
	Problems []Problem
}

// Problem is one bad field of an input.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *InputError) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Field+": "+p.Message)
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// stepper holds the working state of one step.
type stepper struct {
	m     *Machine
	old   *Lead
	lead  *Lead
	now   time.Time
	rot   *Rotation
	delta RoutingDelta
	entry Entry
	notes []Notification
	event *eventObj
	a     activation

	moves   int  // moves in this step, for the loop limit
	halted  bool // an unhandled exception stopped automatic processing
	inExc   bool // running an exception handler
	changed map[string]bool
}

// Step applies one input to a lead. lead is nil for a capture. It never
// mutates lead or rot; on a rejected input it returns an *InputError and no
// result.
func Step(m *Machine, lead *Lead, in Input, now time.Time, rot *Rotation) (*Result, error) {
	s := &stepper{m: m, old: lead, now: now, rot: rot}
	switch in.Kind {
	case Capture:
		if lead != nil {
			return nil, &InputError{Message: "lead " + lead.ID + " already exists"}
		}
		if err := s.capture(in); err != nil {
			return nil, err
		}
	case Event, Update:
		if lead == nil {
			return nil, &InputError{Message: "no such lead"}
		}
		s.begin(in)
		if err := s.onEvent(in); err != nil {
			return nil, err
		}
	case Timer:
		if lead == nil {
			return nil, &InputError{Message: "no such lead"}
		}
		if due, ok := lead.Timers[in.Timer]; !ok || !due.Equal(in.Due) {
			return &Result{Lead: lead, Stale: true}, nil
		}
		s.begin(in)
		s.onTimer(in)
	case Override:
		if lead == nil {
			return nil, &InputError{Message: "no such lead"}
		}
		if m.stages[in.Stage] == nil {
			return nil, &InputError{Message: "unknown stage", Problems: []Problem{{Field: "stage", Message: fmt.Sprintf("workflow %s has no stage %q", m.W.Name, in.Stage)}}}
		}
		if strings.TrimSpace(in.Reason) == "" {
			return nil, &InputError{Message: "an override needs a reason", Problems: []Problem{{Field: "reason", Message: "say why the lead is moved"}}}
		}
		s.begin(in)
		s.onOverride(in)
	default:
		return nil, &InputError{Message: "unknown input"}
	}
	return s.finish(), nil
}

// begin copies the lead for writing and opens the history entry.
func (s *stepper) begin(in Input) {
	l := *s.old
	l.Fields = append([]any(nil), s.old.Fields...)
	l.SLAs = append([]SLAState(nil), s.old.SLAs...)
	l.Timers = copyTimes(s.old.Timers)
	l.ScoreChanged = copyTimes(s.old.ScoreChanged)
	if s.old.Stuck != nil {
		st := *s.old.Stuck
		l.Stuck = &st
	}
	s.lead = &l
	s.entry = Entry{At: s.now, Cause: in.Kind.String(), From: l.Stage, EventID: in.EventID}
}

func copyTimes(m map[string]time.Time) map[string]time.Time {
	if m == nil {
		return nil
	}
	c := make(map[string]time.Time, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// act returns the activation for the current lead, event and time.
func (s *stepper) act() *activation {
	s.a = activation{lead: leadObj{s.m, s.lead}, event: s.event, now: s.now}
	return &s.a
}

// ---------------------------------------------------------------------------
// Inputs

func (s *stepper) capture(in Input) error {
	if strings.TrimSpace(in.LeadID) == "" {
		return &InputError{Message: "a lead needs an id"}
	}
	fields, problems := s.m.leadFields(in.Data, true)
	if len(problems) > 0 {
		return &InputError{Message: "invalid lead fields", Problems: problems}
	}
	s.lead = &Lead{
		ID: in.LeadID, Workflow: s.m.W.Name, Version: s.m.W.Version,
		CreatedAt: s.now, EnteredAt: s.now, Fields: fields,
	}
	s.entry = Entry{At: s.now, Cause: Capture.String(), Event: ir.EventCaptured}
	s.event = &eventObj{typ: ir.EventCaptured, at: s.now}
	s.workflowHandlers(ir.EventCaptured)
	s.event = nil
	s.enter(s.m.W.Start, "capture")
	s.settle()
	return nil
}

// leadFields validates capture or update fields and returns the field
// slice: for a capture, defaults filled in and required fields checked.
func (m *Machine) leadFields(data map[string]any, capture bool) ([]any, []Problem) {
	fields := make([]any, len(m.W.Lead))
	var problems []Problem
	for name, v := range data {
		i, ok := m.fieldIndex[name]
		if !ok {
			msg := "not a field of this workflow's leads"
			if ir.IsBuiltinAttr(name) {
				msg = "a built-in attribute the runtime sets"
			}
			problems = append(problems, Problem{Field: name, Message: msg})
			continue
		}
		f := m.W.Lead[i]
		if v == nil {
			if !f.Optional {
				problems = append(problems, Problem{Field: name, Message: "cannot be null: it is not optional"})
			}
			continue
		}
		c, err := ir.Coerce(f.Type, v)
		if err != nil {
			problems = append(problems, Problem{Field: name, Message: err.Error()})
			continue
		}
		fields[i] = c
	}
	if capture {
		for i, f := range m.W.Lead {
			if _, given := data[f.Name]; given {
				continue
			}
			if f.Default != nil {
				d, err := ir.Coerce(f.Type, f.Default)
				if err == nil {
					fields[i] = d
				}
			} else if !f.Optional {
				problems = append(problems, Problem{Field: f.Name, Message: "is required"})
			}
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
	return fields, problems
}

// payload validates an event's data against its declared fields.
func (m *Machine) payload(ev *ir.Event, data map[string]any) (map[string]any, []Problem) {
	out := make(map[string]any, len(ev.Fields))
	var problems []Problem
	known := map[string]bool{}
	for _, f := range ev.Fields {
		known[f.Name] = true
		v, given := data[f.Name]
		switch {
		case !given || v == nil:
			if f.Default != nil {
				d, _ := ir.Coerce(f.Type, f.Default)
				out[f.Name] = d
			} else if !f.Optional {
				problems = append(problems, Problem{Field: f.Name, Message: "is required"})
			}
		default:
			c, err := ir.Coerce(f.Type, v)
			if err != nil {
				problems = append(problems, Problem{Field: f.Name, Message: err.Error()})
				continue
			}
			out[f.Name] = c
		}
	}
	for name := range data {
		if !known[name] {
			problems = append(problems, Problem{Field: name, Message: fmt.Sprintf("event %s has no such field", ev.Name)})
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
	return out, problems
}

func (s *stepper) onEvent(in Input) error {
	name := in.Event
	var data map[string]any
	if in.Kind == Update {
		name = ir.EventUpdated
		if len(in.Data) == 0 {
			return &InputError{Message: "an update needs fields"}
		}
		fields, problems := s.m.leadFields(in.Data, false)
		if len(problems) > 0 {
			return &InputError{Message: "invalid lead fields", Problems: problems}
		}
		for fname := range in.Data {
			i := s.m.fieldIndex[fname]
			s.setField(i, fields[i])
		}
	} else {
		ev := s.m.events[name]
		if ev == nil || ev.Builtin {
			var declared []string
			for _, e := range s.m.W.Events {
				if !e.Builtin {
					declared = append(declared, e.Name)
				}
			}
			return &InputError{Message: fmt.Sprintf("unknown event type %q", name), Problems: []Problem{{Field: "type",
				Message: fmt.Sprintf("workflow %s declares: %s", s.m.W.Name, strings.Join(declared, ", "))}}}
		}
		var problems []Problem
		data, problems = s.m.payload(ev, in.Data)
		if len(problems) > 0 {
			return &InputError{Message: "invalid event payload", Problems: problems}
		}
	}
	s.entry.Event = name
	s.event = &eventObj{typ: name, at: s.now, data: data}
	stage := s.m.stages[s.lead.Stage]
	s.metBy(stage, name)
	s.workflowHandlers(name)
	if s.halted {
		return nil
	}
	if stage != nil && s.lead.Stage == stage.Name {
		s.stageEvent(stage, name)
	}
	s.event = nil
	s.settle()
	return nil
}

// metBy marks the stage's running SLAs met by this event.
func (s *stepper) metBy(stage *ir.Stage, event string) {
	if stage == nil {
		return
	}
	for i := range s.lead.SLAs {
		st := &s.lead.SLAs[i]
		if st.State != SLARunning && st.State != SLAWarned {
			continue
		}
		sla := slaOf(stage, st.Name)
		if sla == nil || !contains(sla.Until, event) {
			continue
		}
		st.State = SLAMet
		s.cancelTimer(timerWarn + st.Name)
		s.cancelTimer(timerBreach + st.Name)
		s.entry.SLAs = append(s.entry.SLAs, SLAOutcome{Name: st.Name, Stage: stage.Name, State: SLAMet, Deadline: st.Deadline})
	}
}

func slaOf(stage *ir.Stage, name string) *ir.SLA {
	for i := range stage.SLAs {
		if stage.SLAs[i].Name == name {
			return &stage.SLAs[i]
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workflowHandlers runs the workflow-level handlers and score rules for an
// event, in source order (LANGUAGE.md §7.3 step 2).
func (s *stepper) workflowHandlers(event string) {
	for _, h := range s.m.handlers[event] {
		if s.halted {
			return
		}
		ok, err := s.m.evalBool(h.Guard, s.act())
		if err != nil {
			s.raise(ir.ExcEvalError, err.Error())
			return
		}
		if !ok {
			continue
		}
		if h.Score != nil {
			s.addScore(h.Score)
			continue
		}
		s.run(h.Actions)
	}
}

// stageEvent handles an event in the current stage: the first event
// transition whose guard holds fires; otherwise the in-stage handlers run.
func (s *stepper) stageEvent(stage *ir.Stage, event string) bool {
	for i := range stage.On {
		t := &stage.On[i]
		if !contains(t.Events, event) {
			continue
		}
		ok, err := s.m.evalBool(t.Guard, s.act())
		if err != nil {
			s.raise(ir.ExcEvalError, err.Error())
			return s.lead.Stage != stage.Name
		}
		if ok {
			s.move(t.Target, t.ID, t.Actions)
			return true
		}
	}
	for i := range stage.Handlers {
		h := &stage.Handlers[i]
		if !contains(h.Events, event) {
			continue
		}
		ok, err := s.m.evalBool(h.Guard, s.act())
		if err != nil {
			s.raise(ir.ExcEvalError, err.Error())
			return s.lead.Stage != stage.Name
		}
		if ok {
			s.run(h.Actions)
			if s.halted || s.lead.Stage != stage.Name {
				return s.lead.Stage != stage.Name
			}
		}
	}
	return false
}

func (s *stepper) onTimer(in Input) {
	name := in.Timer
	delete(s.lead.Timers, name)
	s.entry.Timer = name
	if late := s.now.Sub(in.Due); late > 0 {
		s.entry.Late = late
	}
	stage := s.m.stages[s.lead.Stage]
	switch {
	case strings.HasPrefix(name, timerAfter):
		i, _ := strconv.Atoi(strings.TrimPrefix(name, timerAfter))
		if stage != nil && i < len(stage.After) {
			t := &stage.After[i]
			s.move(t.Target, t.ID, t.Actions)
		}
	case strings.HasPrefix(name, timerWarn):
		s.slaWarn(stage, strings.TrimPrefix(name, timerWarn))
	case strings.HasPrefix(name, timerBreach):
		s.slaBreach(stage, strings.TrimPrefix(name, timerBreach))
	case name == timerNurture:
		s.nurture(stage)
	case strings.HasPrefix(name, timerDecay):
		s.decay(strings.TrimPrefix(name, timerDecay))
	}
	s.settle()
}

func (s *stepper) onOverride(in Input) {
	s.entry.Override = &OverrideRecord{Stage: in.Stage, Reason: in.Reason, Actor: in.Actor}
	s.entry.Exceptions = append(s.entry.Exceptions, ExceptionRecord{
		Kind: "override", Reason: in.Reason, Stage: s.lead.Stage, Handler: "override", Resolved: true,
	})
	s.lead.Stuck = nil
	s.move(in.Stage, "override", nil)
	s.settle()
}

// ---------------------------------------------------------------------------
// Moving

// settle fires automatic transitions until none holds (LANGUAGE.md §7.3
// steps 4 and 5): a chain of `when` moves, limited by MaxChain.
func (s *stepper) settle() {
	for !s.halted {
		stage := s.m.stages[s.lead.Stage]
		if stage == nil || stage.Terminal {
			return
		}
		var fire *ir.Transition
		for i := range stage.When {
			t := &stage.When[i]
			ok, err := s.m.evalBool(t.Guard, s.act())
			if err != nil {
				s.raise(ir.ExcEvalError, err.Error())
				break
			}
			if ok {
				fire = t
				break
			}
		}
		if fire == nil {
			return
		}
		s.move(fire.Target, fire.ID, fire.Actions)
	}
}

// move leaves the current stage and enters target: exit actions, the
// transition's actions, then entering target. It reports whether the move
// happened (the loop limit may stop it).
func (s *stepper) move(target, edge string, actions []ir.Action) bool {
	s.moves++
	if s.moves > MaxChain {
		s.raise(ir.ExcLoop, fmt.Sprintf("more than %d moves in one step (last: %s -> %s)", MaxChain, s.lead.Stage, target))
		s.halted = true
		return false
	}
	from := s.lead.Stage
	s.leave()
	if len(actions) > 0 {
		s.run(actions)
	}
	if s.lead.Stage != from {
		return true // a transition action raised an exception whose handler moved the lead
	}
	s.enter(target, edge)
	return true
}

// leave runs the current stage's exit actions and ends its timers and SLAs.
func (s *stepper) leave() {
	stage := s.m.stages[s.lead.Stage]
	if stage == nil {
		return
	}
	if len(stage.Exit) > 0 {
		s.run(stage.Exit)
	}
	for name := range s.lead.Timers {
		if strings.HasPrefix(name, timerAfter) || strings.HasPrefix(name, timerWarn) ||
			strings.HasPrefix(name, timerBreach) || name == timerNurture {
			s.cancelTimer(name)
		}
	}
	for _, st := range s.lead.SLAs {
		if st.State != SLARunning && st.State != SLAWarned {
			continue
		}
		state := SLAMet // met by leaving, unless it waits for `until` events
		if sla := slaOf(stage, st.Name); sla != nil && len(sla.Until) > 0 {
			state = SLACancelled
		}
		s.entry.SLAs = append(s.entry.SLAs, SLAOutcome{Name: st.Name, Stage: stage.Name, State: state, Deadline: st.Deadline})
	}
	s.lead.SLAs = nil
}

// enter puts the lead in target: the owner is routed, enter actions run,
// timers and SLAs start. Automatic transitions are checked by settle.
func (s *stepper) enter(target, edge string) {
	from := s.lead.Stage
	stage := s.m.stages[target]
	s.lead.Stage = target
	s.lead.EnteredAt = s.now
	s.entry.Moves = append(s.entry.Moves, Move{From: from, To: target, Edge: edge})
	if from != "" && s.lead.Stuck != nil {
		s.lead.Stuck = nil // moving on resolves being stuck
	}
	if stage.Owner.Responsible != nil {
		owner, err := s.resolve(stage.Owner.Responsible, "", true)
		if err != nil {
			s.lead.Owner = ""
			if s.routingFailed(err) && s.lead.Stage != target {
				return // the handler moved the lead elsewhere
			}
		} else {
			s.lead.Owner = owner
		}
	}
	if len(stage.Enter) > 0 {
		s.run(stage.Enter)
		if s.lead.Stage != target {
			return
		}
	}
	s.startTimers(stage)
}

// routingFailed raises no_owner or eval_error for a routing error and
// reports whether a handler took over.
func (s *stepper) routingFailed(err error) bool {
	var no *noOwner
	if errors.As(err, &no) {
		return s.raise(ir.ExcNoOwner, no.reason)
	}
	return s.raise(ir.ExcEvalError, err.Error())
}

func (s *stepper) startTimers(stage *ir.Stage) {
	for i, t := range stage.After {
		s.setTimer(timerAfter+strconv.Itoa(i), s.m.add(s.now, time.Duration(t.After), t.Calendar))
	}
	for i := range stage.SLAs {
		s.startSLA(stage, &stage.SLAs[i], "started")
	}
	if n := stage.Nurture; n != nil {
		s.setTimer(timerNurture, s.m.add(s.now, time.Duration(n.Every), n.Calendar))
	}
}

// startSLA (re)starts an SLA from now.
func (s *stepper) startSLA(stage *ir.Stage, sla *ir.SLA, outcome string) {
	deadline := s.m.add(s.now, time.Duration(sla.Within), sla.Calendar)
	st := SLAState{Name: sla.Name, Started: s.now, Deadline: deadline, State: SLARunning}
	replaced := false
	for i := range s.lead.SLAs {
		if s.lead.SLAs[i].Name == sla.Name {
			s.lead.SLAs[i], replaced = st, true
		}
	}
	if !replaced {
		s.lead.SLAs = append(s.lead.SLAs, st)
	}
	if w := sla.Warn; w != nil {
		at := time.Duration(w.At)
		if w.Percent > 0 {
			at = time.Duration(int64(sla.Within) * int64(w.Percent) / 100)
		}
		s.setTimer(timerWarn+sla.Name, s.m.add(s.now, at, sla.Calendar))
	}
	s.setTimer(timerBreach+sla.Name, deadline)
	s.entry.SLAs = append(s.entry.SLAs, SLAOutcome{Name: sla.Name, Stage: stage.Name, State: outcome, Deadline: deadline})
}

func (s *stepper) slaState(name string) *SLAState {
	for i := range s.lead.SLAs {
		if s.lead.SLAs[i].Name == name {
			return &s.lead.SLAs[i]
		}
	}
	return nil
}

func (s *stepper) slaWarn(stage *ir.Stage, name string) {
	st := s.slaState(name)
	sla := slaOf(stage, name)
	if st == nil || sla == nil || st.State != SLARunning {
		return
	}
	st.State = SLAWarned
	s.entry.SLAs = append(s.entry.SLAs, SLAOutcome{Name: name, Stage: stage.Name, State: SLAWarned, Deadline: st.Deadline})
	if sla.Warn != nil {
		s.run(sla.Warn.Actions)
	}
}

func (s *stepper) slaBreach(stage *ir.Stage, name string) {
	st := s.slaState(name)
	sla := slaOf(stage, name)
	if st == nil || sla == nil || (st.State != SLARunning && st.State != SLAWarned) {
		return
	}
	st.State = SLABreached
	s.cancelTimer(timerWarn + name)
	s.entry.SLAs = append(s.entry.SLAs, SLAOutcome{Name: name, Stage: stage.Name, State: SLABreached, Deadline: st.Deadline})
	if !sla.HasBreach {
		s.raise(ir.ExcSLABreach, fmt.Sprintf("SLA %s of stage %s breached at %s", name, stage.Name, st.Deadline.Format(time.RFC3339)))
		return
	}
	s.run(sla.Breach)
}

func (s *stepper) nurture(stage *ir.Stage) {
	if stage == nil || stage.Nurture == nil {
		return
	}
	n := stage.Nurture
	msg := fmt.Sprintf("Nurture lead %s", s.lead.ID)
	if n.Message != nil {
		v, err := s.m.evalString(n.Message, s.act())
		if err != nil {
			s.raise(ir.ExcEvalError, err.Error())
			return
		}
		msg = v
	}
	s.notify(NotifyNurture, s.lead.Owner, "responsible", msg)
	s.entry.Actions = append(s.entry.Actions, "nurture")
	s.setTimer(timerNurture, s.m.add(s.now, time.Duration(n.Every), n.Calendar))
}

// ---------------------------------------------------------------------------
// Scores

func (s *stepper) addScore(a *ir.ScoreAdd) {
	i := s.m.fieldIndex[a.Field]
	sc := s.m.scores[a.Field]
	var v any
	switch cur := s.lead.Fields[i].(type) {
	case int64:
		v = clampInt(cur+int64(a.Amount), sc)
	case float64:
		v = clampFloat(cur+a.Amount, sc)
	default:
		return
	}
	s.setField(i, v)
	s.touchScore(sc)
}

// touchScore records a score change and (re)starts its decay timer.
func (s *stepper) touchScore(sc *ir.Score) {
	if s.lead.ScoreChanged == nil {
		s.lead.ScoreChanged = map[string]time.Time{}
	}
	s.lead.ScoreChanged[sc.Field] = s.now
	if sc.Decay != nil {
		s.setTimer(timerDecay+sc.Field, s.m.add(s.now, time.Duration(sc.Decay.Every), sc.Decay.Calendar))
	}
}

// decay lowers a score by its percentage; integers round toward zero (down
// for the usual positive scores). It keeps decaying every period until the
// score reaches zero.
func (s *stepper) decay(field string) {
	sc := s.m.scores[field]
	i, ok := s.m.fieldIndex[field]
	if sc == nil || sc.Decay == nil || !ok {
		return
	}
	keep := 1 - float64(sc.Decay.Percent)/100
	var v any
	zero := false
	switch cur := s.lead.Fields[i].(type) {
	case int64:
		n := clampInt(int64(math.Trunc(float64(cur)*keep)), sc)
		v, zero = n, n == 0
	case float64:
		f := clampFloat(cur*keep, sc)
		v, zero = f, f == 0
	default:
		return
	}
	s.setField(i, v)
	s.entry.Actions = append(s.entry.Actions, "decay "+field)
	if !zero {
		s.touchScore(sc)
	}
}

func clampInt(v int64, sc *ir.Score) int64 {
	if sc.Min != nil && float64(v) < *sc.Min {
		v = int64(math.Ceil(*sc.Min))
	}
	if sc.Max != nil && float64(v) > *sc.Max {
		v = int64(math.Floor(*sc.Max))
	}
	return v
}

func clampFloat(v float64, sc *ir.Score) float64 {
	if sc.Min != nil && v < *sc.Min {
		v = *sc.Min
	}
	if sc.Max != nil && v > *sc.Max {
		v = *sc.Max
	}
	return v
}

// ---------------------------------------------------------------------------
// Actions and exceptions

// Notification kinds.
const (
	NotifyNotify   = "notify"
	NotifyEscalate = "escalate"
	NotifyNurture  = "nurture"
)

// run executes actions in order. A failing action raises its exception and
// stops the block; a move (the last action) leaves the stage.
func (s *stepper) run(actions []ir.Action) {
	stage := s.lead.Stage
	for i := range actions {
		if s.halted || s.lead.Stage != stage {
			return
		}
		a := &actions[i]
		if err := s.action(a); err != nil {
			s.routingFailedOrEval(err)
			return
		}
	}
}

func (s *stepper) routingFailedOrEval(err error) {
	var no *noOwner
	if errors.As(err, &no) {
		s.raise(ir.ExcNoOwner, no.reason)
		return
	}
	s.raise(ir.ExcEvalError, err.Error())
}

func (s *stepper) action(a *ir.Action) error {
	switch a.Kind {
	case ir.ActSet:
		v, err := s.m.eval(a.Value, s.act())
		if err != nil {
			return err
		}
		i := s.m.fieldIndex[a.Field]
		n, err := native(v, s.m.W.Lead[i].Type)
		if err != nil {
			return &errEval{a.Value, fmt.Errorf("lead.%s: %w", a.Field, err)}
		}
		s.setField(i, n)
		s.entry.Actions = append(s.entry.Actions, "set "+a.Field)
	case ir.ActAssign:
		owner, err := s.resolve(a.Assign, "", false)
		if err != nil {
			return err
		}
		s.lead.Owner = owner
		s.entry.Actions = append(s.entry.Actions, "assign "+owner)
	case ir.ActReassign:
		stage := s.m.stages[s.lead.Stage]
		if stage.Owner.Responsible == nil {
			return &noOwner{fmt.Sprintf("stage %s has no responsible owner to route again", stage.Name)}
		}
		owner, err := s.resolve(stage.Owner.Responsible, s.lead.Owner, false)
		if err != nil {
			return err
		}
		s.lead.Owner = owner
		s.entry.Actions = append(s.entry.Actions, "reassign "+owner)
		for i := range stage.SLAs {
			sla := &stage.SLAs[i]
			if st := s.slaState(sla.Name); st != nil && st.State != SLAMet {
				s.startSLA(stage, sla, "restarted")
			}
		}
	case ir.ActNotify:
		msg, err := s.message(a, "Lead %s needs attention in %s")
		if err != nil {
			return err
		}
		for _, to := range s.recipients(a.Target) {
			s.notify(NotifyNotify, to, a.Target, msg)
		}
		s.entry.Actions = append(s.entry.Actions, "notify "+a.Target)
	case ir.ActEscalate:
		msg, err := s.message(a, "Lead %s escalated from %s")
		if err != nil {
			return err
		}
		s.notify(NotifyEscalate, a.Target, a.Target, msg)
		s.entry.Escalations = append(s.entry.Escalations, a.Target)
		s.entry.Actions = append(s.entry.Actions, "escalate "+a.Target)
	case ir.ActMove:
		s.move(a.Target, s.edgeOfMove(a), nil)
	}
	return nil
}

// edgeOfMove names the edge of a `-> T` action by the block it is in; the
// compiler's Edges() uses the same IDs.
func (s *stepper) edgeOfMove(a *ir.Action) string {
	stage := s.m.stages[s.lead.Stage]
	in := func(acts []ir.Action) bool {
		for i := range acts {
			if &acts[i] == a {
				return true
			}
		}
		return false
	}
	if stage != nil {
		for _, sla := range stage.SLAs {
			if sla.Warn != nil && in(sla.Warn.Actions) {
				return sla.ID + ".warn"
			}
			if in(sla.Breach) {
				return sla.ID + ".breach"
			}
		}
		if in(stage.Enter) {
			return stage.Name + "#enter"
		}
		for _, e := range stage.Exceptions {
			if in(e.Actions) {
				return e.ID
			}
		}
	}
	for _, e := range s.m.W.Exceptions {
		if in(e.Actions) {
			return e.ID
		}
	}
	return "action"
}

func (s *stepper) message(a *ir.Action, def string) (string, error) {
	if a.Value == nil {
		return fmt.Sprintf(def, s.lead.ID, s.lead.Stage), nil
	}
	return s.m.evalString(a.Value, s.act())
}

// recipients resolves a notify target: a RACI keyword of the current stage
// or a role.
func (s *stepper) recipients(target string) []string {
	stage := s.m.stages[s.lead.Stage]
	switch target {
	case "responsible":
		if s.lead.Owner == "" {
			return nil
		}
		return []string{s.lead.Owner}
	case "accountable":
		if stage.Owner.Accountable == "" {
			return nil
		}
		return []string{stage.Owner.Accountable}
	case "consulted":
		return stage.Owner.Consulted
	case "informed":
		return stage.Owner.Informed
	}
	return []string{target}
}

func (s *stepper) notify(kind, to, role, msg string) {
	s.notes = append(s.notes, Notification{Kind: kind, Lead: s.lead.ID, To: to, Role: role, Message: msg, Stage: s.lead.Stage, At: s.now})
	s.entry.Notifications++
}

// raise handles an exception (LANGUAGE.md §7.4): the stage's handler, else
// the workflow's, else the lead is stuck in place. It reports whether a
// handler ran. An exception inside a handler leaves the lead stuck.
func (s *stepper) raise(kind, reason string) bool {
	rec := ExceptionRecord{Kind: kind, Reason: reason, Stage: s.lead.Stage}
	var h *ir.ExceptionHandler
	where := ""
	if !s.inExc {
		if stage := s.m.stages[s.lead.Stage]; stage != nil {
			for i := range stage.Exceptions {
				if stage.Exceptions[i].Kind == kind {
					h, where = &stage.Exceptions[i], "stage"
				}
			}
		}
		if h == nil {
			if wh := s.m.wfExc[kind]; wh != nil {
				h, where = wh, "workflow"
			}
		}
	}
	if h == nil {
		rec.Handler = "stuck"
		s.entry.Exceptions = append(s.entry.Exceptions, rec)
		s.lead.Stuck = &Stuck{Kind: kind, Reason: reason, At: s.now}
		s.halted = true
		return false
	}
	rec.Handler, rec.Resolved = where, true
	s.entry.Exceptions = append(s.entry.Exceptions, rec)
	stage := s.lead.Stage
	if kind == ir.ExcLoop {
		s.moves = 0 // the handler may move the lead out of the loop
	}
	s.inExc = true
	s.run(h.Actions)
	s.inExc = false
	if s.lead.Stage == stage && (kind == ir.ExcEvalError || kind == ir.ExcLoop) {
		// Handled in place: re-running the same failing expressions or
		// loop in this step would only raise it again.
		s.halted = true
	}
	return true
}

// ---------------------------------------------------------------------------
// State helpers

func (s *stepper) setField(i int, v any) {
	s.lead.Fields[i] = v
	if s.changed == nil {
		s.changed = map[string]bool{}
	}
	s.changed[s.m.W.Lead[i].Name] = true
}

func (s *stepper) setTimer(name string, due time.Time) {
	if s.lead.Timers == nil {
		s.lead.Timers = map[string]time.Time{}
	}
	s.lead.Timers[name] = due
}

func (s *stepper) cancelTimer(name string) { delete(s.lead.Timers, name) }

// finish closes the step: the entry, timer changes and open-lead counts.
func (s *stepper) finish() *Result {
	l := s.lead
	l.Seq++
	e := &s.entry
	e.Seq, e.To, e.Owner, e.Version = l.Seq, l.Stage, l.Owner, l.Version
	if len(s.changed) > 0 {
		e.Fields = map[string]any{}
		for name := range s.changed {
			i := s.m.fieldIndex[name]
			e.Fields[name] = ir.Export(l.Fields[i])
		}
	}
	r := &Result{Lead: l, Entry: s.entry, Notifications: s.notes}
	var old map[string]time.Time
	if s.old != nil {
		old = s.old.Timers
	}
	for name, due := range l.Timers {
		if prev, ok := old[name]; !ok || !prev.Equal(due) {
			r.SetTimers = append(r.SetTimers, TimerSet{Name: name, Due: due})
		}
	}
	for name := range old {
		if _, ok := l.Timers[name]; !ok {
			r.CancelTimers = append(r.CancelTimers, name)
		}
	}
	sort.Slice(r.SetTimers, func(i, j int) bool { return r.SetTimers[i].Name < r.SetTimers[j].Name })
	sort.Strings(r.CancelTimers)
	// Open-lead counts: a non-terminal lead counts for its owner.
	before, after := "", ""
	if s.old != nil && s.old.Owner != "" && !s.m.terminal(s.old.Stage) {
		before = s.old.Owner
	}
	if l.Owner != "" && !s.m.terminal(l.Stage) {
		after = l.Owner
	}
	if before != after {
		if s.delta.Open == nil {
			s.delta.Open = map[string]int{}
		}
		if before != "" {
			s.delta.Open[before]--
		}
		if after != "" {
			s.delta.Open[after]++
		}
	}
	r.Routing = s.delta
	return r
}

// terminal reports whether a stage of this machine is terminal. Stages of
// another version are looked up by name.
func (m *Machine) terminal(stage string) bool {
	st := m.stages[stage]
	return st != nil && st.Terminal
}
