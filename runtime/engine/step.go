package engine

// The semantics of one step, the language reference (docs/language/reference.md) §3–§12, with the choices the
// language reference leaves open (they are documented for users in the
// language reference's runtime notes):
//
//   - Order of a move: the old stage's timers are cancelled and its SLAs
//     closed, its `exit` actions run, then the transition's own actions,
//     then the new stage's owner is routed, its `enter` actions run, and
//     its timers and SLAs start. A `when` chain continues from there.
//   - An SLA still running when the lead leaves is met by leaving, unless
//     it names `until` events: then it is recorded "cancelled" (the events
//     it waited for never came). A breached SLA stays breached. Leaving
//     through an exception handler's move, an override, or while the lead
//     is stuck makes every SLA still running "exempt" instead: its owner
//     neither met nor missed it.
//   - SLA deadlines are exclusive: timers due at the same instant fire in
//     TimerOrder (warn, breach, then stage timeouts, nurture, decay), so a
//     lead that times out at the very deadline has missed its SLA.
//   - `reassign` routes the stage's responsible target again without the
//     current owner and restarts every SLA of the stage that is not met,
//     but for SLAs with a clock: `from entry` ones keep running from the
//     stage's entry, `from assignment` ones restart, met or not, on every
//     new owner in the stage (`reassign`, `assign`, an operator's).
//     Role and user targets ignore the exclusion (a queue or a named person
//     is who they are). `assign` routes anew, without stickiness.
//   - An action block is all-or-nothing: when an action fails, the block's
//     earlier actions are undone (fields, owner, notifications, timers,
//     rotation) before the exception is raised.
//   - After a handled exception the step goes on: a failing guard counts
//     as false, and the failing block's remaining actions are skipped. An
//     exception with no handler marks the lead stuck and stops the step: no
//     further actions or moves. A move already under way is completed
//     structurally (the lead is placed in the target, owner routed, timers
//     and SLAs started; its `enter` actions are skipped), so the lead is
//     always in a declared stage and its SLAs keep watching it.
//   - An exception raised while an exception handler runs (including in
//     the stage that handler moves to) is not handled again: the lead is
//     stuck. A second `loop` in one step is stuck too.
//   - A lead may move at most MaxChain (64) times in one chain of moves;
//     the chain that would make one more is undone whole (its moves, their
//     actions, notifications, SLA outcomes and routing: all-or-nothing, as
//     an action block) and `loop` is raised in the stage where the chain
//     began, instead of its first move. A `loop` handler that moves the
//     lead starts a fresh chain; one that does not stops the chain.
//   - Stuck is a mark, not a freeze: a stuck lead still handles events and
//     timers (its SLAs still breach and escalate). Any move clears it, and
//     an override always does.
//   - A lead in a terminal stage still runs workflow-level handlers and
//     scores (their decay too), but it leaves the stage only by an
//     override: a workflow-level exception handler's `-> T` is skipped.
//   - Score decay rounds toward zero (16 at 10% → 14) and stops once the
//     score is 0 or no longer changes; adds and decay clamp to `limit`.
//   - A stage without a responsible target keeps the lead's owner.

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/internal/suggest"
)

// MaxChain is the most moves one step may make; the next raises the
// `loop` exception (the language reference §9).
const MaxChain = 64

// Timer name prefixes. A timer's name says what it does when it fires.
const (
	timerAfter   = "after:"  // after:INDEX — a stage timeout
	timerWarn    = "warn:"   // warn:SLA
	timerBreach  = "breach:" // breach:SLA
	timerNurture = "nurture" // a develop stage's nurture
	timerDecay   = "decay:"  // decay:FIELD — a score's decay
)

// Edge IDs of moves that are not edges of the graph.
const (
	EdgeCapture  = "capture"  // a captured lead entering the start stage
	EdgeOverride = "override" // an operator's manual move
)

// TimerOrder ranks a timer for firing among timers due at the same
// instant: SLA warnings, then SLA breaches, then stage timeouts, nurture
// and score decay. An SLA is met only strictly before its deadline.
func TimerOrder(name string) int {
	switch {
	case strings.HasPrefix(name, timerWarn):
		return 0
	case strings.HasPrefix(name, timerBreach):
		return 1
	case strings.HasPrefix(name, timerAfter):
		return 2
	case name == timerNurture:
		return 3
	case strings.HasPrefix(name, timerDecay):
		return 4
	}
	return 5
}

// DueTimer is a timer due to fire: its lead, its name and when.
type DueTimer struct {
	Lead string
	Name string
	Due  time.Time
}

// CompareTimers is the one order in which due timers fire, under lead
// test and lead run alike: by due time, then lead id, then (a lead's
// timers of one instant) TimerOrder, then name. Steps run in the order
// they fire, so this order decides, for one, which of two leads a
// round-robin team routes first.
func CompareTimers(a, b DueTimer) int {
	return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.Lead, b.Lead),
		cmp.Compare(TimerOrder(a.Name), TimerOrder(b.Name)), cmp.Compare(a.Name, b.Name))
}

// InputError is a rejected input: nothing changed. Problems name every bad
// field (docs/api/openapi.json: a 422's details).
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
	stage *ir.Stage // the lead's current stage (nil before capture enters one)
	now   time.Time
	rot   *Rotation
	delta RoutingDelta
	res   *Result
	entry *Entry // &res.Entry
	notes []Notification

	lobj   leadObj
	ev     eventObj
	a      activation
	valBuf [8]any // the event payload

	// The lead starts out sharing its slices and maps with the old lead;
	// each is copied on its first write.
	ownFields, ownSLAs, ownTimers, ownScores, ownReached bool

	moves   int    // moves in the current chain, for the loop limit
	loops   int    // loop exceptions raised in this step
	cut     int    // the first cut chains raise loop at their first move (see Step)
	entered int    // stages entered in this step: "has the lead moved since"
	leaving string // the stage the lead is leaving (its exit has run)
	halted  bool   // an unhandled exception stopped the step
	noAuto  bool   // a handled loop stopped the automatic chain
	inExc   bool   // an exception handler is running
	changed []int  // fields changed by the step, in order of first change

	depth int // nesting of action blocks; undo is recorded inside one
	undo  []undoRec
}

