package engine

import (
	"strings"
	"testing"
	"time"
)

// orderSrc traces the order of evaluation of one step in lead.trail.
const orderSrc = `
workflow order
start a

lead {
  email string
  trail list<string> = []
  n     int = 0
  hot   bool = false
}

event go { k int }
event poke
event warm

role ops
owner { accountable ops }

on go { set lead.trail = lead.trail + ["wf go n=" + string(lead.n)] }
on warm { set lead.hot = true }
on go { set lead.n = lead.n + 1 }

stage a {
  owner { responsible role ops }
  exit { set lead.trail = lead.trail + ["exit a owner=" + lead.owner] }
  on go when event.k == 1 -> b { set lead.trail = lead.trail + ["transition a->b in " + lead.stage] }
  on go when event.k >= 1 -> c
  on go -> a2
  on poke { set lead.trail = lead.trail + ["handler a 1"] }
  on poke when lead.n > 100 { set lead.trail = lead.trail + ["handler a 2"] }
  on poke { set lead.trail = lead.trail + ["handler a 3"] }
  on warm -> c
  when lead.hot -> hotbox
  after 1d -> c
}

stage a2 {
  owner { responsible role ops }
  on poke { set lead.trail = lead.trail + ["handler a2"] }
  on poke -> c
  after 1d -> c
}

stage b {
  owner { responsible user "bo@acme.example" }
  enter { set lead.trail = lead.trail + ["enter b owner=" + lead.owner] }
  when lead.n >= 1 -> c { set lead.trail = lead.trail + ["auto b->c"] }
  after 1d -> c
}

stage c {
  owner { responsible role ops }
  enter { set lead.trail = lead.trail + ["enter c"] }
  on poke -> done
  after 1d -> done
}

stage hotbox {
  owner { responsible role ops }
  enter { set lead.trail = lead.trail + ["enter hotbox"] }
  after 1d -> done
}

stage done terminal
`

func trail(w *world, id string) []string {
	var out []string
	for _, v := range w.field(id, "trail").([]any) {
		out = append(out, v.(string))
	}
	return out
}

// TestOrderOfEvaluation checks the language reference §9 step by step: workflow
// handlers first (in source order), then the first event transition whose
// guard holds, else the in-stage handlers, then automatic transitions; a
// move runs exit, the transition's actions, routing, enter, and checks the
// new stage's automatic transitions.
func TestOrderOfEvaluation(t *testing.T) {
	m := compile(t, orderSrc)
	cases := []struct {
		name  string
		event string
		data  map[string]any
		path  []string
		trail []string
	}{
		{
			name: "first matching transition wins; move order; automatic chain", event: "go", data: map[string]any{"k": 1},
			path: []string{"a", "b", "c"},
			trail: []string{
				"wf go n=0", // the first workflow handler runs before the second sets n
				"exit a owner=ops",
				"transition a->b in a", // transition actions run between exit and enter
				"enter b owner=bo@acme.example",
				"auto b->c", // b's when holds at once: n is 1
				"enter c",
			},
		},
		{
			name: "a later transition fires when earlier guards fail", event: "go", data: map[string]any{"k": 2},
			path:  []string{"a", "c"},
			trail: []string{"wf go n=0", "exit a owner=ops", "enter c"},
		},
		{
			name: "an unguarded transition after guarded ones", event: "go", data: map[string]any{"k": 0},
			path:  []string{"a", "a2"},
			trail: []string{"wf go n=0", "exit a owner=ops"},
		},
		{
			name: "in-stage handlers run when no transition fires, in source order", event: "poke",
			path:  []string{"a"},
			trail: []string{"handler a 1", "handler a 3"},
		},
		{
			// The workflow handler makes a's `when lead.hot` true, but the
			// event transition has fired by the time automatic ones are
			// checked (§7.3 step 4: only if nothing moved the lead).
			name: "an event transition comes before automatic ones", event: "warm",
			path:  []string{"a", "c"},
			trail: []string{"exit a owner=ops", "enter c"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			w.capture("L", map[string]any{"email": "a@x.example"})
			w.send("L", tc.event, tc.data)
			eqs(t, "path", w.path("L"), append([]string{"a"}, tc.path[1:]...))
			eqs(t, "trail", trail(w, "L"), tc.trail)
		})
	}
}

