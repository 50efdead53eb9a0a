// Package ir is the compiled form of a Lead workflow: a state-machine graph
// as plain data. The compiler produces it, `lead graph --format json` prints
// it, and the runtime executes it. It has stable JSON and a version hash
// computed from its canonical form, so a formatting-only edit keeps the
// version. It deliberately knows nothing of the parser's AST.
//
// Every stage name is qualified: a cell's stages are `cell.assess`,
// `cell.advance` and `cell.develop`. Every expression keeps its CEL source
// (whitespace-normalised) and its position in the .lead file; the runtime
// builds CEL programs from the source once per loaded version.
package ir

import (
	"fmt"
	"strings"
	"time"
)

// Workflow is one compiled workflow.
type Workflow struct {
	Name       string             `json:"name"`
	Title      string             `json:"title,omitempty"`
	Version    string             `json:"version"`
	Start      string             `json:"start"`
	Standard   string             `json:"standard,omitempty"`
	Lead       []Field            `json:"lead"`
	Events     []Event            `json:"events"`
	Roles      []Role             `json:"roles"`
	Teams      []Team             `json:"teams"`
	Routings   []Routing          `json:"routings"`
	Calendars  []Calendar         `json:"calendars"`
	Handlers   []Handler          `json:"handlers"`
	Exceptions []ExceptionHandler `json:"exceptions"`
	Scores     []Score            `json:"scores"`
	Stages     []Stage            `json:"stages"`
	Waivers    []Waiver           `json:"waivers,omitempty"`
	// Rules are the standard's named rules, used as NAME() in expressions.
	Rules []NamedRule `json:"rules,omitempty"`
	// BantCount is set by `use std.bant`: the bant_count(lead) function.
	BantCount bool `json:"bant_count,omitempty"`
}

// Pos is a source range: file, byte offsets [Off, End), and the 1-based
// line and column of Off for people reading the JSON.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Off  int    `json:"off"`
	End  int    `json:"end"`
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Duration is a time.Duration that marshals as Go's duration text ("4h0m0s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Type is a field type (the language reference §3.1).
type Type struct {
	Kind string   `json:"kind"` // string int float bool timestamp duration enum list map
	Enum []string `json:"enum,omitempty"`
	Elem *Type    `json:"elem,omitempty"` // list element or map value (keys are strings)
}

// Type kinds.
const (
	String    = "string"
	Int       = "int"
	Float     = "float"
	Bool      = "bool"
	Timestamp = "timestamp"
	DurationK = "duration"
	Enum      = "enum"
	List      = "list"
	Map       = "map"
)

func (t Type) String() string {
	switch t.Kind {
	case Enum:
		return "enum(" + strings.Join(t.Enum, ", ") + ")"
	case List:
		return "list<" + t.Elem.String() + ">"
	case Map:
		return "map<string, " + t.Elem.String() + ">"
	}
	return t.Kind
}

// HasValue reports whether the enum type has value v.
func (t Type) HasValue(v string) bool {
	for _, e := range t.Enum {
		if e == v {
			return true
		}
	}
	return false
}

// Field is a lead or event field. Default holds a JSON-compatible value
// (string, int64, float64, bool, []any) in the field's type; timestamps and
// durations are strings. A field with no default that is not optional is
// required.
type Field struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Optional bool   `json:"optional,omitempty"`
	Default  any    `json:"default,omitempty"`
	Pos      Pos    `json:"pos"`
}

// Required reports whether a capture must supply the field.
func (f Field) Required() bool { return !f.Optional && f.Default == nil }

// Event is a declared event type; Builtin marks `captured` and `updated`.
type Event struct {
	Name    string  `json:"name"`
	Fields  []Field `json:"fields"`
	Builtin bool    `json:"builtin,omitempty"`
	Pos     Pos     `json:"pos"`
}

// Role is a role; as a responsible target it is a shared queue.
type Role struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	Pos   Pos    `json:"pos"`
}

