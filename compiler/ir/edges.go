package ir

// Edge kinds.
const (
	EdgeEvent     = "event"     // on EVENT -> T
	EdgeAuto      = "auto"      // when EXPR -> T
	EdgeTimer     = "timer"     // after D -> T
	EdgeSLA       = "sla"       // -> T inside a warn or breach block
	EdgeException = "exception" // -> T inside an exception handler
	EdgeAction    = "action"    // -> T inside enter or a transition's actions
)

// Edge is one possible move of a lead: the unit of transition coverage.
// From is empty for a workflow-level exception handler (any stage).
type Edge struct {
	ID    string `json:"id"`
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Pos   Pos    `json:"pos"`
}

// Edges lists every edge of the graph in a stable order: stages in source
// order, and within a stage event, automatic, timer, SLA, enter and
// exception edges.
func (w *Workflow) Edges() []Edge {
	var out []Edge
	moveIn := func(from, id, kind, label string, acts []Action) {
		for _, a := range acts {
			if a.Kind == ActMove {
				out = append(out, Edge{ID: id, From: from, To: a.Target, Kind: kind, Label: label, Pos: a.Pos})
			}
		}
	}
	for i := range w.Stages {
		s := &w.Stages[i]
		for _, t := range s.On {
			out = append(out, Edge{ID: t.ID, From: s.Name, To: t.Target, Kind: EdgeEvent, Label: transitionLabel(t), Pos: t.Pos})
		}
		for i, t := range s.When {
			label := transitionLabel(t)
			if t.Guard == nil && i > 0 {
				// A fallback after conditions (a cell's assess when no rule
				// decides): it fires only when none of them holds.
				label = "otherwise"
			}
			out = append(out, Edge{ID: t.ID, From: s.Name, To: t.Target, Kind: EdgeAuto, Label: label, Pos: t.Pos})
		}
		for _, t := range s.After {
			label := "after " + DescribeLength(t.After, t.Written, t.Calendar, t.Choices)
			out = append(out, Edge{ID: t.ID, From: s.Name, To: t.Target, Kind: EdgeTimer, Label: label, Pos: t.Pos})
		}
		for _, sla := range s.SLAs {
			if sla.Warn != nil {
				moveIn(s.Name, sla.ID+".warn", EdgeSLA, "sla "+sla.Name+" warn", sla.Warn.Actions)
			}
			moveIn(s.Name, sla.ID+".breach", EdgeSLA, "sla "+sla.Name+" breach", sla.Breach)
		}
		moveIn(s.Name, s.Name+"#enter", EdgeAction, "enter", s.Enter)
		for _, e := range s.Exceptions {
			moveIn(s.Name, e.ID, EdgeException, "exception "+e.Kind, e.Actions)
		}
	}
	for _, e := range w.Exceptions {
		moveIn("", e.ID, EdgeException, "exception "+e.Kind, e.Actions)
	}
	return out
}

func transitionLabel(t Transition) string {
	label := ""
	for i, e := range t.Events {
		if i > 0 {
			label += ", "
		}
		label += e
	}
	if t.Guard != nil {
		if label != "" {
			label += " "
		}
		label += "when " + t.Guard.Src
	}
	if label == "" {
		label = "always"
	}
	return label
}