// TestHandlersOnlyWithoutTransition: in a2, `on poke -> c` follows a
// handler for poke in source order; the transition still wins and the
// handler does not run.
func TestHandlersOnlyWithoutTransition(t *testing.T) {
	m := compile(t, orderSrc)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.send("L", "go", map[string]any{"k": 0}) // -> a2
	w.send("L", "poke", nil)
	eq(t, "stage", w.lead("L").Stage, "c")
	eqs(t, "trail", trail(w, "L"), []string{"wf go n=0", "exit a owner=ops", "enter c"})
}

// TestAutomaticAfterEvent: a `when` is checked after every event, here
// after a workflow handler made it true with no transition of its own.
func TestAutomaticAfterEvent(t *testing.T) {
	m := compile(t, `
workflow auto
start a
lead { email string
  hot bool = false }
event warm
role ops
owner { accountable ops }
on warm { set lead.hot = true }
stage a {
  owner { responsible role ops }
  when lead.hot -> b
  after 1d -> b
}
stage b terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	eq(t, "stage after capture", w.lead("L").Stage, "a")
	r := w.send("L", "warm", nil)
	eq(t, "stage", r.Lead.Stage, "b")
	eq(t, "edge", r.Entry.Moves[0].Edge, "a#when0")
	eq(t, "entry from", r.Entry.From, "a")
	eq(t, "entry to", r.Entry.To, "b")
}

// TestCapture covers defaults, required fields, the captured handlers and
// entering the start stage in one step.
func TestCapture(t *testing.T) {
	m := compile(t, `
workflow cap
start inbox
lead {
  email   string
  region  enum(na, emea) = na
  size    int = 10
  score   float = 0.5
  tags    list<string> = ["new"]
  note    string?
  fit     int = 0
}
event poke
role ops
owner { accountable ops }
on captured { set lead.fit = lead.size * 2 }
stage inbox {
  owner { responsible role ops }
  enter { set lead.tags = lead.tags + [lead.stage] }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	r := w.capture("L1", map[string]any{"email": "a@x.example", "size": 3.0})
	l := r.Lead
	eq(t, "stage", l.Stage, "inbox")
	eq(t, "owner", l.Owner, "ops")
	eq(t, "region", w.field("L1", "region"), any("na"))
	eq(t, "size", w.field("L1", "size"), any(int64(3)))
	eq(t, "score", w.field("L1", "score"), any(0.5))
	eq(t, "fit", w.field("L1", "fit"), any(int64(6)))
	eqs(t, "tags", w.field("L1", "tags").([]any), []any{"new", "inbox"})
	if _, ok := w.m.FieldValue(l, "note"); ok {
		t.Error("an optional field without a value is absent")
	}
	eq(t, "cause", r.Entry.Cause, "capture")
	eq(t, "event", r.Entry.Event, "captured")
	eq(t, "moves", len(r.Entry.Moves), 1)
	eq(t, "edge", r.Entry.Moves[0].Edge, EdgeCapture)
	eq(t, "seq", l.Seq, uint64(1))
	eq(t, "created", l.CreatedAt, w.now)
	eq(t, "timer", l.Timers["after:0"], w.now.Add(24*time.Hour))
	eqs(t, "set timers", []string{r.SetTimers[0].Name}, []string{"after:0"})

	_, err := w.step("L2", Input{Kind: Capture, Data: map[string]any{"region": "mars", "size": 1.5, "id": "x", "nope": 1}})
	ie := inputError(t, err)
	eqs(t, "problems", problemFields(ie), []string{"email", "id", "nope", "region", "size"})
	for _, want := range []string{"email: is required", "id: is a built-in attribute", `region: "mars" is not one of na, emea`, "size: expected an integer"} {
		if !strings.Contains(ie.Error(), want) {
			t.Errorf("error %q does not say %q", ie.Error(), want)
		}
	}
	if _, err := w.step("", Input{Kind: Capture, Data: map[string]any{"email": "x"}}); err == nil {
		t.Error("a capture without an id is rejected")
	}
	if _, err := Step(m, l, Input{Kind: Capture, LeadID: "L1"}, w.now, w.rot); err == nil {
		t.Error("capturing an existing lead is rejected")
	}
}

// TestRejectedInputs: every bad input is rejected with each bad field
// named, and changes nothing.
func TestRejectedInputs(t *testing.T) {
	m := compile(t, `
workflow rej
start inbox
lead {
  email string
  size  int = 0
  note  string?
}
event form { form string, campaign string?, pages int = 1 }
event reason { why enum(a, b) }
role ops
owner { accountable ops }
stage inbox {
  owner { responsible role ops }
  on form -> done
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	before := w.lead("L")
	snapshot := leadJSON(t, m, before)
	rot := rotJSON(t, w.rot)
	cases := []struct {
		name     string
		in       Input
		problems []string
		msg      string
	}{
		{"undeclared event", Input{Kind: Event, Event: "nope"}, []string{"type"}, `unknown event type "nope"`},
		{"built-in event", Input{Kind: Event, Event: "captured"}, []string{"type"}, "sent by the runtime"},
		{"payload: missing, wrong type, unknown", Input{Kind: Event, Event: "form", Data: map[string]any{"campaign": 3.0, "extra": true, "pages": "x"}},
			[]string{"campaign", "extra", "form", "pages"}, "invalid payload for event form"},
		{"payload: enum", Input{Kind: Event, Event: "reason", Data: map[string]any{"why": "c"}}, []string{"why"}, `"c" is not one of a, b`},
		{"update: built-in and unknown", Input{Kind: Update, Data: map[string]any{"stage": "done", "owner": "me", "colour": "red"}},
			[]string{"colour", "owner", "stage"}, "built-in attribute"},
		{"update: null for a required field", Input{Kind: Update, Data: map[string]any{"email": nil}}, []string{"email"}, "cannot be null"},
		{"update: nothing", Input{Kind: Update}, []string{"fields"}, "needs fields"},
		{"override: unknown stage, no reason", Input{Kind: Override, Stage: "mars"}, []string{"reason", "stage"}, `no stage "mars"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Step(m, before, tc.in, w.now, w.rot)
			if r != nil {
				t.Fatalf("want a rejection, got a result")
			}
			ie := inputError(t, err)
			eqs(t, "problems", problemFields(ie), tc.problems)
			if !strings.Contains(ie.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", ie.Error(), tc.msg)
			}
			eq(t, "lead unchanged", leadJSON(t, m, before), snapshot)
			eq(t, "rotation unchanged", rotJSON(t, w.rot), rot)
		})
	}
	// And the valid forms go through: an optional field set to null, a
	// payload with its default filled in.
	r := w.must("L", Input{Kind: Update, Data: map[string]any{"note": nil, "size": 5.0}})
	eq(t, "event", r.Entry.Event, "updated")
	eq(t, "size", w.field("L", "size"), any(int64(5)))
	r = w.send("L", "form", map[string]any{"form": "demo"})
	eq(t, "stage", r.Lead.Stage, "done")
}