// Routing strategies.
const (
	RoundRobin  = "round_robin"
	Weighted    = "weighted"
	LeastLoaded = "least_loaded"
	BestFit     = "best_fit"
)

// Team is a group of people who receive leads by a strategy.
type Team struct {
	Name     string   `json:"name"`
	Strategy string   `json:"strategy"`
	By       *Expr    `json:"by,omitempty"`       // best_fit score over lead and member
	Min      *float64 `json:"min,omitempty"`      // best_fit: the lowest score that fits
	Capacity int      `json:"capacity,omitempty"` // max open leads per member; 0 = unlimited
	Calendar string   `json:"calendar,omitempty"` // shifts: only members on shift receive leads
	Manager  string   `json:"manager,omitempty"`  // a role or person: manager_of its members
	Attrs    []Field  `json:"attrs,omitempty"`    // member attribute types, from their literals
	Members  []Member `json:"members"`
	Pos      Pos      `json:"pos"`
}

// Member is one person in a team.
type Member struct {
	Email    string         `json:"email"`
	Weight   int            `json:"weight"`
	Capacity int            `json:"capacity,omitempty"` // the member's own max open leads, in place of the team's; 0 = the team's
	Manager  string         `json:"manager,omitempty"`  // a role or person; else the team's
	Attrs    map[string]any `json:"attrs,omitempty"`
	Pos      Pos            `json:"pos"`
}

// CapacityOf is the most open leads m may hold in t: the member's own
// capacity, else the team's; 0 is unlimited.
func (t *Team) CapacityOf(m *Member) int {
	if m.Capacity > 0 {
		return m.Capacity
	}
	return t.Capacity
}

// Routing picks a responsible owner by the first matching rule.
type Routing struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
	Pos   Pos    `json:"pos"`
}

// Rule is one routing rule; a nil When is `else`.
type Rule struct {
	When   *Expr    `json:"when,omitempty"`
	Target Assignee `json:"target"`
	Pos    Pos      `json:"pos"`
}

// Assignee kinds.
const (
	AssignRoute = "route"
	AssignTeam  = "team"
	AssignRole  = "role"
	AssignUser  = "user"
)

// Assignee names who becomes responsible.
type Assignee struct {
	Kind string `json:"kind"` // route team role user
	Name string `json:"name,omitempty"`
	User *Expr  `json:"user,omitempty"`
	Pos  Pos    `json:"pos"`
}

func (a *Assignee) String() string {
	if a == nil {
		return ""
	}
	if a.Kind == AssignUser {
		return "user " + a.User.Src
	}
	return a.Kind + " " + a.Name
}

// Calendar is a business calendar (the language reference §5).
type Calendar struct {
	Name     string    `json:"name"`
	Timezone string    `json:"timezone"`
	Hours    []Hours   `json:"hours"`
	Holidays []string  `json:"holidays,omitempty"` // YYYY-MM-DD
	Workdays []Workday `json:"workdays,omitempty"`
	Pos      Pos       `json:"pos"`
}

// Workday is one `workday` line: a date (YYYY-MM-DD) that works these
// local time ranges instead of its weekday's hours.
type Workday struct {
	Date  string      `json:"date"`
	Hours []TimeRange `json:"hours"`
}

// TimeRange is a local time range HH:MM-HH:MM.
type TimeRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Hours is one `hours` line: weekdays (0 = Sunday) and a local time range.
type Hours struct {
	Days  []int  `json:"days"`
	Start string `json:"start"` // HH:MM
	End   string `json:"end"`
}

// Owner is a stage's RACI after defaults (workflow → cell → stage) apply.
type Owner struct {
	Responsible *Assignee `json:"responsible,omitempty"`
	Accountable string    `json:"accountable,omitempty"`
	Consulted   []string  `json:"consulted,omitempty"`
	Informed    []string  `json:"informed,omitempty"`
}

