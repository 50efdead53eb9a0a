package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const calendars = `
calendar us_business {
  timezone "America/New_York"
  hours mon-fri 09:00-17:00
  holiday "2026-11-26"
  holiday "2026-12-25"
}
calendar us_holiday_monday {
  timezone "America/New_York"
  hours mon-fri 09:00-17:00
  holiday "2026-03-09"
}
`

// slaWorkflow is one stage with one SLA; sla is the text after `sla x`.
func slaWorkflow(sla string) string {
	return `
workflow slas
start s
lead { email string }
event call
event done
role ops
owner { accountable ops }
` + calendars + `
stage s {
  owner { responsible role ops }
  on done -> finished
  sla x ` + sla + `
  after 400d -> finished
}
stage finished terminal
`
}

// TestSLADeadlinesOnCalendars checks deadlines and warnings computed by
// hand, on business calendars (across the 2026-03-08 New York DST change,
// around a holiday, starting outside hours) and on the wall clock.
func TestSLADeadlinesOnCalendars(t *testing.T) {
	cases := []struct {
		name, sla, start, warn, deadline string
	}{
		{
			// Friday 15:00-17:00 EST is 2h; Monday after the DST change
			// opens at 09:00 EDT, 2h more: 11:00 EDT.
			name: "business hours across DST", sla: "within 4h on us_business { warn at 50% { notify responsible }; breach { escalate ops } }",
			start: "2026-03-06T15:00:00-05:00", warn: "2026-03-06T17:00:00-05:00", deadline: "2026-03-09T11:00:00-04:00",
		},
		{
			name: "a holiday is skipped", sla: "within 4h on us_holiday_monday { warn at 50% { notify responsible }; breach { escalate ops } }",
			start: "2026-03-06T15:00:00-05:00", warn: "2026-03-06T17:00:00-05:00", deadline: "2026-03-10T11:00:00-04:00",
		},
		{
			name: "Thanksgiving", sla: "within 2h on us_business { warn at 1h { notify responsible }; breach { escalate ops } }",
			start: "2026-11-25T16:00:00-05:00", warn: "2026-11-25T17:00:00-05:00", deadline: "2026-11-27T10:00:00-05:00",
		},
		{
			name: "24 business hours (Appendix B)", sla: "within 24h on us_business { warn at 75% { notify responsible }; breach { escalate ops } }",
			start: "2026-03-02T09:00:00-05:00", warn: "2026-03-04T11:00:00-05:00", deadline: "2026-03-04T17:00:00-05:00",
		},
		{
			name: "starting outside hours", sla: "within 1h on us_business { warn at 30m { notify responsible }; breach { escalate ops } }",
			start: "2026-03-07T12:00:00-05:00", warn: "2026-03-09T09:30:00-04:00", deadline: "2026-03-09T10:00:00-04:00",
		},
		{
			// Wall-clock time: 24 real hours, so 13:00 EDT on Sunday.
			name: "wall clock across DST", sla: "within 24h { warn at 50% { notify responsible }; breach { escalate ops } }",
			start: "2026-03-07T12:00:00-05:00", warn: "2026-03-08T00:00:00-05:00", deadline: "2026-03-08T13:00:00-04:00",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, slaWorkflow(tc.sla))
			w := newWorld(t, m, tc.start)
			l := w.capture("L", map[string]any{"email": "a@x.example"}).Lead
			deadline, warn := ts(t, tc.deadline), ts(t, tc.warn)
			if len(l.SLAs) != 1 || !l.SLAs[0].Deadline.Equal(deadline) {
				t.Fatalf("SLAs = %+v, want deadline %s", l.SLAs, deadline)
			}
			eq(t, "warn timer", l.Timers["warn:x"].Equal(warn), true)
			eq(t, "breach timer", l.Timers["breach:x"].Equal(deadline), true)

			w.until(deadline.Add(-time.Second))
			eq(t, "state before the deadline", w.lead("L").SLAs[0].State, SLAWarned)
			eqs(t, "escalated before the deadline", w.escalated("L"), nil)
			w.until(deadline)
			eq(t, "state at the deadline", w.lead("L").SLAs[0].State, SLABreached)
			eqs(t, "escalated", w.escalated("L"), []string{"ops"})
			e := w.last("L")
			eq(t, "breach step time", e.At.Equal(deadline), true)
			eq(t, "breach outcome", e.SLAs[0].State, SLABreached)
		})
	}
}