// Step applies one input to a lead. lead is nil for a capture. It never
// mutates lead or rot; on a rejected input it returns an *InputError and no
// result.
func Step(m *Machine, lead *Lead, in Input, now time.Time, rot *Rotation) (*Result, error) {
	if rot == nil {
		rot = emptyRotation
	}
	// A chain of moves that loops is undone whole: the step runs again
	// from the start, that chain cut at its first move. The step is pure,
	// so running it again is the simplest exact undo; it happens only in
	// a step that loops.
	for cut := 0; ; cut++ {
		res, loops, err := step(m, lead, in, now, rot, cut)
		if err != nil || loops <= cut {
			return res, err
		}
	}
}

// step is Step with the first cut chains of moves cut; it returns the
// loops raised, so that Step can run it again cutting a chain that
// looped after its first move.
func step(m *Machine, lead *Lead, in Input, now time.Time, rot *Rotation, cut int) (*Result, int, error) {
	s := newStepper(m, lead, now, rot)
	s.cut = cut
	defer s.release()
	res, err := s.run1(lead, in)
	return res, s.loops, err
}

// run1 applies the input.
func (s *stepper) run1(lead *Lead, in Input) (*Result, error) {
	m := s.m
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
	case Override, Assign:
		if lead == nil {
			return nil, &InputError{Message: "no such lead"}
		}
		if err := m.checkOperator(lead, in); err != nil {
			return nil, err
		}
		s.begin(in)
		if in.Kind == Override {
			s.onOverride(in)
		} else {
			s.onAssign(in)
		}
	default:
		return nil, &InputError{Message: "unknown input"}
	}
	return s.finish(), nil
}

var emptyRotation = NewRotation()

// Steppers are pooled with their undo and change buffers; a result never
// refers to its stepper.
var stepperPool = sync.Pool{New: func() any { return new(stepper) }}

func newStepper(m *Machine, lead *Lead, now time.Time, rot *Rotation) *stepper {
	s := stepperPool.Get().(*stepper)
	undo, changed := s.undo[:0], s.changed[:0]
	*s = stepper{m: m, old: lead, now: now, rot: rot, undo: undo, changed: changed}
	return s
}

func (s *stepper) release() {
	clear(s.undo[:cap(s.undo)])
	undo, changed := s.undo[:0], s.changed[:0]
	*s = stepper{undo: undo, changed: changed}
	stepperPool.Put(s)
}

// begin starts a step on an existing lead: a shallow copy whose slices and
// maps are copied on first write, and the history entry.
func (s *stepper) begin(in Input) {
	l := *s.old
	s.res = &Result{Lead: &l}
	s.setLead(&l)
	s.stage = s.m.stages[s.lead.Stage]
	s.entry = &s.res.Entry
	*s.entry = Entry{At: s.now, Cause: in.Kind.String(), From: s.lead.Stage, EventID: in.EventID}
}

func (s *stepper) setLead(l *Lead) {
	s.lead = l
	s.lobj = leadObj{s.m, l}
	s.a = activation{lead: &s.lobj, t: s.now}
}

// act returns the activation for the current lead, event and time.
func (s *stepper) act() *activation {
	s.a.member = nil
	return &s.a
}

// setEvent makes `event` the given event for the expressions that follow.
func (s *stepper) setEvent(name string, vals []any) {
	s.ev = eventObj{ev: s.m.events[name], typ: s.m.eventTypes[name], at: s.now, vals: vals}
	s.a.event = &s.ev
}

func (s *stepper) clearEvent() { s.a.event = nil }

// moved reports whether the lead entered a stage since the epoch ep.
func (s *stepper) moved(ep int) bool { return s.entered != ep }

// ---------------------------------------------------------------------------
// Inputs

func (s *stepper) capture(in Input) error {
	if strings.TrimSpace(in.LeadID) == "" {
		return &InputError{Message: "a lead needs an id", Problems: []Problem{{Field: "id", Message: "is required"}}}
	}
	fields, problems := s.m.leadFields(in.Data, true)
	if len(problems) > 0 {
		return &InputError{Message: "invalid lead fields", Problems: problems}
	}
	s.res = &Result{Lead: &Lead{
		ID: in.LeadID, Workflow: s.m.W.Name, Version: s.m.W.Version,
		CreatedAt: s.now, EnteredAt: s.now, Fields: fields,
	}}
	s.setLead(s.res.Lead)
	s.ownFields, s.ownSLAs, s.ownTimers, s.ownScores, s.ownReached = true, true, true, true, true
	s.entry = &s.res.Entry
	*s.entry = Entry{At: s.now, Cause: Capture.String(), Event: ir.EventCaptured}
	s.setEvent(ir.EventCaptured, nil)
	s.workflowHandlers(ir.EventCaptured)
	s.clearEvent()
	if s.lead.Stage == "" { // unless a `captured` exception handler moved it
		s.enter(s.m.W.Start, EdgeCapture)
	}
	s.settle()
	return nil
}

