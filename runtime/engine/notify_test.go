package engine

import (
	"strings"
	"testing"
	"time"
)

// TestNotify: notify reaches the stage's RACI owners or a role; escalate
// is recorded in history and notified; messages default to a short text.
func TestNotify(t *testing.T) {
	m := compile(t, `
workflow notes
start a
lead {
  email   string
  company string = "Big Co"
}
event poke
event nobody
role ops
role mgr
role legal
role finance
role cmo
owner { accountable ops }
team t {
  strategy round_robin
  member "ana"
}
stage a {
  owner {
    responsible team t
    accountable mgr
    consulted   legal
    consulted   finance
    informed    cmo
  }
  enter {
    notify responsible "New lead: " + lead.company
    notify accountable
    notify consulted "c"
    notify informed "i"
    notify ops "o"
    escalate mgr "look"
    escalate cmo
  }
  on nobody -> b
  after 1d -> done
}
stage b {
  owner { accountable ops }
  enter { notify responsible "kept" }
  after 1d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	r := w.capture("L", map[string]any{"email": "a@x"})
	var got []string
	for _, n := range r.Notifications {
		got = append(got, n.Kind+" "+n.To+" ("+n.Role+"): "+n.Message)
		eq(t, "lead", n.Lead, "L")
		eq(t, "stage", n.Stage, "a")
		eq(t, "at", n.At, w.now)
	}
	eqs(t, "notifications", got, []string{
		"notify ana (responsible): New lead: Big Co",
		"notify mgr (accountable): Lead L needs attention (a)",
		"notify legal (consulted): c",
		"notify finance (consulted): c",
		"notify cmo (informed): i",
		"notify ops (ops): o",
		"escalate mgr (mgr): look",
		"escalate cmo (cmo): Lead L is escalated (a)",
	})
	eqs(t, "escalations", r.Entry.Escalations, []string{"mgr", "cmo"})
	eq(t, "count", r.Entry.Notifications, 8)
	// A stage without a responsible keeps the owner.
	r = w.send("L", "nobody", nil)
	eq(t, "owner kept", r.Lead.Owner, "ana")
	eq(t, "to the kept owner", r.Notifications[0].To, "ana")
}

// TestNurture: a develop stage's nurture notification, default and
// written, every period until the lead leaves.
func TestNurture(t *testing.T) {
	m := compile(t, `
workflow nurt
start c
lead {
  email string
  fit   int = 0
}
event form
event plain
role ops
owner { accountable ops }
cell c {
  owner { responsible role ops }
  assess {
    qualify when lead.fit > 10
  }
  advance -> done
  develop {
    nurture every 7d
    reassess on form
    recycle after 30d -> other
  }
}
stage other {
  owner { responsible role ops }
  on plain -> done
  after 1d -> done
}
cell d {
  owner { responsible role ops }
  assess {
    qualify when lead.fit > 10
  }
  advance -> done
  develop {
    nurture every 1d "Hello " + lead.email
    recycle after 30d -> done
  }
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	eq(t, "develop", w.lead("L").Stage, "c.develop")
	w.wait(15 * 24 * time.Hour)
	var got []string
	for _, n := range w.notes {
		if n.Kind == NotifyNurture {
			got = append(got, n.To+": "+n.Message+" @"+n.At.Format("01-02"))
		}
	}
	eqs(t, "nurtures", got, []string{
		"ops: Time to nurture lead L (c.develop) @03-09",
		"ops: Time to nurture lead L (c.develop) @03-16",
	})
	w.send("L", "form", nil) // reassess: back to assess, then develop again
	eq(t, "develop again", w.lead("L").Stage, "c.develop")
	eq(t, "nurture restarts on entry", w.lead("L").Timers["nurture"], w.now.Add(7*24*time.Hour))

	w = newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.must("L", Input{Kind: Override, Stage: "d.develop", Reason: "test"})
	w.wait(2 * 24 * time.Hour)
	var msgs []string
	for _, n := range w.notes {
		if n.Kind == NotifyNurture {
			msgs = append(msgs, n.Message)
		}
	}
	eq(t, "written message", strings.Join(msgs, "|"), "Hello a@x|Hello a@x")
}
