package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// excWorkflow has a guard that fails at run time (lead.note is absent) in
// stage a; stageExc and wfExc are the stage's and the workflow's handlers.
func excWorkflow(stageExc, wfExc string) string {
	return `
workflow exc
start a
lead {
  email string
  note  string?
  x     int = 0
}
event poke
event fix
role ops
owner { accountable ops }
` + wfExc + `
stage a {
  owner { responsible role ops }
  on poke when lead.note == "vip" -> vip
  on poke -> b
  on fix -> b
  ` + stageExc + `
  after 1d -> b
}
stage vip terminal
stage b {
  owner { responsible role ops }
  after 1d -> done
}
stage triage {
  owner { responsible role ops }
  after 1d -> done
}
stage done terminal
`
}

// TestEvalErrorResolution: an eval_error goes to the stage's handler, else
// the workflow's, else the lead is stuck in place.
func TestEvalErrorResolution(t *testing.T) {
	cases := []struct {
		name, stageExc, wfExc string
		stage                 string
		exceptions            []string
		stuck                 bool
		notified              []string
	}{
		{
			// Handled in place: the failing guard does not hold, so the
			// next transition for poke fires.
			name: "stage handler", stageExc: `on exception eval_error { notify ops "bad guard" }`,
			wfExc: `on exception eval_error -> triage`,
			stage: "b", exceptions: []string{"eval_error/stage"}, notified: []string{"notify:ops:ops"},
		},
		{
			name: "workflow handler", wfExc: `on exception eval_error {
  notify ops
  -> triage
}`,
			stage: "triage", exceptions: []string{"eval_error/workflow"}, notified: []string{"notify:ops:ops"},
		},
		{
			name: "stuck", stage: "a", exceptions: []string{"eval_error/stuck"}, stuck: true,
		},
		{
			// An exception inside an exception handler is not handled again.
			name: "exception inside the handler", stageExc: `on exception eval_error { notify ops "note: " + lead.note }`,
			stage: "a", exceptions: []string{"eval_error/stage", "eval_error/stuck"}, stuck: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, excWorkflow(tc.stageExc, tc.wfExc))
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			w.capture("L", map[string]any{"email": "a@x"})
			r := w.send("L", "poke", nil)
			eq(t, "stage", r.Lead.Stage, tc.stage)
			eqs(t, "exceptions", w.exceptions("L"), tc.exceptions)
			eqs(t, "notified", w.notified("L"), tc.notified)
			eq(t, "stuck", r.Lead.Stuck != nil, tc.stuck)
			if tc.stuck {
				st := r.Lead.Stuck
				eq(t, "stuck kind", st.Kind, "eval_error")
				if !strings.Contains(st.Reason, "lead.note") || !strings.Contains(st.Reason, "test.lead:") {
					t.Errorf("the reason names the expression and its position: %q", st.Reason)
				}
				eq(t, "recorded", r.Entry.Exceptions[len(r.Entry.Exceptions)-1].Resolved, false)
			}
		})
	}
}

// TestStuckLead: a stuck lead still handles events and timers; a move
// clears the mark; an override clears it and is recorded as an exception.
func TestStuckLead(t *testing.T) {
	m := compile(t, excWorkflow("", ""))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "poke", nil)
	if w.lead("L").Stuck == nil {
		t.Fatal("want stuck")
	}
	w.send("L", "poke", nil) // still stuck: the same guard fails again
	eq(t, "still stuck", w.lead("L").Stuck != nil, true)
	w.send("L", "fix", nil) // another event moves it on
	eq(t, "moved", w.lead("L").Stage, "b")
	eq(t, "stuck cleared by a move", w.lead("L").Stuck == nil, true)

	// A stuck lead's timers still fire.
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "poke", nil)
	w.wait(25 * time.Hour)
	eq(t, "timer moved it", w.lead("L").Stage, "b")
	eq(t, "and cleared", w.lead("L").Stuck == nil, true)

	// An override.
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "poke", nil)
	r := w.must("L", Input{Kind: Override, Stage: "triage", Reason: "checked by hand", Actor: "ops@acme.example"})
	eq(t, "stage", r.Lead.Stage, "triage")
	eq(t, "stuck cleared", r.Lead.Stuck == nil, true)
	eq(t, "cause", r.Entry.Cause, "override")
	eq(t, "edge", r.Entry.Moves[0].Edge, EdgeOverride)
	eq(t, "override record", *r.Entry.Override, OverrideRecord{Stage: "triage", Reason: "checked by hand", Actor: "ops@acme.example"})
	x := r.Entry.Exceptions[0]
	eq(t, "exception kind", x.Kind, "override")
	eq(t, "exception handler", x.Handler, "override")
	eq(t, "exception stage", x.Stage, "a")
	if !strings.Contains(x.Reason, "checked by hand") || !strings.Contains(x.Reason, "was stuck: eval_error") {
		t.Errorf("override reason = %q", x.Reason)
	}
	// An override can also leave a terminal stage, and enters normally.
	w.send("L", "poke", nil)
	w.wait(25 * time.Hour)
	eq(t, "done", w.lead("L").Stage, "done")
	r = w.must("L", Input{Kind: Override, Stage: "a", Reason: "reopened"})
	eq(t, "reopened", r.Lead.Stage, "a")
	eq(t, "timers restarted", r.Lead.Timers["after:0"], w.now.Add(24*time.Hour))
}

