// Package engine executes compiled workflows. Its heart is Step: a pure,
// deterministic function of (machine, lead state, input, now, routing
// state) returning the new lead state and the step's effects — the history
// entry, timers to set and cancel, notifications and routing changes. It
// does no I/O and reads no clock; `lead test` runs it on a virtual clock and
// `lead run` on the wall clock against Badger, so both share one semantics.
package engine

import (
	"time"
)

// Lead is a lead's state. Step never mutates a Lead it is given; it returns
// a new one.
type Lead struct {
	ID        string    `json:"id"`
	Workflow  string    `json:"workflow"`
	Version   string    `json:"version"`
	Stage     string    `json:"stage"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	EnteredAt time.Time `json:"entered_at"`
	// Fields holds the schema's fields in the machine's field order; nil
	// for an absent optional field. Values are run-time natives: string,
	// int64, float64, bool, time.Time, time.Duration, []any, map[string]any.
	Fields []any `json:"-"`
	// Stuck is set when an exception found no handler (the language reference §10).
	Stuck *Stuck `json:"stuck"`
	// SLAs are the current stage's SLAs and their progress.
	SLAs []SLAState `json:"slas"`
	// Timers are the lead's pending timers by name with their due times;
	// a fired timer that is no longer here (or due at another time) is stale.
	Timers map[string]time.Time `json:"timers,omitempty"`
	// ScoreChanged records when each score last changed the lead (decay).
	ScoreChanged map[string]time.Time `json:"score_changed,omitempty"`
	// Reached records when the lead first entered a stage of each
	// lifecycle label: a funnel counts a lead once per label, however
	// often it comes back.
	Reached map[string]time.Time `json:"reached,omitempty"`
	// Seq counts the steps applied to the lead.
	Seq uint64 `json:"seq"`
}

// Stuck says why a lead is stuck in its stage.
type Stuck struct {
	Kind   string    `json:"kind"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// SLA states.
const (
	SLARunning   = "running"
	SLAWarned    = "warned"
	SLAMet       = "met"
	SLABreached  = "breached"
	SLACancelled = "cancelled" // left the stage before an `until` event
	// SLAExempt: the lead left the stage through an exception handler, an
	// operator's override, or while stuck, before the SLA was met or
	// breached: nobody met it, and nobody missed it.
	SLAExempt = "exempt"
)

// SLAState is one SLA of the current stage.
type SLAState struct {
	Name     string    `json:"name"`
	Started  time.Time `json:"started"`
	Deadline time.Time `json:"deadline"`
	State    string    `json:"state"`
}

// InputKind says what drives a step.
type InputKind int

const (
	// Capture creates a lead (the language reference §9, last paragraph).
	Capture InputKind = iota
	// Event delivers an event of a declared type.
	Event
	// Update changes lead fields through the API and runs `updated`.
	Update
	// Timer fires one of the lead's timers.
	Timer
	// Override moves the lead to a stage by an operator's decision.
	Override
	// Assign gives the lead to an owner by an operator's decision.
	Assign
)

func (k InputKind) String() string {
	return [...]string{"capture", "event", "update", "timer", "override", "assign"}[k]
}

// Input is what drives one step. Field values are JSON-decoded (or already
// run-time) values; Step validates and converts them.
type Input struct {
	Kind    InputKind
	LeadID  string         // Capture: the new lead's id
	Event   string         // Event: its type
	EventID string         // Event: the idempotency key, recorded in history
	Data    map[string]any // Capture/Update: fields; Event: payload
	Timer   string         // Timer: the timer's name
	Due     time.Time      // Timer: when it was due (to detect stale and late firing)
	Stage   string         // Override: the target stage
	Owner   string         // Assign: the new owner
	Reason  string         // Override, Assign: why
	Actor   string         // Override, Assign: who
}

// Entry is one step in a lead's history.
type Entry struct {
	Seq           uint64            `json:"seq"`
	At            time.Time         `json:"at"`
	Cause         string            `json:"cause"` // capture event update timer override assign migrate
	Event         string            `json:"event,omitempty"`
	EventID       string            `json:"event_id,omitempty"`
	Timer         string            `json:"timer,omitempty"`
	Late          time.Duration     `json:"late,omitempty"` // a timer fired after its due time
	From          string            `json:"from"`
	To            string            `json:"to"`
	Owner         string            `json:"owner"`
	Version       string            `json:"version"`
	Moves         []Move            `json:"moves,omitempty"`
	Actions       []string          `json:"actions,omitempty"`
	SLAs          []SLAOutcome      `json:"slas,omitempty"`
	Escalations   []string          `json:"escalations,omitempty"`
	Notifications int               `json:"notifications,omitempty"`
	Exceptions    []ExceptionRecord `json:"exceptions,omitempty"`
	Fields        map[string]any    `json:"fields,omitempty"` // fields changed by the step (JSON form)
	Override      *OverrideRecord   `json:"override,omitempty"`
	Assign        *AssignRecord     `json:"assign,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

// Move is one stage change within a step, with the edge that caused it.
type Move struct {
	From string `json:"from"`
	To   string `json:"to"`
	Edge string `json:"edge"` // the IR edge ID, or "override"
}

// SLAOutcome is an SLA starting, warning, being met, breaching or being
// cancelled within a step.
type SLAOutcome struct {
	Name     string    `json:"name"`
	Stage    string    `json:"stage"`
	State    string    `json:"state"` // started warned met breached cancelled restarted
	Deadline time.Time `json:"deadline"`
}

// ExceptionRecord is an exception raised in a step and how it ended.
type ExceptionRecord struct {
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
	Stage    string `json:"stage"`
	Handler  string `json:"handler"` // stage, workflow, stuck, or override
	Resolved bool   `json:"resolved"`
}

// OverrideRecord is an operator's manual move.
type OverrideRecord struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Actor  string `json:"actor,omitempty"`
}

// AssignRecord is an operator's change of owner.
type AssignRecord struct {
	Owner    string `json:"owner"`
	Previous string `json:"previous"`
	Reason   string `json:"reason"`
	Actor    string `json:"actor,omitempty"`
}

// Notification is an outgoing message: notify, escalate or nurture.
type Notification struct {
	Kind    string    `json:"kind"` // notify escalate nurture
	Lead    string    `json:"lead"`
	To      string    `json:"to"`             // a person or queue
	Role    string    `json:"role,omitempty"` // the role or RACI target it was addressed to
	Message string    `json:"message"`
	Stage   string    `json:"stage"`
	At      time.Time `json:"at"`
}

// TimerSet is a timer to schedule for a lead.
type TimerSet struct {
	Name string
	Due  time.Time
}

// Result is a step's outcome.
type Result struct {
	Lead          *Lead
	Entry         Entry
	Notifications []Notification
	// SetTimers and CancelTimers are the changes to the lead's timers, for
	// the store's due-time index.
	SetTimers    []TimerSet
	CancelTimers []string
	// Routing holds the routing-state changes, applied with Rotation.Apply
	// when the step commits.
	Routing RoutingDelta
	// Stale is true when a timer input no longer applies (the lead left
	// the stage or the timer was reset): nothing changed and nothing is
	// to be committed.
	Stale bool

	// Backing arrays for the usual small lists, so that a step allocates
	// them with its result.
	moveBuf [1]Move
	slaBuf  [2]SLAOutcome
	teamBuf [1]TeamDelta
	openBuf [2]OpenDelta
}