// leadFields validates capture or update fields and returns the field
// slice: for a capture, defaults filled in and required fields checked.
// Problems name every bad field, sorted by name.
func (m *Machine) leadFields(data map[string]any, capture bool) ([]any, []Problem) {
	fields := make([]any, len(m.W.Lead))
	var problems []Problem
	for name, v := range data {
		i, ok := m.fieldIndex[name]
		if !ok {
			msg := fmt.Sprintf("workflow %s's leads have no such field", m.W.Name)
			if ir.IsBuiltinAttr(name) {
				msg = "is a built-in attribute the runtime sets; it cannot be written"
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
	sortProblems(problems)
	return fields, problems
}

func sortProblems(ps []Problem) {
	slices.SortFunc(ps, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
}

// payload validates an event's data against its declared fields and
// returns the values in field order.
func (m *Machine) payload(ev *ir.Event, data map[string]any, buf []any) ([]any, []Problem) {
	var vals []any
	if n := len(ev.Fields); n > 0 {
		if n <= len(buf) {
			vals = buf[:n]
		} else {
			vals = make([]any, n)
		}
	}
	var problems []Problem
	matched := 0
	for i, f := range ev.Fields {
		v, given := data[f.Name]
		if given {
			matched++
		}
		if !given || v == nil {
			if f.Default != nil {
				vals[i], _ = ir.Coerce(f.Type, f.Default)
			} else if !f.Optional {
				problems = append(problems, Problem{Field: f.Name, Message: "is required"})
			}
			continue
		}
		c, err := ir.Coerce(f.Type, v)
		if err != nil {
			problems = append(problems, Problem{Field: f.Name, Message: err.Error()})
			continue
		}
		vals[i] = c
	}
	if matched < len(data) {
		for name := range data {
			known := false
			for _, f := range ev.Fields {
				known = known || f.Name == name
			}
			if !known {
				problems = append(problems, Problem{Field: name, Message: fmt.Sprintf("event %s has no such field", ev.Name)})
			}
		}
	}
	sortProblems(problems)
	return vals, problems
}

func (s *stepper) onEvent(in Input) error {
	name := in.Event
	var vals []any
	var fields []any
	if in.Kind == Update {
		name = ir.EventUpdated
		if len(in.Data) == 0 {
			return &InputError{Message: "an update needs fields", Problems: []Problem{{Field: "fields", Message: "is required: name the fields to change"}}}
		}
		var problems []Problem
		fields, problems = s.m.leadFields(in.Data, false)
		if len(problems) > 0 {
			return &InputError{Message: "invalid lead fields", Problems: problems}
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
			msg := fmt.Sprintf("unknown event type %q", name)
			if ev != nil {
				msg = fmt.Sprintf("event %s is sent by the runtime itself", name)
			}
			return &InputError{Message: msg, Problems: []Problem{{Field: "type",
				Message: fmt.Sprintf("workflow %s declares: %s", s.m.W.Name, strings.Join(declared, ", "))}}}
		}
		var problems []Problem
		vals, problems = s.m.payload(ev, in.Data, s.valBuf[:])
		if len(problems) > 0 {
			return &InputError{Message: fmt.Sprintf("invalid payload for event %s", name), Problems: problems}
		}
	}
	s.begin(in)
	if in.Kind == Update {
		for fname := range in.Data {
			i := s.m.fieldIndex[fname]
			s.setField(i, fields[i])
		}
		slices.Sort(s.changed) // map order must not show in the history
	}
	s.entry.Event = name
	s.setEvent(name, vals)
	stage, ep := s.stage, s.entered
	s.metBy(stage, name)
	s.workflowHandlers(name)
	if !s.halted && stage != nil && !s.moved(ep) {
		s.stageEvent(stage, name)
	}
	s.clearEvent()
	s.settle()
	return nil
}

// metBy marks the stage's running SLAs met by this event.
func (s *stepper) metBy(stage *ir.Stage, event string) {
	if stage == nil {
		return
	}
	for i := range s.lead.SLAs {
		st := s.lead.SLAs[i]
		if st.State != SLARunning && st.State != SLAWarned {
			continue
		}
		sla := slaOf(stage, st.Name)
		if sla == nil || !contains(sla.Until, event) {
			continue
		}
		s.mutSLAs()[i].State = SLAMet
		s.cancelTimer(s.m.warnNames[st.Name])
		s.cancelTimer(s.m.breachNames[st.Name])
		s.slaOutcome(SLAOutcome{Name: st.Name, Stage: stage.Name, State: SLAMet, Deadline: st.Deadline})
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
// event, in source order (the language reference §9 step 2).
func (s *stepper) workflowHandlers(event string) {
	for _, h := range s.m.handlers[event] {
		if s.halted {
			return
		}
		ok, err := s.m.evalBool(h.Guard, s.act())
		if err != nil {
			s.fail(err)
			continue
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
// transition whose guard holds fires; otherwise the in-stage handlers whose
// guards hold run, in source order (the language reference §9 step 3).
func (s *stepper) stageEvent(stage *ir.Stage, event string) {
	ep := s.entered
	for i := range stage.On {
		t := &stage.On[i]
		if !contains(t.Events, event) {
			continue
		}
		ok, err := s.m.evalBool(t.Guard, s.act())
		if err != nil {
			s.fail(err)
			if s.halted || s.moved(ep) {
				return
			}
			continue // a guard that fails does not hold
		}
		if ok {
			s.move(t.Target, t.ID, t.Actions)
			return
		}
	}
	for i := range stage.Handlers {
		h := &stage.Handlers[i]
		if !contains(h.Events, event) {
			continue
		}
		ok, err := s.m.evalBool(h.Guard, s.act())
		if err != nil {
			s.fail(err)
		} else if ok {
			s.run(h.Actions)
		}
		if s.halted || s.moved(ep) {
			return
		}
	}
}

func (s *stepper) onTimer(in Input) {
	name := in.Timer
	s.cancelTimer(name)
	s.entry.Timer = name
	if late := s.now.Sub(in.Due); late > 0 {
		s.entry.Late = late
	}
	stage := s.stage
	switch {
	case strings.HasPrefix(name, timerAfter):
		i, err := strconv.Atoi(name[len(timerAfter):])
		if stage != nil && err == nil && i >= 0 && i < len(stage.After) {
			t := &stage.After[i]
			s.move(t.Target, t.ID, t.Actions)
		}
	case strings.HasPrefix(name, timerWarn):
		s.slaWarn(stage, name[len(timerWarn):])
	case strings.HasPrefix(name, timerBreach):
		s.slaBreach(stage, name[len(timerBreach):])
	case name == timerNurture:
		s.nurture(stage)
	case strings.HasPrefix(name, timerDecay):
		s.decay(name[len(timerDecay):])
	}
	s.settle()
}

func (s *stepper) onOverride(in Input) {
	s.entry.Override = &OverrideRecord{Stage: in.Stage, Reason: in.Reason, Actor: in.Actor}
	rec := ExceptionRecord{Kind: "override", Reason: in.Reason, Stage: s.lead.Stage, Handler: "override", Resolved: true}
	if st := s.lead.Stuck; st != nil {
		rec.Reason = fmt.Sprintf("%s (was stuck: %s: %s)", in.Reason, st.Kind, st.Reason)
	}
	s.entry.Exceptions = append(s.entry.Exceptions, rec)
	s.lead.Stuck = nil
	s.moves = -1 // the operator's move always happens: the chain starts after it
	s.move(in.Stage, EdgeOverride, nil)
	s.settle()
}

// checkOperator checks an operator's override or assignment: a stage of
// the workflow or a usable owner other than the current one, and a reason.
func (m *Machine) checkOperator(lead *Lead, in Input) error {
	var problems []Problem
	what, why := "override", "is required: say why the lead is moved"
	if in.Kind == Override {
		if m.stages[in.Stage] == nil {
			problems = append(problems, Problem{Field: "stage", Message: m.unknownStage(in.Stage)})
		}
	} else {
		what, why = "assignment", "is required: say why the lead changes hands"
		switch msg := OwnerProblem(in.Owner); {
		case msg != "":
			problems = append(problems, Problem{Field: "owner", Message: msg})
		case in.Owner == lead.Owner:
			problems = append(problems, Problem{Field: "owner", Message: fmt.Sprintf("%s already owns lead %s", in.Owner, lead.ID)})
		}
	}
	if strings.TrimSpace(in.Reason) == "" {
		problems = append(problems, Problem{Field: "reason", Message: why})
	}
	if len(problems) == 0 {
		return nil
	}
	sortProblems(problems)
	return &InputError{Message: "invalid " + what, Problems: problems}
}

// onAssign gives the lead to an operator's choice of owner. As after
// `reassign`, the stage's SLAs start again for the new owner
// (restartSLAs).
func (s *stepper) onAssign(in Input) {
	s.entry.Assign = &AssignRecord{Owner: in.Owner, Previous: s.lead.Owner, Reason: in.Reason, Actor: in.Actor}
	s.setOwner(in.Owner)
	s.note("assign " + in.Owner)
	s.restartSLAs(true)
	s.settle()
}

// restartSLAs starts the current stage's SLAs again from now, for a new
// owner: those `from assignment` whatever their state; after `reassign` or
// an operator's assignment (reassigned), those without a clock that are
// not met. Those `from entry` keep their clock, as do SLAs not started
// yet (an assignment in `enter`: they start after it).
func (s *stepper) restartSLAs(reassigned bool) {
	stage := s.stage
	if stage == nil || len(stage.SLAs) == 0 {
		return
	}
	saved := false
	var failed error
	for i := range stage.SLAs {
		sla := &stage.SLAs[i]
		j := s.slaIndex(sla.Name)
		if j < 0 {
			continue
		}
		switch sla.Clock {
		case ir.ClockAssignment:
		case ir.ClockEntry:
			continue
		default:
			if !reassigned || s.lead.SLAs[j].State == SLAMet {
				continue
			}
		}
		if !saved {
			s.saveSLAs()
			saved = true
		}
		failed = cmp.Or(failed, s.startSLA(stage, sla, "restarted"))
	}
	if failed != nil {
		s.fail(failed)
	}
}

// StageProblem says why name is not a stage of the machine, "" if it is.
func (m *Machine) StageProblem(name string) string {
	if m.stages[name] != nil {
		return ""
	}
	return m.unknownStage(name)
}

// unknownStage is the message for a stage name the machine does not have:
// the nearest name, if one is close, and every stage.
func (m *Machine) unknownStage(name string) string {
	names := make([]string, len(m.W.Stages))
	for i := range m.W.Stages {
		names[i] = m.W.Stages[i].Name
	}
	msg := fmt.Sprintf("workflow %s has no stage %q", m.W.Name, name)
	if near := suggest.Nearest(name, names); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg + "; its stages are " + strings.Join(names, ", ")
}

// OwnerProblem says what is wrong with an owner's name, "" if nothing:
// it is stored and indexed as given, so it must be a name.
func OwnerProblem(owner string) string {
	switch {
	case strings.TrimSpace(owner) == "":
		return "is required: name the new owner"
	case len(owner) > 1024:
		return fmt.Sprintf("is %d bytes long; the most is 1024", len(owner))
	case strings.ContainsFunc(owner, unicode.IsControl):
		return "contains control characters"
	}
	return ""
}

// ---------------------------------------------------------------------------
// Moving

// settle fires automatic transitions until none holds (the language reference §9
// steps 4 and 5): a chain of `when` moves, limited by MaxChain.
func (s *stepper) settle() {
	for !s.halted && !s.noAuto {
		stage := s.stage
		if stage == nil || stage.Terminal {
			return
		}
		ep := s.entered
		var fire *ir.Transition
		for i := range stage.When {
			t := &stage.When[i]
			ok, err := s.m.evalBool(t.Guard, s.act())
			if err != nil {
				s.fail(err)
				if s.halted || s.moved(ep) {
					break
				}
				continue // a guard that fails does not hold
			}
			if ok {
				fire = t
				break
			}
		}
		if s.moved(ep) {
			continue // an exception handler moved the lead: check its new stage
		}
		if fire == nil {
			return
		}
		s.move(fire.Target, fire.ID, fire.Actions)
	}
}

// move leaves the current stage and enters target: exit, the transition's
// actions, then entering target.
func (s *stepper) move(target, edge string, actions []ir.Action) {
	if s.halted {
		return
	}
	if s.moves >= MaxChain || (s.moves == 0 && s.loops < s.cut) {
		s.loop(target)
		return
	}
	s.moves++
	from, ep := s.lead.Stage, s.entered
	if s.leaving != from || from == "" {
		s.leave(edge)
		if s.moved(ep) {
			return // an exception handler moved the lead during exit
		}
	}
	s.run(actions)
	if s.moved(ep) {
		return // an exception handler moved the lead elsewhere
	}
	s.enter(target, edge)
}

// loop raises the loop exception instead of a move to target.
func (s *stepper) loop(target string) {
	s.loops++
	s.moves = 0 // a handler that moves the lead starts a fresh chain
	ep := s.entered
	reason := fmt.Sprintf("more than %d moves in one step (from %s, the first was -> %s)", MaxChain, s.lead.Stage, target)
	if s.raise(ir.ExcLoop, reason) && !s.moved(ep) {
		s.noAuto = true
	}
}

// leave ends the current stage, for a move by edge: its timers are
// cancelled, its SLAs closed, and its exit actions run.
func (s *stepper) leave(edge string) {
	stage := s.stage
	s.leaving = s.lead.Stage
	if stage == nil {
		return
	}
	for name := range s.lead.Timers {
		if strings.HasPrefix(name, timerAfter) || strings.HasPrefix(name, timerWarn) ||
			strings.HasPrefix(name, timerBreach) || name == timerNurture {
			s.cancelTimer(name)
		}
	}
	// Leaving through an exception, an override or while stuck exempts
	// the SLAs still running: the owner did not meet them.
	exempt := s.inExc || edge == EdgeOverride || s.lead.Stuck != nil
	for _, st := range s.lead.SLAs {
		if st.State != SLARunning && st.State != SLAWarned {
			continue
		}
		state := SLAMet // met by leaving, unless it waits for `until` events
		switch sla := slaOf(stage, st.Name); {
		case exempt:
			state = SLAExempt
		case sla != nil && len(sla.Until) > 0:
			state = SLACancelled
		}
		s.slaOutcome(SLAOutcome{Name: st.Name, Stage: stage.Name, State: state, Deadline: st.Deadline})
	}
	s.setSLAs(nil)
	s.run(stage.Exit)
}

// enter puts the lead in target: the owner is routed, enter actions run,
// timers and SLAs start. Automatic transitions are checked by settle.
func (s *stepper) enter(target, edge string) {
	from := s.lead.Stage
	stage := s.m.stages[target]
	s.entered++
	ep := s.entered
	s.lead.Stage, s.stage, s.leaving = target, stage, ""
	s.lead.EnteredAt = s.now
	if s.entry.Moves == nil {
		s.entry.Moves = s.res.moveBuf[:0]
	}
	s.entry.Moves = append(s.entry.Moves, Move{From: from, To: target, Edge: edge})
	if lc := stage.Lifecycle; lc != "" {
		if _, ok := s.lead.Reached[lc]; !ok {
			ownTimes(&s.lead.Reached, &s.ownReached, 1)[lc] = s.now
		}
	}
	if !s.halted {
		s.lead.Stuck = nil // moving on resolves being stuck
	}
	if r := stage.Owner.Responsible; r != nil {
		owner, err := s.resolve(r, "", true)
		if err != nil {
			s.setOwner("")
			s.fail(err)
			if s.moved(ep) {
				return // the handler moved the lead elsewhere
			}
		} else {
			s.setOwner(owner)
		}
	}
	s.run(stage.Enter)
	if s.moved(ep) {
		return
	}
	s.startTimers(stage)
}

func (s *stepper) startTimers(stage *ir.Stage) {
	var failed error
	for i := range stage.After {
		t := &stage.After[i]
		d, cal, err := s.length(t.After, t.Calendar, t.Choices)
		failed = cmp.Or(failed, err)
		s.setTimer(s.m.afterNames[i], s.m.add(s.now, d, cal))
	}
	for i := range stage.SLAs {
		failed = cmp.Or(failed, s.startSLA(stage, &stage.SLAs[i], "started"))
	}
	if n := stage.Nurture; n != nil {
		s.setTimer(timerNurture, s.m.add(s.now, time.Duration(n.Every), n.Calendar))
	}
	if failed != nil {
		s.fail(failed)
	}
}

// length is the length a timeout or an SLA has for this lead, now, and the
// calendar it is measured on: the first of choices whose condition holds,
// or the fixed one. A condition that fails to evaluate does not hold; the
// error is returned, to be raised (eval_error) once the timers are set.
func (s *stepper) length(d ir.Duration, cal string, choices []ir.Choice) (time.Duration, string, error) {
	var failed error
	for i := range choices {
		c := &choices[i]
		if c.When != nil {
			ok, err := s.m.evalBool(c.When, s.act())
			failed = cmp.Or(failed, err)
			if err != nil || !ok {
				continue
			}
		}
		return time.Duration(c.Length), c.Calendar, failed
	}
	return time.Duration(d), cal, failed
}

// startSLA (re)starts an SLA from now, with the length the lead chooses,
// and returns the error of a choice's condition that failed (length).
func (s *stepper) startSLA(stage *ir.Stage, sla *ir.SLA, outcome string) error {
	within, cal, failed := s.length(sla.Within, sla.Calendar, sla.Choices)
	deadline := s.m.add(s.now, within, cal)
	st := SLAState{Name: sla.Name, Started: s.now, Deadline: deadline, State: SLARunning}
	slas := s.mutSLAs()
	replaced := false
	for i := range slas {
		if slas[i].Name == sla.Name {
			slas[i], replaced = st, true
		}
	}
	if !replaced {
		s.lead.SLAs = append(slas, st)
	}
	if w := sla.Warn; w != nil {
		at := time.Duration(w.At)
		if w.Percent > 0 {
			at = time.Duration(int64(within) / 100 * int64(w.Percent))
			at += time.Duration(int64(within) % 100 * int64(w.Percent) / 100)
		}
		s.setTimer(s.m.warnNames[sla.Name], s.m.add(s.now, at, cal))
	}
	s.setTimer(s.m.breachNames[sla.Name], deadline)
	s.slaOutcome(SLAOutcome{Name: sla.Name, Stage: stage.Name, State: outcome, Deadline: deadline})
	return failed
}

func (s *stepper) slaIndex(name string) int {
	for i := range s.lead.SLAs {
		if s.lead.SLAs[i].Name == name {
			return i
		}
	}
	return -1
}

func (s *stepper) slaWarn(stage *ir.Stage, name string) {
	i := s.slaIndex(name)
	if stage == nil || i < 0 || s.lead.SLAs[i].State != SLARunning {
		return
	}
	sla := slaOf(stage, name)
	if sla == nil {
		return
	}
	st := &s.mutSLAs()[i]
	st.State = SLAWarned
	s.slaOutcome(SLAOutcome{Name: name, Stage: stage.Name, State: SLAWarned, Deadline: st.Deadline})
	if sla.Warn != nil {
		s.run(sla.Warn.Actions)
	}
}

func (s *stepper) slaBreach(stage *ir.Stage, name string) {
	i := s.slaIndex(name)
	if stage == nil || i < 0 {
		return
	}
	if state := s.lead.SLAs[i].State; state != SLARunning && state != SLAWarned {
		return
	}
	sla := slaOf(stage, name)
	if sla == nil {
		return
	}
	st := &s.mutSLAs()[i]
	st.State = SLABreached
	deadline := st.Deadline
	s.cancelTimer(s.m.warnNames[name])
	s.slaOutcome(SLAOutcome{Name: name, Stage: stage.Name, State: SLABreached, Deadline: deadline})
	if !sla.HasBreach {
		s.raise(ir.ExcSLABreach, fmt.Sprintf("SLA %s of stage %s breached at %s", name, stage.Name, deadline.Format(time.RFC3339)))
		return
	}
	s.run(sla.Breach)
}

// nurture sends a develop stage's nurture notification and schedules the
// next one. The next is scheduled first, so a message that fails to
// evaluate does not end the nurturing.
func (s *stepper) nurture(stage *ir.Stage) {
	if stage == nil || stage.Nurture == nil {
		return
	}
	n := stage.Nurture
	s.setTimer(timerNurture, s.m.add(s.now, time.Duration(n.Every), n.Calendar))
	msg := "Time to nurture lead " + s.lead.ID + " (" + stage.Name + ")"
	if n.Message != nil {
		v, err := s.m.evalString(n.Message, s.act())
		if err != nil {
			s.fail(err)
			return
		}
		msg = v
	}
	s.notify(NotifyNurture, s.lead.Owner, "responsible", msg)
	s.note("nurture")
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
	s.note("score " + a.Field)
	s.touchScore(sc)
}

// touchScore records a score change and (re)starts its decay timer.
func (s *stepper) touchScore(sc *ir.Score) {
	s.mutScores()[sc.Field] = s.now
	if sc.Decay != nil {
		s.setTimer(timerDecay+sc.Field, s.m.add(s.now, time.Duration(sc.Decay.Every), sc.Decay.Calendar))
	}
}

// decay lowers a score by its percentage, rounding toward zero, and keeps
// decaying every period until the score is zero or stops changing.
func (s *stepper) decay(field string) {
	sc := s.m.scores[field]
	i, ok := s.m.fieldIndex[field]
	if sc == nil || sc.Decay == nil || !ok {
		return
	}
	var v any
	more := false
	switch cur := s.lead.Fields[i].(type) {
	case int64:
		n := clampInt(decayInt(cur, sc.Decay.Percent), sc)
		v, more = n, n != 0 && n != cur
	case float64:
		f := clampFloat(cur*float64(100-sc.Decay.Percent)/100, sc)
		v, more = f, f != 0 && f != cur
	default:
		return
	}
	s.setField(i, v)
	s.note("decay " + field)
	if more {
		s.touchScore(sc)
	} else {
		s.mutScores()[sc.Field] = s.now
	}
}

// decayInt returns n less p percent, rounded toward zero, without
// overflowing: n*(100-p)/100 computed as q*k + r*k/100.
func decayInt(n int64, p int) int64 {
	k := int64(100 - p)
	q, r := n/100, n%100
	return q*k + r*k/100
}

func clampInt(v int64, sc *ir.Score) int64 {
	if sc == nil {
		return v
	}
	if sc.Min != nil && float64(v) < *sc.Min {
		v = int64(math.Ceil(*sc.Min))
	}
	if sc.Max != nil && float64(v) > *sc.Max {
		v = int64(math.Floor(*sc.Max))
	}
	return v
}

func clampFloat(v float64, sc *ir.Score) float64 {
	if sc == nil {
		return v
	}
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

// run executes an action block in order, all-or-nothing: when an action
// fails, the block's earlier effects are undone and the action's exception
// is raised. A move (always the block's last action) ends the block.
func (s *stepper) run(actions []ir.Action) {
	if len(actions) == 0 || s.halted {
		return
	}
	mk := s.mark()
	ep := s.entered
	s.depth++
	var failed error
	for i := range actions {
		if s.halted || s.moved(ep) {
			break
		}
		if err := s.action(&actions[i]); err != nil {
			failed = err
			break
		}
	}
	s.depth--
	if failed != nil {
		s.rollback(mk)
		s.fail(failed)
		return
	}
	s.undo = s.undo[:mk.undo]
}

// fail raises the exception for a failed expression or routing.
func (s *stepper) fail(err error) {
	if no, ok := err.(*noOwner); ok {
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
		s.note("set " + a.Field)
	case ir.ActAssign:
		owner, err := s.resolve(a.Assign, "", false)
		if err != nil {
			return err
		}
		s.setOwner(owner)
		s.note("assign " + owner)
		s.restartSLAs(false)
	case ir.ActReassign:
		stage := s.stage
		if stage == nil || stage.Owner.Responsible == nil {
			where := s.lead.Stage
			if where == "" {
				where = "(none)"
			}
			return &noOwner{fmt.Sprintf("stage %s has no responsible owner to route again", where)}
		}
		owner, err := s.resolve(stage.Owner.Responsible, s.lead.Owner, false)
		if err != nil {
			return err
		}
		s.setOwner(owner)
		s.note("reassign " + owner)
		s.restartSLAs(true)
	case ir.ActNotify:
		msg, err := s.message(a, "needs attention")
		if err != nil {
			return err
		}
		s.notifyTarget(a.Target, msg)
		s.note("notify " + a.Target)
	case ir.ActEscalate:
		to, role := a.Target, a.Target
		if a.To != nil {
			v, err := s.m.evalString(a.To, s.act())
			if err != nil {
				return err
			}
			if strings.TrimSpace(v) == "" || len(v) > 1024 || strings.ContainsFunc(v, unicode.IsControl) {
				return &errEval{a.To, fmt.Errorf("the escalation target is %q: it names no role or person", v)}
			}
			to, role = v, ""
			if s.m.isRole(v) {
				role = v
			}
		}
		msg, err := s.message(a, "is escalated")
		if err != nil {
			return err
		}
		s.notify(NotifyEscalate, to, role, msg)
		s.entry.Escalations = append(s.entry.Escalations, to)
		s.note("escalate " + to)
	case ir.ActMove:
		if s.stage != nil && s.stage.Terminal {
			s.note("stay in terminal stage " + s.stage.Name + " (not -> " + a.Target + ")")
			return nil
		}
		s.move(a.Target, s.edgeOfMove(a), nil)
	}
	return nil
}

// edgeOfMove names the edge of a `-> T` action by the block it is in; the
// compiler's Edges() uses the same IDs.
func (s *stepper) edgeOfMove(a *ir.Action) string {
	in := func(acts []ir.Action) bool {
		return len(acts) > 0 && &acts[len(acts)-1] == a
	}
	if stage := s.stage; stage != nil {
		if in(stage.Enter) {
			return stage.Name + "#enter"
		}
		for _, sla := range stage.SLAs {
			if sla.Warn != nil && in(sla.Warn.Actions) {
				return sla.ID + ".warn"
			}
			if in(sla.Breach) {
				return sla.ID + ".breach"
			}
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

func (s *stepper) message(a *ir.Action, what string) (string, error) {
	if a.Value == nil {
		where := s.lead.Stage
		if where == "" {
			where = "capture"
		}
		return "Lead " + s.lead.ID + " " + what + " (" + where + ")", nil
	}
	return s.m.evalString(a.Value, s.act())
}

// notifyTarget sends a notify action's message to its target: a RACI
// keyword of the current stage or a role.
func (s *stepper) notifyTarget(target, msg string) {
	var owner ir.Owner
	if s.stage != nil {
		owner = s.stage.Owner
	}
	switch target {
	case "responsible":
		if s.lead.Owner != "" {
			s.notify(NotifyNotify, s.lead.Owner, target, msg)
		}
	case "accountable":
		if owner.Accountable != "" {
			s.notify(NotifyNotify, owner.Accountable, target, msg)
		}
	case "consulted":
		for _, to := range owner.Consulted {
			s.notify(NotifyNotify, to, target, msg)
		}
	case "informed":
		for _, to := range owner.Informed {
			s.notify(NotifyNotify, to, target, msg)
		}
	default:
		s.notify(NotifyNotify, target, target, msg)
	}
}

func (s *stepper) notify(kind, to, role, msg string) {
	s.notes = append(s.notes, Notification{Kind: kind, Lead: s.lead.ID, To: to, Role: role, Message: msg, Stage: s.lead.Stage, At: s.now})
	s.entry.Notifications++
}

func (s *stepper) slaOutcome(o SLAOutcome) {
	if s.entry.SLAs == nil {
		s.entry.SLAs = s.res.slaBuf[:0]
	}
	s.entry.SLAs = append(s.entry.SLAs, o)
}

func (s *stepper) note(action string) { s.entry.Actions = append(s.entry.Actions, action) }

// raise handles an exception (the language reference §10): the stage's handler, else
// the workflow's, else the lead is stuck in place. It reports whether a
// handler ran.
func (s *stepper) raise(kind, reason string) bool {
	rec := ExceptionRecord{Kind: kind, Reason: reason, Stage: s.lead.Stage}
	var h *ir.ExceptionHandler
	where := ""
	if !s.inExc && !s.halted && !(kind == ir.ExcLoop && s.loops > 1) {
		if stage := s.stage; stage != nil {
			for i := range stage.Exceptions {
				if stage.Exceptions[i].Kind == kind {
					h, where = &stage.Exceptions[i], "stage"
					break
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
		if !s.halted { // the first unhandled exception of a step says why
			s.lead.Stuck = &Stuck{Kind: kind, Reason: reason, At: s.now}
		}
		s.halted = true
		return false
	}
	rec.Handler, rec.Resolved = where, true
	s.entry.Exceptions = append(s.entry.Exceptions, rec)
	s.inExc = true
	s.run(h.Actions)
	s.inExc = false
	return true
}

// ---------------------------------------------------------------------------
// State: copy-on-write and the undo log of action blocks

// undoRec is one change an action block made, with what it replaced.
type undoRec struct {
	kind undoKind
	had  bool
	i    int
	name string
	v    any
	t    time.Time
	slas []SLAState
	team TeamState
}

type undoKind uint8

const (
	undoField undoKind = iota
	undoOwner
	undoTimer
	undoSLAs
	undoTeam
)

// mark is the length of everything an action block may append to.
type mark struct {
	undo, notes, actions, escalations, slas, changed, notifications int
}

func (s *stepper) mark() mark {
	return mark{len(s.undo), len(s.notes), len(s.entry.Actions), len(s.entry.Escalations),
		len(s.entry.SLAs), len(s.changed), s.entry.Notifications}
}

func (s *stepper) record(u undoRec) {
	if s.depth > 0 {
		s.undo = append(s.undo, u)
	}
}

// rollback undoes everything since mk.
func (s *stepper) rollback(mk mark) {
	for i := len(s.undo) - 1; i >= mk.undo; i-- {
		u := &s.undo[i]
		switch u.kind {
		case undoField:
			s.lead.Fields[u.i] = u.v
		case undoOwner:
			s.lead.Owner = u.name
		case undoTimer:
			if u.had {
				s.lead.Timers[u.name] = u.t
			} else {
				delete(s.lead.Timers, u.name)
			}
		case undoSLAs:
			s.lead.SLAs = u.slas
		case undoTeam:
			if u.had {
				s.delta.Teams[u.i].State = u.team
			} else { // appended last: later appends are already undone
				s.delta.Teams = s.delta.Teams[:len(s.delta.Teams)-1]
			}
		}
	}
	s.undo = s.undo[:mk.undo]
	s.notes = s.notes[:mk.notes]
	s.entry.Actions = s.entry.Actions[:mk.actions]
	s.entry.Escalations = s.entry.Escalations[:mk.escalations]
	s.entry.SLAs = s.entry.SLAs[:mk.slas]
	s.changed = s.changed[:mk.changed]
	s.entry.Notifications = mk.notifications
}

func (s *stepper) setField(i int, v any) {
	s.record(undoRec{kind: undoField, i: i, v: s.lead.Fields[i]})
	if !s.ownFields {
		s.lead.Fields = slices.Clone(s.lead.Fields)
		s.ownFields = true
	}
	s.lead.Fields[i] = v
	if !slices.Contains(s.changed, i) {
		s.changed = append(s.changed, i)
	}
}

func (s *stepper) setOwner(owner string) {
	s.record(undoRec{kind: undoOwner, name: s.lead.Owner})
	s.lead.Owner = owner
}

func (s *stepper) mutTimers() map[string]time.Time {
	return ownTimes(&s.lead.Timers, &s.ownTimers, 2)
}

// ownTimes returns *m for writing: on the step's first write a copy it
// owns (with room for more), since the lead it started from is shared.
func ownTimes(m *map[string]time.Time, owned *bool, room int) map[string]time.Time {
	if !*owned {
		c := make(map[string]time.Time, len(*m)+room)
		maps.Copy(c, *m)
		*m, *owned = c, true
	} else if *m == nil { // a capture owns its new lead from the start
		*m = map[string]time.Time{}
	}
	return *m
}

func (s *stepper) setTimer(name string, due time.Time) {
	old, had := s.lead.Timers[name]
	s.record(undoRec{kind: undoTimer, name: name, t: old, had: had})
	s.mutTimers()[name] = due
}

func (s *stepper) cancelTimer(name string) {
	old, had := s.lead.Timers[name]
	if !had {
		return
	}
	s.record(undoRec{kind: undoTimer, name: name, t: old, had: true})
	delete(s.mutTimers(), name)
}

// mutSLAs returns the lead's SLAs for writing.
func (s *stepper) mutSLAs() []SLAState {
	if !s.ownSLAs {
		s.lead.SLAs = slices.Clone(s.lead.SLAs)
		s.ownSLAs = true
	}
	return s.lead.SLAs
}

func (s *stepper) setSLAs(slas []SLAState) {
	s.saveSLAs()
	s.lead.SLAs, s.ownSLAs = slas, true
}

// saveSLAs records the SLAs before a change inside an action block.
func (s *stepper) saveSLAs() {
	if s.depth > 0 {
		s.record(undoRec{kind: undoSLAs, slas: slices.Clone(s.lead.SLAs)})
	}
}

func (s *stepper) mutScores() map[string]time.Time {
	return ownTimes(&s.lead.ScoreChanged, &s.ownScores, 1)
}

// finish closes the step: the entry, timer changes and open-lead counts.
func (s *stepper) finish() *Result {
	l := s.lead
	l.Seq++
	e := s.entry
	e.Seq, e.To, e.Owner, e.Version = l.Seq, l.Stage, l.Owner, l.Version
	if len(s.changed) > 0 {
		e.Fields = make(map[string]any, len(s.changed))
		for _, i := range s.changed {
			e.Fields[s.m.W.Lead[i].Name] = ir.Export(l.Fields[i])
		}
	}
	if e.Cause == Capture.String() {
		// A capture records every field the lead starts with (given or
		// defaulted): with the changes of later steps, the history holds
		// each field's value at every step.
		for i, v := range l.Fields {
			if v != nil {
				if e.Fields == nil {
					e.Fields = make(map[string]any, len(l.Fields))
				}
				e.Fields[s.m.W.Lead[i].Name] = ir.Export(v)
			}
		}
	}
	if len(l.Timers) == 0 {
		l.Timers = nil
	}
	r := s.res
	r.Notifications = s.notes
	if s.ownTimers {
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
		slices.SortFunc(r.SetTimers, func(a, b TimerSet) int { return strings.Compare(a.Name, b.Name) })
		slices.Sort(r.CancelTimers)
	}
	// Open-lead counts: a non-terminal lead counts for its owner.
	before, after := "", ""
	if s.old != nil && s.old.Owner != "" && !s.m.terminal(s.old.Stage) {
		before = s.old.Owner
	}
	if l.Owner != "" && !s.m.terminal(l.Stage) {
		after = l.Owner
	}
	if before != after {
		s.delta.Open = r.openBuf[:0]
		if before != "" {
			s.delta.Open = append(s.delta.Open, OpenDelta{Owner: before, Change: -1})
		}
		if after != "" {
			s.delta.Open = append(s.delta.Open, OpenDelta{Owner: after, Change: +1})
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
