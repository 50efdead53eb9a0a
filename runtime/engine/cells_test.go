package engine

import (
	"strings"
	"testing"
	"time"
)

const cellsSrc = `
workflow cells
start m
lead {
  email  string
  fit    int = 0
  budget bool = false
}
event form
event call
event accepted
event rejected
role ops
owner { accountable ops }
team sales {
  strategy round_robin
  member "ana"
  member "ben"
}
routing r {
  else -> team sales
}
cell m {
  owner { responsible role ops }
  assess {
    disqualify when domain(lead.email) == "competitor.example" -> disqualified
    qualify when lead.fit >= 50
  }
  advance -> tp
  develop {
    nurture every 14d
    reassess on form
    recycle after 60d -> dormant
  }
}
cell tp {
  owner { responsible role ops }
  assess {
    qualify when lead.budget
    undecided after 2d
  }
  advance -> won {
    route r
    accept on accepted
    reject on rejected -> develop
  }
  develop {
    reassess on call
    recycle after 30d -> m
  }
}
stage dormant {
  owner { responsible role ops }
  after 1d -> disqualified
}
stage won terminal
stage disqualified terminal
`

// TestCells walks the cell rules of the language reference §12: assess decides on
// entry and after every event; advance hands on at once or waits for
// accept/reject; develop nurtures, reassesses and recycles.
func TestCells(t *testing.T) {
	m := compile(t, cellsSrc)
	type in struct {
		event string         // an event, "update" or "wait"
		data  map[string]any // event data or update fields
		wait  time.Duration
	}
	cases := []struct {
		name    string
		capture map[string]any
		inputs  []in
		path    string
		owner   string
	}{
		{"disqualified at once", map[string]any{"email": "spy@competitor.example", "fit": 90}, nil,
			"m.assess disqualified", "ops"},
		{"qualified, handed on, waits for a human in assess", map[string]any{"email": "a@x", "fit": 60}, nil,
			"m.assess m.advance tp.assess", "ops"},
		{"qualified later, routed, accepted", map[string]any{"email": "a@x", "fit": 60}, []in{
			{event: "update", data: map[string]any{"budget": true}},
			{event: "accepted"},
		}, "m.assess m.advance tp.assess tp.advance won", "ana"},
		{"undecided: develop at once without `undecided after`", map[string]any{"email": "a@x"}, []in{
			{event: "form"}, // reassess, still not qualified
		}, "m.assess m.develop m.assess m.develop", "ops"},
		{"undecided after 2d", map[string]any{"email": "a@x", "fit": 60}, []in{
			{event: "wait", wait: 48 * time.Hour},
			{event: "call"}, // reassess
		}, "m.assess m.advance tp.assess tp.develop tp.assess", "ops"},
		{"rejected to develop, recycled to the first cell", map[string]any{"email": "a@x", "fit": 60, "budget": true}, []in{
			{event: "rejected"},
			{event: "wait", wait: 30 * 24 * time.Hour},
		}, "m.assess m.advance tp.assess tp.advance tp.develop m.assess m.advance tp.assess tp.advance", "ben"}, // the rotation moved on
		{"recycle to dormant", map[string]any{"email": "a@x"}, []in{
			{event: "wait", wait: 61 * 24 * time.Hour},
		}, "m.assess m.develop dormant disqualified", "ops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, m, "2026-03-02T09:00:00Z")
			w.capture("L", tc.capture)
			for _, x := range tc.inputs {
				switch x.event {
				case "wait":
					w.wait(x.wait)
				case "update":
					w.must("L", Input{Kind: Update, Data: x.data})
				default:
					w.send("L", x.event, x.data)
				}
			}
			eq(t, "path", strings.Join(w.path("L"), " "), tc.path)
			eq(t, "owner", w.lead("L").Owner, tc.owner)
		})
	}
}