// TestActionBlocksAreAtomic: a failing action undoes the block's earlier
// actions before the exception is handled.
func TestActionBlocksAreAtomic(t *testing.T) {
	m := compile(t, `
workflow atomic
start a
lead {
  email string
  note  string?
  x     int = 0
  y     int = 0
}
event poke
event ok
role ops
owner { accountable ops }
team t {
  strategy round_robin
  member "ana"
  member "ben"
}
on exception eval_error { set lead.y = lead.y + 1 }
stage a {
  owner { responsible team t }
  on poke {
    set lead.x = 5
    notify ops "before"
    assign team t
    escalate ops
    set lead.x = size(lead.note)
  }
  on ok {
    set lead.x = 7
    notify ops "fine"
  }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	before := w.lead("L")
	rot := rotJSON(t, w.rot)
	r := w.send("L", "poke", nil)
	eq(t, "x undone", w.field("L", "x"), any(int64(0)))
	eq(t, "handler ran", w.field("L", "y"), any(int64(1)))
	eq(t, "owner undone", r.Lead.Owner, before.Owner)
	eq(t, "no notifications", len(r.Notifications), 0)
	eq(t, "no escalations", len(r.Entry.Escalations), 0)
	eq(t, "rotation untouched", len(r.Routing.Teams), 0)
	eq(t, "actions", strings.Join(r.Entry.Actions, ", "), "set y")
	eq(t, "rotation", rotJSON(t, w.rot), rot)
	r = w.send("L", "ok", nil)
	eq(t, "x", w.field("L", "x"), any(int64(7)))
	eq(t, "notified", len(r.Notifications), 1)
}

// TestStuckDuringMove: an unhandled exception in a transition's actions
// leaves the lead stuck in the target: its owner routed, timers and SLAs
// started, its enter actions not run. A handled one lets the move go on.
func TestStuckDuringMove(t *testing.T) {
	src := func(handler string) string {
		return `
workflow mv
start a
lead {
  email string
  note  string?
  x     int = 0
}
event go
role ops
owner { accountable ops }
stage a {
  owner { responsible role ops }
  on go -> b { set lead.x = size(lead.note) }
  ` + handler + `
  after 1d -> b
}
stage b {
  owner { responsible user "bo" }
  enter { set lead.x = 42 }
  sla s within 1h { breach { escalate ops } }
  after 1d -> done
}
stage done terminal
`
	}
	m := compile(t, src(""))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	r := w.send("L", "go", nil)
	l := r.Lead
	eq(t, "stage", l.Stage, "b")
	eq(t, "stuck", l.Stuck != nil && l.Stuck.Kind == "eval_error", true)
	eq(t, "owner routed", l.Owner, "bo")
	eq(t, "enter skipped", w.field("L", "x"), any(int64(0)))
	eq(t, "SLA started", len(l.SLAs), 1)
	eq(t, "timeout started", l.Timers["after:0"], w.now.Add(24*time.Hour))
	eq(t, "exception stage", r.Entry.Exceptions[0].Stage, "a")
	w.wait(2 * time.Hour)
	eqs(t, "a stuck lead's SLA still escalates", w.escalated("L"), []string{"ops"})

	m = compile(t, src(`on exception eval_error { notify ops }`))
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	r = w.send("L", "go", nil)
	eq(t, "stage", r.Lead.Stage, "b")
	eq(t, "not stuck", r.Lead.Stuck == nil, true)
	eq(t, "enter ran", w.field("L", "x"), any(int64(42)))
	eqs(t, "exceptions", w.exceptions("L"), []string{"eval_error/stage"})
}

// TestEvalErrorSites: eval_error from a `when` guard, a `set`, best_fit,
// a routing rule and a user target; each handled by the workflow.
func TestEvalErrorSites(t *testing.T) {
	m := compile(t, `
workflow sites
start inbox
lead {
  email string
  note  string?
  zero  int = 0
  x     int = 0
}
event to_when
event to_set
event to_fit
event to_rule
event to_user
role ops
owner { accountable ops }
team fit {
  strategy best_fit by member.tenure / lead.zero
  member "kim" { tenure 6 }
}
routing by_note {
  when lead.note == "x" -> role ops
  else                  -> role ops
}
on exception eval_error -> triage
stage inbox {
  owner { responsible role ops }
  on to_when -> w
  on to_set { set lead.x = 10 / lead.zero }
  on to_fit -> f
  on to_rule -> r
  on to_user -> u
  after 1d -> done
}
stage w {
  owner { responsible role ops }
  when lead.note == "x" -> done
  after 1d -> done
}
stage f {
  owner { responsible team fit }
  after 1d -> done
}
stage r {
  owner { responsible route by_note }
  after 1d -> done
}
stage u {
  owner { responsible user lead.note }
  after 1d -> done
}
stage triage {
  owner { responsible role ops }
  after 1d -> done
}
stage done terminal
`)
	for _, ev := range []string{"to_when", "to_set", "to_fit", "to_rule", "to_user"} {
		t.Run(ev, func(t *testing.T) {
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			w.capture("L", map[string]any{"email": "a@x"})
			r := w.send("L", ev, nil)
			eq(t, "stage", r.Lead.Stage, "triage")
			eqs(t, "exceptions", w.exceptions("L"), []string{"eval_error/workflow"})
			eq(t, "x unchanged", w.field("L", "x"), any(int64(0)))
		})
	}
}

// chainWorkflow is n stages s0 -> s1 -> ... -> s(n-1), each moving on at
// once by a guard the compiler cannot prove always true.
func chainWorkflow(n int, extra string) string {
	var b strings.Builder
	b.WriteString("workflow chain\nstart s0\nlead {\n  email string\n  n int = 0\n}\nevent go\nrole ops\nowner { accountable ops }\n" + extra + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "stage s%d {\n  owner { responsible role ops }\n", i)
		if i+1 < n {
			fmt.Fprintf(&b, "  when lead.n >= 0 -> s%d\n", i+1)
		}
		b.WriteString("  after 1d -> parked\n}\n")
	}
	b.WriteString("stage parked {\n  owner { responsible role ops }\n  after 1d -> done\n}\nstage done terminal\n")
	return b.String()
}

// TestChainsAndLoop: a step may move the lead 64 times; a chain that would
// make a 65th is undone whole and raises `loop` where it began.
func TestChainsAndLoop(t *testing.T) {
	m := compile(t, chainWorkflow(65, ""))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	r := w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "64 moves reach the end", r.Lead.Stage, "s64")
	eq(t, "moves recorded", len(r.Entry.Moves), 65) // the capture's entry and 64 moves
	eq(t, "not stuck", r.Lead.Stuck == nil, true)

	m = compile(t, chainWorkflow(66, ""))
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	r = w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "stuck where the chain began", r.Lead.Stage, "s0")
	eq(t, "loop", r.Lead.Stuck != nil && r.Lead.Stuck.Kind == "loop", true)
	eq(t, "only the capture's move", len(r.Entry.Moves), 1)
	eq(t, "timers of s0 run", r.Lead.Timers["after:0"], w.now.Add(24*time.Hour))
}

func cycleWorkflow(handler string) string {
	return `
workflow cycle
start p
lead {
  email string
  n int = 0
}
event go
role ops
owner { accountable ops }
` + handler + `
stage p {
  owner { responsible role ops }
  when lead.n >= 0 -> q
  after 1d -> parked
}
stage q {
  owner { responsible role ops }
  when lead.n >= 0 -> p
  after 1d -> parked
}
stage parked {
  owner { responsible role ops }
  on go -> p
  after 1d -> done
}
stage done terminal
`
}

// TestLoopResolution: a cycle of automatic moves raises loop after 64
// moves; a handler that moves the lead ends it, one that does not stops the
// chain, and a second loop in the same step leaves the lead stuck.
func TestLoopResolution(t *testing.T) {
	cases := []struct {
		name, handler string
		stage         string
		exceptions    []string
		stuck         bool
	}{
		{"no handler", "", "p", []string{"loop/stuck"}, true},
		{"a handler that moves", "on exception loop -> parked", "parked", []string{"loop/workflow"}, false},
		{"a handler that does not move", `on exception loop { notify ops "looping" }`, "p", []string{"loop/workflow"}, false},
		// The handler's move starts a fresh chain, p -> q -> p ..., which
		// loops too: it is undone, its first move (the handler's)
		// included, and the second loop, raised in p, is not handled.
		{"a handler that moves back into the loop", "on exception loop -> q", "p", []string{"loop/workflow", "loop/stuck"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, cycleWorkflow(tc.handler))
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			r := w.capture("L", map[string]any{"email": "a@x"})
			eq(t, "stage", r.Lead.Stage, tc.stage)
			eqs(t, "exceptions", w.exceptions("L"), tc.exceptions)
			eq(t, "stuck", r.Lead.Stuck != nil, tc.stuck)
			if !strings.Contains(r.Entry.Exceptions[0].Reason, "more than 64 moves") {
				t.Errorf("reason = %q", r.Entry.Exceptions[0].Reason)
			}
		})
	}
}

// TestTerminalStage: a lead in a terminal stage still runs workflow-level
// handlers and scores, but an exception handler does not move it out.
func TestTerminalStage(t *testing.T) {
	m := compile(t, `
workflow term
start a
lead {
  email string
  note  string?
  seen  int = 0
  engagement int = 0
}
event close
event poke
event bad
role ops
owner { accountable ops }
score engagement {
  on poke add 5
}
on poke { set lead.seen = lead.seen + 1 }
on bad { set lead.seen = size(lead.note) }
on exception eval_error {
  notify ops
  -> triage
}
stage a {
  owner { responsible role ops }
  on close -> won
  after 1d -> won
}
stage triage {
  owner { responsible role ops }
  after 1d -> won
}
stage won terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "close", nil)
	w.send("L", "poke", nil)
	eq(t, "seen", w.field("L", "seen"), any(int64(1)))
	eq(t, "engagement", w.field("L", "engagement"), any(int64(5)))
	r := w.send("L", "bad", nil)
	eq(t, "stays won", r.Lead.Stage, "won")
	eq(t, "handler's other actions ran", len(r.Notifications), 1)
	eqs(t, "exceptions", w.exceptions("L"), []string{"eval_error/workflow"})
	if !strings.Contains(strings.Join(r.Entry.Actions, ","), "stay in terminal stage won") {
		t.Errorf("actions = %v", r.Entry.Actions)
	}
}