// Stage is one state of the graph.
type Stage struct {
	Name       string             `json:"name"`
	Cell       string             `json:"cell,omitempty"`
	Part       string             `json:"part,omitempty"` // assess advance develop
	Lifecycle  string             `json:"lifecycle,omitempty"`
	Terminal   bool               `json:"terminal,omitempty"`
	Owner      Owner              `json:"owner"`
	Enter      []Action           `json:"enter,omitempty"`
	Exit       []Action           `json:"exit,omitempty"`
	On         []Transition       `json:"on,omitempty"`       // event transitions, source order
	Handlers   []Handler          `json:"handlers,omitempty"` // in-stage handlers (no move)
	When       []Transition       `json:"when,omitempty"`     // automatic transitions, in order
	After      []Timeout          `json:"after,omitempty"`
	SLAs       []SLA              `json:"slas,omitempty"`
	Nurture    *Nurture           `json:"nurture,omitempty"`
	Exceptions []ExceptionHandler `json:"exceptions,omitempty"`
	Pos        Pos                `json:"pos"`
}

// Transition is an event or automatic transition: an edge of the graph.
// Origin names the cell rule it came from (qualify, disqualify, undecided,
// advance, accept, reject, reassess) or is empty for a written transition.
type Transition struct {
	ID      string   `json:"id"`
	Events  []string `json:"events,omitempty"`
	Guard   *Expr    `json:"guard,omitempty"`
	Target  string   `json:"target"`
	Actions []Action `json:"actions,omitempty"`
	Origin  string   `json:"origin,omitempty"`
	Pos     Pos      `json:"pos"`
}

