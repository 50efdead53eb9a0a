package engine

import (
	"maps"
	"time"

	"github.com/leadlang/lead/compiler/ir"
)

// CanMigrate reports whether a lead on another version may move to machine
// to: its current stage exists there by name (the language reference is silent; see
// docs/runtime.md: "versions").
func CanMigrate(to *Machine, l *Lead) bool {
	return l.Version != to.W.Version && to.stages[l.Stage] != nil
}

// Migrate moves a lead from machine from to machine to, keeping its stage,
// owner, SLAs and timers. Fields are carried over by name: a field whose
// type changed keeps its value if it converts, and otherwise takes the new
// default (or becomes absent); new fields take their defaults. The step is
// recorded in the lead's history.
func Migrate(from, to *Machine, l *Lead, now time.Time) *Result {
	n := *l
	n.Version = to.W.Version
	n.Fields = make([]any, len(to.W.Lead))
	changed := map[string]any{}
	for i, f := range to.W.Lead {
		var v any
		if j, ok := from.fieldIndex[f.Name]; ok && l.Fields[j] != nil {
			if c, err := ir.Coerce(f.Type, ir.Export(l.Fields[j])); err == nil {
				v = c
			}
		}
		if v == nil && f.Default != nil {
			v, _ = ir.Coerce(f.Type, f.Default)
			changed[f.Name] = ir.Export(v)
		}
		n.Fields[i] = v
	}
	n.SLAs = append([]SLAState(nil), l.SLAs...)
	n.Timers = maps.Clone(l.Timers)
	n.ScoreChanged = maps.Clone(l.ScoreChanged)
	n.Seq++
	e := Entry{
		Seq: n.Seq, At: now, Cause: "migrate", From: l.Stage, To: l.Stage, Owner: l.Owner, Version: n.Version,
		Extra: map[string]string{"from_version": l.Version, "to_version": n.Version},
	}
	if len(changed) > 0 {
		e.Fields = changed
	}
	return &Result{Lead: &n, Entry: e}
}