// TestCaptureExceptions: an exception in a `captured` handler, and
// no_owner at the start stage.
func TestCaptureExceptions(t *testing.T) {
	src := func(handler string) string {
		return `
workflow capx
start a
lead {
  email string
  note  string?
  x     int = 0
}
role ops
owner { accountable ops }
team empty_shift {
  strategy round_robin
  calendar closed
  member "ana"
}
calendar closed {
  timezone "UTC"
  hours sun 00:00-00:01
}
on captured { set lead.x = size(lead.note) }
` + handler + `
stage a {
  owner { responsible team empty_shift }
  enter { set lead.x = 1 }
  after 1d -> triage
}
stage triage {
  owner { responsible role ops }
  after 1d -> done
}
stage done terminal
`
	}
	m := compile(t, src("on exception eval_error -> triage"))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	r := w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "moved by the handler before entering start", strings.Join(w.path("L"), " "), "triage")
	eq(t, "from", r.Entry.Moves[0].From, "")

	m = compile(t, src(""))
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	r = w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "placed in start", r.Lead.Stage, "a")
	eq(t, "stuck for the first reason", r.Lead.Stuck.Kind, "eval_error")
	eqs(t, "exceptions", w.exceptions("L"), []string{"eval_error/stuck", "no_owner/stuck"})
	eq(t, "enter skipped", w.field("L", "x"), any(int64(0)))
	eq(t, "timers run", r.Lead.Timers["after:0"], w.now.Add(24*time.Hour))

	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	r = w.capture("L", map[string]any{"email": "a@x", "note": "abc"})
	eq(t, "no owner on shift", r.Lead.Stuck.Kind, "no_owner")
	eq(t, "owner", r.Lead.Owner, "")
	eq(t, "captured handler ran, enter skipped", w.field("L", "x"), any(int64(3)))
}