// TestWarnBeforeBreach: waiting past both fires the warning, then the
// breach, each as its own step and in that order.
func TestWarnBeforeBreach(t *testing.T) {
	m := compile(t, slaWorkflow(`within 1h {
    warn at 50% { notify responsible "half" }
    breach { escalate ops "late" }
  }`))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.wait(3 * time.Hour)
	h := w.hist["L"]
	if len(h) != 3 {
		t.Fatalf("history has %d steps, want capture, warn, breach", len(h))
	}
	eq(t, "second step", h[1].Timer, "warn:x")
	eq(t, "second at", h[1].At, ts(t, "2026-03-02T09:30:00Z"))
	eq(t, "third step", h[2].Timer, "breach:x")
	eq(t, "third at", h[2].At, ts(t, "2026-03-02T10:00:00Z"))
	eqs(t, "notifications", w.notified("L"), []string{"notify:ops:responsible", "escalate:ops:ops"})

	// Fired late together (a runtime that was down), the warning still
	// comes first; a breach fired first would cancel the warning.
	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	l := w.capture("L", map[string]any{"email": "a@x.example"}).Lead
	late := ts(t, "2026-03-02T12:00:00Z")
	r1, _ := Step(m, l, Input{Kind: Timer, Timer: "warn:x", Due: l.Timers["warn:x"]}, late, w.rot)
	r2, _ := Step(m, r1.Lead, Input{Kind: Timer, Timer: "breach:x", Due: l.Timers["breach:x"]}, late, w.rot)
	eq(t, "late by", r1.Entry.Late, 2*time.Hour+30*time.Minute)
	eq(t, "warned", r1.Lead.SLAs[0].State, SLAWarned)
	eq(t, "breached", r2.Lead.SLAs[0].State, SLABreached)
	r3, _ := Step(m, l, Input{Kind: Timer, Timer: "breach:x", Due: l.Timers["breach:x"]}, late, w.rot)
	if _, ok := r3.Lead.Timers["warn:x"]; ok {
		t.Error("a breach cancels the pending warning")
	}
}

