package engine

import (
	"errors"
	"testing"
	"time"
)

// TestOperatorAssign: an operator's assignment sets the owner, is recorded with
// the previous owner, restarts the stage's SLAs that are not met (a met
// one stays met), moves open-lead counts, and is followed by the stage's
// automatic transitions like any step. A refused one changes nothing.
func TestOperatorAssign(t *testing.T) {
	m := compile(t, `workflow w
start inbox
lead {
  email string
}
event touched
role ops
team t {
  strategy round_robin
  capacity 1
  member "ana"
  member "ben"
}
stage inbox {
  owner { accountable ops  responsible team t }
  when lead.owner == "vip_desk" -> vip
  sla touch within 4h until touched
  sla answer within 1d
}
stage vip {
  owner { accountable ops }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@b.example"})
	eq(t, "owner", w.leads["L"].Owner, "ana")
	w.send("L", "touched", nil)
	w.wait(2 * time.Hour)
	r := w.must("L", Input{Kind: Assign, Owner: "ben", Reason: "ana is away", Actor: "ops"})
	eq(t, "cause", r.Entry.Cause, "assign")
	eq(t, "record", *r.Entry.Assign, AssignRecord{Owner: "ben", Previous: "ana", Reason: "ana is away", Actor: "ops"})
	eq(t, "owner", r.Lead.Owner, "ben")
	eq(t, "restarted", len(r.Entry.SLAs), 1) // answer; touch was met
	eq(t, "sla", r.Entry.SLAs[0].Name, "answer")
	eq(t, "deadline", r.Entry.SLAs[0].Deadline, w.now.Add(24*time.Hour))
	eq(t, "open", w.rot.Open["ben"], 1)
	eq(t, "ana's open", w.rot.Open["ana"], 0)

	// Refused: the owner it has, no reason, no owner. Nothing changes.
	for _, in := range []Input{
		{Kind: Assign, Owner: "ben", Reason: "again"},
		{Kind: Assign, Owner: "ana"},
		{Kind: Assign, Owner: " ", Reason: "x"},
		{Kind: Assign, Owner: "a\nb", Reason: "x"},
	} {
		var ie *InputError
		if _, err := w.step("L", in); !errors.As(err, &ie) {
			t.Errorf("%+v: %v, want an InputError", in, err)
		}
	}
	eq(t, "steps", len(w.hist["L"]), 3)

	// An owner that an automatic transition reads: it fires in the same step.
	r = w.must("L", Input{Kind: Assign, Owner: "vip_desk", Reason: "VIP"})
	eq(t, "stage", r.Lead.Stage, "vip")
	eq(t, "owner kept (vip has no responsible)", r.Lead.Owner, "vip_desk")
}