// TestUpdatedEvent: an update changes fields and runs `updated` handlers
// and transitions like any event.
func TestUpdatedEvent(t *testing.T) {
	m := compile(t, `
workflow upd
start inbox
lead {
  email string
  size  int = 0
  seen  int = 0
}
role ops
owner { accountable ops }
on updated { set lead.seen = lead.seen + 1 }
stage inbox {
  owner { responsible role ops }
  on updated when lead.size > 100 -> big
  after 1d -> big
}
stage big terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	r := w.must("L", Input{Kind: Update, Data: map[string]any{"size": 5.0}})
	eq(t, "stage", r.Lead.Stage, "inbox")
	eq(t, "seen", w.field("L", "seen"), any(int64(1)))
	eq(t, "changed fields", len(r.Entry.Fields), 2)
	r = w.must("L", Input{Kind: Update, Data: map[string]any{"size": 500.0}})
	eq(t, "stage", r.Lead.Stage, "big")
	eq(t, "seen", w.field("L", "seen"), any(int64(2)))
}

// TestEventVariables: `event.type`, `event.at` and `now` (the step's time)
// in handlers for several events, which see only their common fields.
func TestEventVariables(t *testing.T) {
	m := compile(t, `
workflow vars
start a
lead {
  email string
  trail list<string> = []
  seen  timestamp?
}
event form { form string, campaign string? }
event page { form string }
role ops
owner { accountable ops }
on form, page {
  set lead.trail = lead.trail + [event.type + ":" + event.form]
  set lead.seen = event.at
}
stage a {
  owner { responsible role ops }
  on form when has(event.campaign) -> b
  after 1d -> b
}
stage b {
  owner { responsible role ops }
  enter { set lead.trail = lead.trail + ["entered " + string(now)] }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.wait(time.Hour)
	w.send("L", "page", map[string]any{"form": "p1"})
	w.send("L", "form", map[string]any{"form": "f1"})
	w.send("L", "form", map[string]any{"form": "f2", "campaign": "c"})
	eqs(t, "trail", trail(w, "L"), []string{"page:p1", "form:f1", "form:f2", "entered 2026-03-02T10:00:00Z"})
	eq(t, "seen", w.field("L", "seen"), any("2026-03-02T10:00:00Z"))
}