// TestTimersAtTheSameInstant: SLA deadlines are exclusive. A timeout due
// at the very deadline fires after the breach, so the SLA is breached, not
// met by leaving.
func TestTimersAtTheSameInstant(t *testing.T) {
	m := compile(t, `
workflow same
start s
lead { email string }
role ops
owner { accountable ops }
stage s {
  owner { responsible role ops }
  after 1h -> next
  sla x within 1h { breach { escalate ops } }
}
stage next terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.wait(time.Hour)
	h := w.hist["L"]
	eq(t, "steps", len(h), 3)
	eq(t, "first timer", h[1].Timer, "breach:x")
	eq(t, "second timer", h[2].Timer, "after:0")
	eqs(t, "escalated", w.escalated("L"), []string{"ops"})
	eq(t, "stage", w.lead("L").Stage, "next")
	eq(t, "no outcome on leaving a breached SLA", len(h[2].SLAs), 0)
	for _, pair := range [][2]string{{"warn:a", "breach:a"}, {"breach:a", "after:0"}, {"after:0", "nurture"}, {"nurture", "decay:x"}} {
		if !(TimerOrder(pair[0]) < TimerOrder(pair[1])) {
			t.Errorf("%s should fire before %s", pair[0], pair[1])
		}
	}
}

// TestSLAOutcomes: met by an until event, met by leaving, cancelled when
// leaving without the until event, and a breached SLA stays breached.
func TestSLAOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		sla    string
		inputs []string // events, or "wait"
		states []string // SLA outcomes recorded, in order
		final  string   // the SLA's state in the lead, "" if it has left
	}{
		{"met by leaving", "within 1h { breach { escalate ops } }", []string{"done"}, []string{"started", "met"}, ""},
		{"met by an until event", "within 1h until call { breach { escalate ops } }", []string{"call"}, []string{"started", "met"}, SLAMet},
		{"met, then leaving adds nothing", "within 1h until call { breach { escalate ops } }", []string{"call", "done"}, []string{"started", "met"}, ""},
		{"cancelled by leaving before the until event", "within 1h until call { breach { escalate ops } }", []string{"done"}, []string{"started", "cancelled"}, ""},
		{"breached, a late until event does not meet it", "within 1h until call { breach { escalate ops } }", []string{"wait", "call"}, []string{"started", "breached"}, SLABreached},
		{"breached, then leaving adds nothing", "within 1h { breach { escalate ops } }", []string{"wait", "done"}, []string{"started", "breached"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, slaWorkflow(tc.sla))
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			w.capture("L", map[string]any{"email": "a@x.example"})
			for _, in := range tc.inputs {
				if in == "wait" {
					w.wait(2 * time.Hour)
				} else {
					w.send("L", in, nil)
				}
			}
			var states []string
			for _, e := range w.hist["L"] {
				for _, o := range e.SLAs {
					states = append(states, o.State)
				}
			}
			eqs(t, "outcomes", states, tc.states)
			final := ""
			if l := w.lead("L"); len(l.SLAs) > 0 {
				final = l.SLAs[0].State
				if l.SLAs[0].State == SLAMet {
					if _, ok := l.Timers["breach:x"]; ok {
						t.Error("a met SLA's breach timer is cancelled")
					}
				}
			}
			eq(t, "final state", final, tc.final)
		})
	}
}

// TestEscalationLadder: several SLAs in one stage escalate in turn; the
// last reassigns, which restarts every SLA that is not met for the new
// owner.
func TestEscalationLadder(t *testing.T) {
	m := compile(t, `
workflow ladder
start s
lead { email string }
event call
role ops
role team_lead
role manager
role director
owner { accountable ops }
team sales {
  strategy round_robin
  member "ana@acme.example"
  member "ben@acme.example"
}
stage s {
  owner { responsible team sales }
  sla touch within 30m until call { breach { escalate ops } }
  sla t1 within 1h { breach { escalate team_lead } }
  sla t2 within 2h { breach { escalate manager } }
  sla t3 within 4h { breach { escalate director; reassign } }
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	eq(t, "owner", w.lead("L").Owner, "ana@acme.example")
	w.send("L", "call", nil) // meets touch
	w.wait(5 * time.Hour)
	eqs(t, "escalated", w.escalated("L"), []string{"team_lead", "manager", "director", "team_lead"})
	l := w.lead("L")
	eq(t, "reassigned", l.Owner, "ben@acme.example")
	want := map[string]string{
		"touch": SLAMet + " 2026-03-02T09:30:00Z", // met: not restarted
		"t1":    SLABreached + " 2026-03-02T14:00:00Z",
		"t2":    SLARunning + " 2026-03-02T15:00:00Z",
		"t3":    SLARunning + " 2026-03-02T17:00:00Z",
	}
	for _, st := range l.SLAs {
		eq(t, st.Name, st.State+" "+st.Deadline.UTC().Format(time.RFC3339), want[st.Name])
	}
	var restarted []string
	for _, e := range w.hist["L"] {
		for _, o := range e.SLAs {
			if o.State == "restarted" {
				restarted = append(restarted, o.Name)
			}
		}
	}
	eqs(t, "restarted", restarted, []string{"t1", "t2", "t3"})
	eq(t, "open leads", fmt.Sprint(w.rot.Open), "map[ben@acme.example:1]")
}

// TestBreachWithoutBlock: an SLA without `breach` raises sla_breach.
func TestBreachWithoutBlock(t *testing.T) {
	m := compile(t, `
workflow nb
start s
lead { email string }
role ops
owner { accountable ops }
stage s {
  owner { responsible role ops }
  sla quick within 1h
  sla slow within 2h
  on exception sla_breach { escalate ops }
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.wait(3 * time.Hour)
	eqs(t, "exceptions", w.exceptions("L"), []string{"sla_breach/stage", "sla_breach/stage"})
	eqs(t, "escalated", w.escalated("L"), []string{"ops", "ops"})
	if w.lead("L").Stuck != nil {
		t.Error("a handled breach does not make the lead stuck")
	}
}

// TestStaleTimers: a timer that is no longer the lead's (it left the stage,
// or the timer was set again for another time) changes nothing.
func TestStaleTimers(t *testing.T) {
	m := compile(t, slaWorkflow("within 1h { breach { escalate ops } }"))
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	l := w.capture("L", map[string]any{"email": "a@x.example"}).Lead
	due := l.Timers["breach:x"]
	for _, in := range []Input{
		{Kind: Timer, Timer: "breach:x", Due: due.Add(time.Minute)},
		{Kind: Timer, Timer: "nope", Due: due},
	} {
		r, err := Step(m, l, in, due, w.rot)
		if err != nil || !r.Stale || r.Lead != l {
			t.Errorf("%s: want stale, got %v %+v", in.Timer, err, r)
		}
	}
	w.send("L", "done", nil)
	r, err := Step(m, w.lead("L"), Input{Kind: Timer, Timer: "breach:x", Due: due}, due, w.rot)
	if err != nil || !r.Stale {
		t.Errorf("a timer of a stage the lead left is stale: %v %+v", err, r)
	}
	eq(t, "seq unchanged", r.Lead.Seq, w.lead("L").Seq)
}

// TestAfterOnCalendar: a timeout in business time.
func TestAfterOnCalendar(t *testing.T) {
	m := compile(t, `
workflow aft
start s
lead { email string }
role ops
owner { accountable ops }
`+calendars+`
stage s {
  owner { responsible role ops }
  after 16h on us_business -> t
  after 2d on us_business -> done
}
stage t {
  owner { responsible role ops }
  after 1d -> done
}
stage done terminal
`)
	// Friday 12:00 EST + 16 business hours: Friday 12-17 (5h), Monday
	// 9-17 EDT (8h), Tuesday 9-12 (3h).
	w := newWorld(t, m, "2026-03-06T12:00:00-05:00")
	l := w.capture("L", map[string]any{"email": "a@x.example"}).Lead
	eq(t, "due", l.Timers["after:0"].Equal(ts(t, "2026-03-10T12:00:00-04:00")), true)
	// A day is 24h, of working time on a calendar: 2d is 48 working hours,
	// six business days here.
	eq(t, "2d due", l.Timers["after:1"].Equal(ts(t, "2026-03-16T12:00:00-04:00")), true)
	w.until(ts(t, "2026-03-10T12:00:00-04:00"))
	eq(t, "stage", w.lead("L").Stage, "t")
	eq(t, "edge", w.last("L").Moves[0].Edge, "s#after0")
	eq(t, "entered at", w.lead("L").EnteredAt.Equal(ts(t, "2026-03-10T12:00:00-04:00")), true)
}

// TestSLAExempt: an SLA still running when the lead leaves through an
// exception handler's move, an override, or while stuck is exempt, with
// or without `until`; leaving by an ordinary move meets it; an SLA already
// met or breached keeps its outcome.
func TestSLAExempt(t *testing.T) {
	m := compile(t, `
workflow exempt
start s
lead { email string, owner_email string = "", zero int = 0, n int = 0 }
event done
event call
event hand_over
event boom
role ops
owner { accountable ops }
stage s {
  owner { responsible role ops }
  on done -> finished
  on hand_over { assign user lead.owner_email }
  on boom { set lead.n = 1 / lead.zero }
  on exception no_owner -> parked
  sla plain within 1h
  sla touch within 1h until call
  sla early within 10m { breach { notify responsible } }
}
stage parked {
  owner { responsible role ops }
  after 1d -> finished
}
stage finished terminal
`)
	outcomes := func(w *world) string {
		var out []string
		for _, o := range w.last("L").SLAs {
			if o.Stage == "s" {
				out = append(out, o.Name+" "+o.State)
			}
		}
		return strings.Join(out, ", ")
	}
	capture := func() *world {
		w := newWorld(t, m, "2026-03-02T09:00:00Z")
		w.capture("L", map[string]any{"email": "a@x.example"})
		w.wait(15 * time.Minute) // early breaches
		return w
	}

	w := capture()
	w.send("L", "done", nil)
	eq(t, "an ordinary move", outcomes(w), "plain met, touch cancelled")

	w = capture()
	w.must("L", Input{Kind: Override, Stage: "finished", Reason: "closed by hand"})
	eq(t, "an override", outcomes(w), "plain exempt, touch exempt")

	w = capture()
	w.send("L", "call", nil)
	w.must("L", Input{Kind: Override, Stage: "finished", Reason: "closed by hand"})
	eq(t, "an override after until was met", outcomes(w), "plain exempt")

	w = capture()
	w.send("L", "hand_over", nil) // no_owner, handled: -> parked
	eq(t, "stage", w.lead("L").Stage, "parked")
	eq(t, "an exception handler's move", outcomes(w), "plain exempt, touch exempt")

	w = capture()
	w.send("L", "boom", nil) // eval_error, unhandled: stuck in s
	if w.lead("L").Stuck == nil {
		t.Fatal("the lead is not stuck")
	}
	eq(t, "being stuck closes nothing", outcomes(w), "")
	w.send("L", "done", nil)
	eq(t, "leaving while stuck", outcomes(w), "plain exempt, touch exempt")
	if w.lead("L").Stuck != nil {
		t.Error("moving on resolves being stuck")
	}
}

// TestSLAClocks: `from entry` keeps counting across reassignments, so a
// ladder of reassignments reaches its last rung; `from assignment` starts
// again for every new owner, even after its `until` event met it, and on
// `assign` too; an SLA without a clock restarts on `reassign` unless met.
func TestSLAClocks(t *testing.T) {
	m := compile(t, `
workflow clocks
start s
lead { email string }
event call
event transfer
event give
role ops
role vp
owner { accountable ops }
team sdr {
  strategy round_robin
  member "ana"
  member "ben"
  member "cy"
}
stage s {
  owner { responsible team sdr }
  on transfer { reassign }
  on give { assign role ops }
  sla touch within 5m from assignment until call { breach { reassign } }
  sla vp within 30m from entry until call { breach { escalate vp } }
  sla plain within 1h until call
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.wait(31 * time.Minute)
	eqs(t, "escalated", w.escalated("L"), []string{"vp"})
	deadlines := func() string {
		var out []string
		for _, st := range w.lead("L").SLAs {
			out = append(out, st.Name+" "+st.State+" "+st.Deadline.UTC().Format("15:04"))
		}
		return strings.Join(out, ", ")
	}
	// touch breached at 09:05, 09:10, ... 09:30, each time reassigned and
	// restarted; plain restarted with it (not met); vp kept its clock.
	eq(t, "owner", w.lead("L").Owner, "ana")
	eq(t, "slas", deadlines(), "touch running 09:35, vp breached 09:30, plain running 10:30")

	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	w.wait(time.Minute)
	w.send("L", "call", nil)
	eq(t, "met", deadlines(), "touch met 09:05, vp met 09:30, plain met 10:00")
	w.wait(time.Minute)
	w.send("L", "transfer", nil)
	eq(t, "owner", w.lead("L").Owner, "ben")
	eq(t, "after reassign", deadlines(), "touch running 09:07, vp met 09:30, plain met 10:00")
	w.wait(time.Minute)
	w.send("L", "give", nil)
	eq(t, "after assign", deadlines(), "touch running 09:08, vp met 09:30, plain met 10:00")
}

// TestLengthChoice: an SLA's and a timeout's length and calendar chosen by
// the lead, when the stage is entered and again when the SLA restarts for
// a new owner; a condition that fails counts as false (the else rule
// applies) and raises eval_error once the timers are set.
func TestLengthChoice(t *testing.T) {
	m := compile(t, `
workflow choice
start s
lead { email string, tier string = "warm", region string = "na", n int = 0, zero int = 0 }
event call
event bump
event hot
role ops
owner { accountable ops }
`+calendars+`
calendar london {
  timezone "Europe/London"
  hours mon-fri 09:00-17:00
}
stage s {
  owner { responsible role ops }
  on call -> done
  on hot { set lead.tier = "hot" }
  on bump { reassign }
  on exception eval_error { notify responsible "a length failed" }
  sla touch within (when lead.tier == "hot" -> 15m, when lead.n / lead.zero > 0 -> 1m, else -> 4h) on us_business from assignment until call {
    warn at 50% { notify responsible }
  }
  sla region within (when lead.region == "emea" -> 1bd on london, else -> 1bd on us_business) until call
  after (when lead.tier == "hot" -> 1d, else -> 5d) -> done
}
stage done terminal
`)
	deadlines := func(w *world) string {
		var out []string
		for _, st := range w.lead("L").SLAs {
			out = append(out, st.Name+" "+st.Deadline.UTC().Format("Mon 15:04"))
		}
		for name, at := range w.lead("L").Timers {
			if strings.HasPrefix(name, "after:") || strings.HasPrefix(name, "warn:") {
				out = append(out, name+" "+at.UTC().Format("Mon 15:04"))
			}
		}
		slices.Sort(out)
		return strings.Join(out, ", ")
	}
	// Monday 2 March 2026, 10:00 in New York (15:00Z), 15:00 in London.
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example", "tier": "hot", "region": "emea"})
	eq(t, "hot in EMEA", deadlines(w),
		"after:0 Tue 15:00, region Tue 15:00, touch Mon 15:15, warn:touch Mon 15:07")
	eqs(t, "no exception", w.exceptions("L"), nil)

	w = newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L", map[string]any{"email": "a@x.example"})
	eq(t, "warm in NA", deadlines(w),
		"after:0 Sat 15:00, region Tue 15:00, touch Mon 19:00, warn:touch Mon 17:00")
	eqs(t, "the failing condition raised eval_error", w.exceptions("L"), []string{"eval_error/stage"})

	w.send("L", "hot", nil)
	w.send("L", "bump", nil) // a new owner: touch is chosen again
	eq(t, "hot after reassign", deadlines(w),
		"after:0 Sat 15:00, region Tue 15:00, touch Mon 15:15, warn:touch Mon 15:07")
}
