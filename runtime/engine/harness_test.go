package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
)

// compile compiles a workflow written inline in a test and loads it.
func compile(t testing.TB, src string) *Machine {
	t.Helper()
	f, diags := lang.Parse("test.lead", src)
	r := compiler.Compile(f, diags, compiler.Options{
		SkipTests: true,
		ReadFile:  func(string) ([]byte, error) { return nil, fs.ErrNotExist },
	})
	if r.Diags.HasErrors() {
		var b strings.Builder
		for _, d := range r.Diags {
			fmt.Fprintf(&b, "%s\n", d)
		}
		t.Fatalf("compile:\n%s", b.String())
	}
	m, err := Load(r.Workflow)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// world is an in-memory store on a virtual clock, as `lead test` has, for
// stepping a machine with explicit inputs and times.
type world struct {
	t     testing.TB
	m     *Machine
	now   time.Time
	rot   *Rotation
	leads map[string]*Lead
	order []string
	hist  map[string][]Entry
	notes []Notification
	// inputs records every accepted input with its time, for replay.
	inputs []recorded
}

type recorded struct {
	lead string
	in   Input
	at   time.Time
}

func newWorld(t testing.TB, m *Machine, now string) *world {
	return &world{t: t, m: m, now: ts(t, now), rot: NewRotation(), leads: map[string]*Lead{}, hist: map[string][]Entry{}}
}

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// step applies one input now and commits it.
func (w *world) step(id string, in Input) (*Result, error) {
	var l *Lead
	if in.Kind != Capture {
		l = w.leads[id]
	} else {
		in.LeadID = id
	}
	r, err := Step(w.m, l, in, w.now, w.rot)
	if err != nil {
		return nil, err
	}
	w.apply(r)
	if !r.Stale {
		w.inputs = append(w.inputs, recorded{id, in, w.now})
	}
	return r, nil
}

func (w *world) apply(r *Result) {
	if r.Stale {
		return
	}
	id := r.Lead.ID
	if _, ok := w.leads[id]; !ok {
		w.order = append(w.order, id)
	}
	w.leads[id] = r.Lead
	w.hist[id] = append(w.hist[id], r.Entry)
	w.notes = append(w.notes, r.Notifications...)
	w.rot.Apply(r.Routing)
}

func (w *world) must(id string, in Input) *Result {
	w.t.Helper()
	r, err := w.step(id, in)
	if err != nil {
		w.t.Fatalf("%s %s: %v", in.Kind, in.Event, err)
	}
	return r
}

func (w *world) capture(id string, data map[string]any) *Result {
	w.t.Helper()
	return w.must(id, Input{Kind: Capture, Data: data})
}

func (w *world) send(id, event string, data map[string]any) *Result {
	w.t.Helper()
	return w.must(id, Input{Kind: Event, Event: event, Data: data})
}

// wait advances the clock by d, firing every due timer in time order, each
// as its own step.
func (w *world) wait(d time.Duration) { w.until(w.now.Add(d)) }

func (w *world) until(t time.Time) {
	w.t.Helper()
	for {
		id, name, due, ok := w.nextTimer(t)
		if !ok {
			break
		}
		if due.After(w.now) {
			w.now = due
		}
		r, err := w.step(id, Input{Kind: Timer, Timer: name, Due: due})
		if err != nil {
			w.t.Fatalf("timer %s: %v", name, err)
		}
		if r.Stale {
			w.t.Fatalf("timer %s of %s is stale", name, id)
		}
	}
	w.now = t
}

// nextTimer is the first timer due by limit in the runtime's one order
// (CompareTimers).
func (w *world) nextTimer(limit time.Time) (id, name string, due time.Time, ok bool) {
	var best DueTimer
	for _, lid := range w.order {
		for n, d := range w.leads[lid].Timers {
			t := DueTimer{Lead: lid, Name: n, Due: d}
			if !d.After(limit) && (!ok || CompareTimers(t, best) < 0) {
				best, ok = t, true
			}
		}
	}
	return best.Lead, best.Name, best.Due, ok
}

func (w *world) lead(id string) *Lead { return w.leads[id] }

func (w *world) field(id, name string) any {
	v, _ := w.m.FieldValue(w.leads[id], name)
	return v
}

// escalated lists the roles escalated to in a lead's history.
func (w *world) escalated(id string) []string {
	var out []string
	for _, e := range w.hist[id] {
		out = append(out, e.Escalations...)
	}
	return out
}

// notified lists "kind:to:role" for a lead's notifications.
func (w *world) notified(id string) []string {
	var out []string
	for _, n := range w.notes {
		if n.Lead == id {
			out = append(out, n.Kind+":"+n.To+":"+n.Role)
		}
	}
	return out
}

// exceptions lists "kind/handler" for a lead's history.
func (w *world) exceptions(id string) []string {
	var out []string
	for _, e := range w.hist[id] {
		for _, x := range e.Exceptions {
			out = append(out, x.Kind+"/"+x.Handler)
		}
	}
	return out
}

// path lists the stages a lead moved through, from its capture.
func (w *world) path(id string) []string {
	var out []string
	for _, e := range w.hist[id] {
		for _, mv := range e.Moves {
			out = append(out, mv.To)
		}
	}
	return out
}

func (w *world) last(id string) Entry {
	h := w.hist[id]
	return h[len(h)-1]
}

func inputError(t testing.TB, err error) *InputError {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want an *InputError, got %v", err)
	}
	return ie
}

func problemFields(ie *InputError) []string {
	var out []string
	for _, p := range ie.Problems {
		out = append(out, p.Field)
	}
	return out
}

func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqs[T comparable](t testing.TB, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s =\n  %v\nwant\n  %v", what, got, want)
	}
}

// leadJSON is a lead's full state, fields included, as bytes to compare.
func leadJSON(t testing.TB, m *Machine, l *Lead) string {
	t.Helper()
	fields := make(map[string]any, len(l.Fields))
	for i, f := range m.W.Lead {
		fields[f.Name] = ir.Export(l.Fields[i])
	}
	b, err := json.Marshal(struct {
		*Lead
		Fields map[string]any `json:"fields"`
	}{l, fields})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rotJSON(t testing.TB, r *Rotation) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
