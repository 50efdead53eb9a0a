package ir

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Change kinds.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change is one difference between two versions of a workflow. Stage is
// the stage it concerns (leads there are the ones it affects), or "" for a
// workflow-wide change.
type Change struct {
	Kind   string `json:"kind"`
	What   string `json:"what"` // stage transition timer sla owner field event start
	Stage  string `json:"stage,omitempty"`
	Detail string `json:"detail"`
}

func (c Change) String() string {
	where := ""
	if c.Stage != "" {
		where = " in " + c.Stage
	}
	return fmt.Sprintf("%-7s %s%s: %s", c.Kind, c.What, where, c.Detail)
}

// Diff lists what changed from old to new: stages, transitions, timers,
// SLAs and owners per stage, and lead fields, events and the start stage.
// Positions and formatting never count.
func Diff(old, new *Workflow) []Change {
	var out []Change
	add := func(kind, what, stage, detail string) {
		out = append(out, Change{Kind: kind, What: what, Stage: stage, Detail: detail})
	}
	if old.Start != new.Start {
		add(Changed, "start", "", fmt.Sprintf("%s -> %s", old.Start, new.Start))
	}
	diffSet(old.Lead, new.Lead, func(f Field) string { return f.Name },
		func(f Field) string { return fieldText(f) },
		func(kind, key, detail string) { add(kind, "field", "", detail) })
	diffSet(old.Events, new.Events, func(e Event) string { return e.Name },
		func(e Event) string { return eventText(e) },
		func(kind, key, detail string) { add(kind, "event", "", detail) })
	oldStages := map[string]*Stage{}
	for i := range old.Stages {
		oldStages[old.Stages[i].Name] = &old.Stages[i]
	}
	newStages := map[string]*Stage{}
	for i := range new.Stages {
		newStages[new.Stages[i].Name] = &new.Stages[i]
	}
	for _, s := range old.Stages {
		if newStages[s.Name] == nil {
			add(Removed, "stage", s.Name, stageText(s))
		}
	}
	for _, s := range new.Stages {
		o := oldStages[s.Name]
		if o == nil {
			add(Added, "stage", s.Name, stageText(s))
			continue
		}
		if o.Terminal != s.Terminal || o.Lifecycle != s.Lifecycle {
			add(Changed, "stage", s.Name, fmt.Sprintf("%s -> %s", stageText(*o), stageText(s)))
		}
		if a, b := ownerText(o.Owner), ownerText(s.Owner); a != b {
			add(Changed, "owner", s.Name, fmt.Sprintf("%s -> %s", a, b))
		}
		stage := s.Name
		report := func(what string) func(kind, key, detail string) {
			return func(kind, key, detail string) { add(kind, what, stage, detail) }
		}
		diffSet(transitions(*o), transitions(s), func(t string) string { return t }, func(t string) string { return t }, report("transition"))
		diffSet(o.After, s.After, func(t Timeout) string { return t.Target + "|" + t.Origin },
			func(t Timeout) string { return timeoutText(t) }, report("timer"))
		diffSet(o.SLAs, s.SLAs, func(x SLA) string { return x.Name }, slaText, report("sla"))
	}
	return out
}

// diffSet compares two lists keyed by key: removed, added, and changed
// (same key, different text), in a stable order.
func diffSet[T any](old, new []T, key func(T) string, text func(T) string, report func(kind, key, detail string)) {
	om, nm := map[string]string{}, map[string]string{}
	var okeys, nkeys []string
	for _, x := range old {
		k := key(x)
		if _, dup := om[k]; !dup {
			okeys = append(okeys, k)
		}
		om[k] = text(x)
	}
	for _, x := range new {
		k := key(x)
		if _, dup := nm[k]; !dup {
			nkeys = append(nkeys, k)
		}
		nm[k] = text(x)
	}
	for _, k := range okeys {
		if _, ok := nm[k]; !ok {
			report(Removed, k, om[k])
		}
	}
	for _, k := range nkeys {
		o, ok := om[k]
		switch {
		case !ok:
			report(Added, k, nm[k])
		case o != nm[k]:
			report(Changed, k, o+" -> "+nm[k])
		}
	}
}

func fieldText(f Field) string {
	s := f.Name + " " + f.Type.String()
	if f.Optional {
		s += "?"
	}
	switch d := f.Default.(type) {
	case nil:
	case string:
		s += " = " + strconv.Quote(d)
	default:
		s += fmt.Sprintf(" = %v", d)
	}
	return s
}

func eventText(e Event) string {
	var fs []string
	for _, f := range e.Fields {
		fs = append(fs, fieldText(f))
	}
	if len(fs) == 0 {
		return e.Name
	}
	return e.Name + " { " + strings.Join(fs, ", ") + " }"
}

func stageText(s Stage) string {
	t := s.Name
	if s.Terminal {
		t += " terminal"
	}
	if s.Lifecycle != "" {
		t += " (lifecycle " + s.Lifecycle + ")"
	}
	return t
}

func ownerText(o Owner) string {
	var parts []string
	if o.Responsible != nil {
		parts = append(parts, "responsible "+o.Responsible.String())
	}
	if o.Accountable != "" {
		parts = append(parts, "accountable "+o.Accountable)
	}
	for _, c := range o.Consulted {
		parts = append(parts, "consulted "+c)
	}
	for _, i := range o.Informed {
		parts = append(parts, "informed "+i)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// transitions renders a stage's event and automatic transitions as text,
// which is also their identity: an edited guard is a removed and an added
// transition.
func transitions(s Stage) []string {
	var out []string
	for _, t := range s.On {
		out = append(out, "on "+strings.Join(t.Events, ", ")+guardText(t.Guard)+" -> "+t.Target)
	}
	for i, t := range s.When {
		g := "always"
		switch {
		case t.Guard != nil:
			g = "when " + t.Guard.Src
		case i > 0:
			g = "otherwise" // a fallback after conditions, as graphs label it
		}
		out = append(out, g+" -> "+t.Target)
	}
	sort.Strings(out)
	return out
}

func guardText(g *Expr) string {
	if g == nil {
		return ""
	}
	return " when " + g.Src
}

func timeoutText(t Timeout) string {
	return "after " + DescribeLength(t.After, t.Written, t.Calendar, t.Choices) + " -> " + t.Target
}

func slaText(x SLA) string {
	s := x.Name + " within " + DescribeLength(x.Within, x.Written, x.Calendar, x.Choices)
	if x.Clock != "" {
		s += " from " + x.Clock
	}
	if len(x.Until) > 0 {
		s += " until " + strings.Join(x.Until, ", ")
	}
	if x.Warn != nil {
		if x.Warn.Percent > 0 {
			s += fmt.Sprintf(", warn at %d%%", x.Warn.Percent)
		} else {
			s += ", warn at " + DurationOn(x.Warn.At, x.Calendar)
		}
	}
	return s
}