// TestNonFiniteAndBadUserNames: a set producing infinity raises eval_error
// (JSON cannot hold it); a user target that is no usable name raises
// no_owner.
func TestNonFiniteAndBadUserNames(t *testing.T) {
	m := compile(t, `
workflow nf
start inbox
lead {
  email string
  ratio float = 0.0
  who   string = ""
}
event divide
event route_bad
role ops
owner { accountable ops }
on exception eval_error -> triage
on exception no_owner -> triage
stage inbox {
  owner { responsible role ops }
  on divide { set lead.ratio = 1.0 / lead.ratio }
  on route_bad -> u
  after 1d -> done
}
stage u {
  owner { responsible user lead.who + "\u0001" }
  after 1d -> done
}
stage triage {
  owner { responsible role ops }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	r := w.send("L", "divide", nil)
	eq(t, "stage", r.Lead.Stage, "triage")
	eqs(t, "exceptions", w.exceptions("L"), []string{"eval_error/workflow"})
	eq(t, "ratio unchanged", w.field("L", "ratio"), any(0.0))

	w2 := newWorld(t, m, "2026-03-02T09:00:00Z")
	w2.capture("L", map[string]any{"email": "a@x"})
	r = w2.send("L", "route_bad", nil)
	eq(t, "stage", r.Lead.Stage, "triage")
	eqs(t, "exceptions", w2.exceptions("L"), []string{"no_owner/workflow"})
}

// TestLoopUndoesItsChain: a chain of moves that loops leaves nothing of
// itself: no moves, notifications, actions or SLA outcomes, whether an
// event, a capture or an override started it; only the exception.
func TestLoopUndoesItsChain(t *testing.T) {
	src := strings.Replace(cycleWorkflow(""), "stage p {\n  owner { responsible role ops }\n",
		"stage p {\n  owner { responsible role ops }\n  enter { notify ops \"in p\" }\n  sla touch within 1h\n", 1)
	src = strings.Replace(src, "stage q {\n  owner { responsible role ops }\n",
		"stage q {\n  owner { responsible role ops }\n  enter { set lead.n = lead.n + 1 }\n", 1)
	m := compile(t, src)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	r := w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "captured into p, the chain undone", r.Lead.Stage, "p")
	eq(t, "the capture's move only", len(r.Entry.Moves), 1)
	eq(t, "p's enter ran once (the capture)", len(r.Notifications), 1)
	eq(t, "q's enter never ran", w.field("L", "n"), any(int64(0)))
	eqs(t, "exceptions", w.exceptions("L"), []string{"loop/stuck"})

	// An override into the loop: the override's move stays, the chain
	// after it goes.
	m2 := compile(t, strings.Replace(src, "stage parked {\n  owner { responsible role ops }\n  on go -> p\n", "stage parked {\n  owner { responsible role ops }\n", 1))
	w = newWorld(t, m2, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	r = w.must("L", Input{Kind: Override, Stage: "q", Reason: "test", Actor: "ops"})
	eq(t, "overridden into q, the chain after it undone", r.Lead.Stage, "q")
	eq(t, "the override's move only", len(r.Entry.Moves), 1)
	eq(t, "q's enter ran once", w.field("L", "n"), any(int64(1)))
	eq(t, "no notification from p", len(r.Notifications), 0)
	for _, o := range r.Entry.SLAs {
		if o.State == "started" {
			t.Errorf("an SLA started by the undone chain: %+v", o)
		}
	}
}