// Timeout is `after D -> T`, measured from entering the stage (also a
// cell's `undecided after` and `recycle after`).
type Timeout struct {
	ID       string   `json:"id"`
	After    Duration `json:"after"`
	Written  string   `json:"written,omitempty"` // After as written, when in business days (`3bd`)
	Calendar string   `json:"calendar,omitempty"`
	Choices  []Choice `json:"choices,omitempty"` // the lead chooses: After and Calendar are the else rule's
	Target   string   `json:"target"`
	Actions  []Action `json:"actions,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	Pos      Pos      `json:"pos"`
}

// SLA is a service-level agreement of a stage. Without a breach block
// (Breach nil and !HasBreach) a breach raises the sla_breach exception.
// Clock says what a new owner in the stage does to it: ClockEntry keeps
// it running from the stage's entry, ClockAssignment starts it again (met
// or not), and "" starts it again after `reassign` or an operator's
// assignment unless it is met.
type SLA struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Within    Duration `json:"within"`
	Written   string   `json:"written,omitempty"` // Within as written, when in business days (`3bd`)
	Calendar  string   `json:"calendar,omitempty"`
	Choices   []Choice `json:"choices,omitempty"` // the lead chooses: Within and Calendar are the else rule's
	Clock     string   `json:"clock,omitempty"`
	Until     []string `json:"until,omitempty"`
	Warn      *Warn    `json:"warn,omitempty"`
	HasBreach bool     `json:"has_breach,omitempty"`
	Breach    []Action `json:"breach,omitempty"`
	Pos       Pos      `json:"pos"`
}

// Choice is one rule of a length the lead chooses, `within (when C -> D
// on CAL, ..., else -> D)` or the same in `after`: the first rule whose
// When holds (nil: else, always the last) gives the length and calendar,
// when the SLA starts or the timer is set.
type Choice struct {
	When     *Expr    `json:"when,omitempty"`
	Length   Duration `json:"length"`
	Written  string   `json:"written,omitempty"` // Length as written, when in business days
	Calendar string   `json:"calendar,omitempty"`
	Pos      Pos      `json:"pos"`
}

// Lengths are the lengths an SLA may have: its choices, or its one length.
func (s *SLA) Lengths() []Choice {
	if len(s.Choices) > 0 {
		return s.Choices
	}
	return []Choice{{Length: s.Within, Written: s.Written, Calendar: s.Calendar, Pos: s.Pos}}
}

// SLA clocks (SLA.Clock).
const (
	ClockEntry      = "entry"      // from the stage's entry: a new owner keeps the clock
	ClockAssignment = "assignment" // from each assignment: a new owner gets a fresh clock
)

// Warn fires when Percent of the SLA is used, or At after it started.
type Warn struct {
	Percent int      `json:"percent,omitempty"`
	At      Duration `json:"at,omitempty"`
	Actions []Action `json:"actions"`
	Pos     Pos      `json:"pos"`
}

// Nurture is a develop stage's periodic nurture notification.
type Nurture struct {
	ID       string   `json:"id"`
	Every    Duration `json:"every"`
	Calendar string   `json:"calendar,omitempty"`
	Message  *Expr    `json:"message,omitempty"`
	Pos      Pos      `json:"pos"`
}

// Handler is an `on EVENT [when EXPR] { ACTIONS }` that does not move the
// lead, or (Score set) one rule of a score block.
type Handler struct {
	Events  []string  `json:"events"`
	Guard   *Expr     `json:"guard,omitempty"`
	Actions []Action  `json:"actions,omitempty"`
	Score   *ScoreAdd `json:"score,omitempty"`
	Pos     Pos       `json:"pos"`
}

// ScoreAdd adds Amount to a score field (then clamps to the score's limit).
type ScoreAdd struct {
	Field  string  `json:"field"`
	Amount float64 `json:"amount"`
}

// Score is a score block's field, decay and limit.
type Score struct {
	Field string   `json:"field"`
	Float bool     `json:"float,omitempty"` // the field is a float (else int: decay rounds down)
	Decay *Decay   `json:"decay,omitempty"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
	Pos   Pos      `json:"pos"`
}

// Decay lowers a score by Percent after Every with no change by the score.
type Decay struct {
	Percent  int      `json:"percent"`
	Every    Duration `json:"every"`
	Calendar string   `json:"calendar,omitempty"`
}

// Exception kinds (the language reference §10).
const (
	ExcSLABreach = "sla_breach"
	ExcNoOwner   = "no_owner"
	ExcEvalError = "eval_error"
	ExcLoop      = "loop"
)

// ExceptionKinds lists the built-in exception kinds.
var ExceptionKinds = []string{ExcSLABreach, ExcNoOwner, ExcEvalError, ExcLoop}

// ExceptionHandler handles an exception kind; `-> T` is its last action.
type ExceptionHandler struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Actions []Action `json:"actions"`
	Pos     Pos      `json:"pos"`
}

// Action kinds (the language reference §8).
const (
	ActSet      = "set"
	ActAssign   = "assign"
	ActReassign = "reassign"
	ActNotify   = "notify"
	ActEscalate = "escalate"
	ActMove     = "move"
)

// Action is one action. Set uses Field and Value; Assign uses Assign;
// Notify uses Target (a role or responsible/accountable/consulted/informed)
// and Value (the message); Escalate uses Target (a role) or To (an
// expression naming a role or person) and Value; Move uses Target (a
// stage).
type Action struct {
	Kind   string    `json:"kind"`
	Field  string    `json:"field,omitempty"`
	Value  *Expr     `json:"value,omitempty"`
	Target string    `json:"target,omitempty"`
	To     *Expr     `json:"to,omitempty"`
	Assign *Assignee `json:"assign,omitempty"`
	Pos    Pos       `json:"pos"`
}

// Expr is a type-checked CEL expression. Src has its whitespace runs and
// comments collapsed to single spaces, so reformatting never changes it.
type Expr struct {
	Src  string `json:"src"`
	Type string `json:"type"` // the checked result type, e.g. "bool"
	Pos  Pos    `json:"pos"`
}

// Waiver records an accepted deviation from the workflow's standard.
type Waiver struct {
	Requirement string `json:"requirement"`
	Reason      string `json:"reason"`
	Stage       string `json:"stage,omitempty"` // the one stage it covers
	Until       string `json:"until,omitempty"` // YYYY-MM-DD: the last day it applies
	Pos         Pos    `json:"pos"`
}

// NamedRule is a standard's `rule NAME = EXPR`.
type NamedRule struct {
	Name string `json:"name"`
	Expr *Expr  `json:"expr"`
	Pos  Pos    `json:"pos"`
}

// Stage returns the stage named name, or nil.
func (w *Workflow) Stage(name string) *Stage {
	for i := range w.Stages {
		if w.Stages[i].Name == name {
			return &w.Stages[i]
		}
	}
	return nil
}

// Event returns the event type named name, or nil.
func (w *Workflow) Event(name string) *Event {
	for i := range w.Events {
		if w.Events[i].Name == name {
			return &w.Events[i]
		}
	}
	return nil
}

// Field returns the lead field named name, or nil.
func (w *Workflow) Field(name string) *Field {
	for i := range w.Lead {
		if w.Lead[i].Name == name {
			return &w.Lead[i]
		}
	}
	return nil
}

// Team returns the team named name, or nil.
func (w *Workflow) Team(name string) *Team {
	for i := range w.Teams {
		if w.Teams[i].Name == name {
			return &w.Teams[i]
		}
	}
	return nil
}

// Routing returns the routing named name, or nil.
func (w *Workflow) Routing(name string) *Routing {
	for i := range w.Routings {
		if w.Routings[i].Name == name {
			return &w.Routings[i]
		}
	}
	return nil
}

// Calendar returns the calendar named name, or nil.
func (w *Workflow) Calendar(name string) *Calendar {
	for i := range w.Calendars {
		if w.Calendars[i].Name == name {
			return &w.Calendars[i]
		}
	}
	return nil
}

// BuiltinEvents are always declared (the language reference §3.3).
const (
	EventCaptured = "captured"
	EventUpdated  = "updated"
)

// BuiltinAttrs are the read-only lead attributes of the language reference §3.2.
var BuiltinAttrs = []Field{
	{Name: "id", Type: Type{Kind: String}},
	{Name: "stage", Type: Type{Kind: String}},
	{Name: "owner", Type: Type{Kind: String}},
	{Name: "created_at", Type: Type{Kind: Timestamp}},
	{Name: "entered_at", Type: Type{Kind: Timestamp}},
	{Name: "version", Type: Type{Kind: String}},
	{Name: "lifecycle", Type: Type{Kind: String}},
}

// IsBuiltinAttr reports whether name is a built-in lead attribute.
func IsBuiltinAttr(name string) bool {
	for _, f := range BuiltinAttrs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Normalize replaces the workflow's nil lists with empty ones, so its JSON
// shows `[]` rather than `null` for a workflow without, say, routings.
func (w *Workflow) Normalize() {
	if w.Lead == nil {
		w.Lead = []Field{}
	}
	if w.Events == nil {
		w.Events = []Event{}
	}
	for i := range w.Events {
		if w.Events[i].Fields == nil {
			w.Events[i].Fields = []Field{}
		}
	}
	if w.Roles == nil {
		w.Roles = []Role{}
	}
	if w.Teams == nil {
		w.Teams = []Team{}
	}
	if w.Routings == nil {
		w.Routings = []Routing{}
	}
	if w.Calendars == nil {
		w.Calendars = []Calendar{}
	}
	if w.Handlers == nil {
		w.Handlers = []Handler{}
	}
	if w.Exceptions == nil {
		w.Exceptions = []ExceptionHandler{}
	}
	if w.Scores == nil {
		w.Scores = []Score{}
	}
	if w.Stages == nil {
		w.Stages = []Stage{}
	}
}
