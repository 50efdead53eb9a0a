package report

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// Schema is the version of what the counters count. A store whose
// counters were kept under another schema (or by a runtime that kept
// none, or whose rebuild did not finish) has them rebuilt from history
// before it serves: bump it whenever Counts changes what it counts.
const Schema = "3"

// SchemaKey is the store's meta key holding the Schema its counters follow.
const SchemaKey = "report_schema"

// Rebuild recomputes every counter from the leads' histories, as Counts
// would have kept them step by step: each lead's steps are replayed into
// the lead's state before and after each step (stage, owner, fields,
// lifecycle labels reached) on the machine of the version each step ran
// on. machine returns a stored version's machine (nil if unknown: an
// error). progress, if not nil, is told how many leads are done.
//
// A string field's values count as dimensions in the order they first
// appeared (by time), as they were admitted while the steps committed:
// a first pass over the histories finds them.
func Rebuild(ctx context.Context, st store.Store, machine func(version string) *engine.Machine, progress func(leads int)) (map[string]int64, error) {
	// Pass 1: the string values admitted as dimensions.
	first := map[[2]string]*earliest{}
	err := replay(ctx, st, machine, nil, func(m *engine.Machine, l *engine.Lead, e *engine.Entry, _ *engine.Machine, _ *engine.Lead) {
		for _, f := range m.W.Lead {
			if f.Type.Kind != ir.String {
				continue
			}
			v, ok := m.FieldValue(l, f.Name)
			if s, isString := v.(string); ok && isString && len(s) <= MaxValueBytes {
				key := [2]string{l.Workflow, f.Name}
				if first[key] == nil {
					first[key] = &earliest{at: map[string]time.Time{}}
				}
				first[key].see(s, e.At)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for key, ea := range first {
		for v := range ea.at {
			counts[name("d", key[0], key[1], v)] = 1
		}
	}
	d := NewDims(counts)

	// Pass 2: every step's counts.
	err = replay(ctx, st, machine, progress, func(m *engine.Machine, l *engine.Lead, e *engine.Entry, pm *engine.Machine, prev *engine.Lead) {
		for k, v := range d.Counts(m, &engine.Result{Lead: l, Entry: *e}, pm, prev) {
			counts[k] += v
		}
	})
	if err != nil {
		return nil, err
	}
	maps.DeleteFunc(counts, func(_ string, v int64) bool { return v == 0 })
	return counts, nil
}

// earliest keeps the MaxValues values first seen, each with the earliest
// time it was seen: a value pushed out can only come back with an earlier
// time than every value kept, which is then its earliest.
type earliest struct {
	at map[string]time.Time
}

func (ea *earliest) see(v string, t time.Time) {
	if old, ok := ea.at[v]; ok {
		if t.Before(old) {
			ea.at[v] = t
		}
		return
	}
	if len(ea.at) < MaxValues {
		ea.at[v] = t
		return
	}
	var latest string
	for k, kt := range ea.at {
		if latest == "" || kt.After(ea.at[latest]) || (kt.Equal(ea.at[latest]) && k > latest) {
			latest = k
		}
	}
	if t.Before(ea.at[latest]) {
		delete(ea.at, latest)
		ea.at[v] = t
	}
}

// replay calls step for every step of every lead, in lead-id order and
// each lead's steps in order, with the lead after the step on m and the
// lead before it on pm (nil for a capture).
func replay(ctx context.Context, st store.Store, machine func(string) *engine.Machine, progress func(int), step func(m *engine.Machine, l *engine.Lead, e *engine.Entry, pm *engine.Machine, prev *engine.Lead)) error {
	q := store.Query{Limit: 1000}
	done := 0
	for {
		page, next, err := st.Leads(ctx, q)
		if err != nil {
			return err
		}
		for _, sl := range page {
			raw, err := st.History(ctx, sl.ID, 0, 0)
			if err != nil {
				return err
			}
			if err := replayLead(sl.ID, raw, machine, step); err != nil {
				return err
			}
			done++
		}
		if progress != nil {
			progress(done)
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// replayLead rebuilds one lead's states from its history.
func replayLead(id string, raw [][]byte, machine func(string) *engine.Machine, step func(*engine.Machine, *engine.Lead, *engine.Entry, *engine.Machine, *engine.Lead)) error {
	var (
		prev   *engine.Lead
		pm     *engine.Machine
		fields = map[string]any{} // the lead's fields in their JSON form
	)
	for _, b := range raw {
		var e engine.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("lead %s: history entry: %w", id, err)
		}
		m := machine(e.Version)
		if m == nil {
			return fmt.Errorf("lead %s: step %d ran on version %s, which the store does not hold", id, e.Seq, e.Version)
		}
		l := &engine.Lead{ID: id, Workflow: m.W.Name, Version: e.Version, Stage: e.To, Owner: e.Owner, Seq: e.Seq}
		if prev == nil {
			if e.Cause != "capture" {
				return fmt.Errorf("lead %s: its history starts with a %s step, not a capture", id, e.Cause)
			}
			l.CreatedAt, l.EnteredAt = e.At, e.At
			for _, f := range m.W.Lead {
				if f.Default != nil {
					fields[f.Name] = f.Default
				}
			}
		} else {
			l.CreatedAt, l.EnteredAt = prev.CreatedAt, prev.EnteredAt
			l.Reached = maps.Clone(prev.Reached)
		}
		for k, v := range e.Fields {
			if v == nil {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
		if len(e.Moves) > 0 {
			l.EnteredAt = e.At
		}
		for _, mv := range e.Moves {
			if s := m.Stage(mv.To); s != nil && s.Lifecycle != "" {
				if _, ok := l.Reached[s.Lifecycle]; !ok {
					if l.Reached == nil {
						l.Reached = map[string]time.Time{}
					}
					l.Reached[s.Lifecycle] = e.At
				}
			}
		}
		l.Fields = make([]any, len(m.W.Lead))
		for i, f := range m.W.Lead {
			if v, ok := fields[f.Name]; ok {
				if c, err := ir.Coerce(f.Type, v); err == nil {
					l.Fields[i] = c
				}
			}
		}
		// A migration drops the fields the new version lacks.
		for k := range fields {
			if !slices.ContainsFunc(m.W.Lead, func(f ir.Field) bool { return f.Name == k }) {
				delete(fields, k)
			}
		}
		step(m, l, &e, pm, prev)
		prev, pm = l, m
	}
	return nil
}
