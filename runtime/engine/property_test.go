package engine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
)

// TestRandomSequences drives the example workflows with random inputs —
// valid and invalid captures, events, updates, overrides, and waits that
// fire timers in order — from fixed seeds, and checks that no step panics,
// every lead is always in a declared stage with its stage's timers and
// SLAs, open-lead counts match the leads, rejected inputs change nothing,
// and replaying the accepted inputs from scratch reproduces the final
// state byte for byte.
func TestRandomSequences(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.lead")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	sequences, inputs := 200, 50
	if testing.Short() {
		sequences = 20
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(file, "_test.lead") || !regexp.MustCompile(`(?m)^workflow `).Match(src) {
			continue // a test file or a standard
		}
		r := compiler.CompileFile(file, compiler.Options{SkipTests: true})
		if r.Diags.HasErrors() {
			t.Fatalf("%s: %v", file, r.Diags)
		}
		m, err := Load(r.Workflow)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			randomSequences(t, m, sequences, inputs)
		})
	}
	// The engine's own corner cases get the same treatment: failing
	// expressions, loops, capacity, shifts and scores.
	for name, src := range map[string]string{
		"order":    orderSrc,
		"scores":   scoreSrc,
		"cells":    cellsSrc,
		"errors":   excWorkflow(`on exception eval_error { notify ops "x" + lead.note }`, ""),
		"loops":    cycleWorkflow("on exception loop -> parked"),
		"stuck":    cycleWorkflow(""),
		"capacity": routeWorkflow("team t {\n strategy least_loaded\n capacity 1\n calendar us_business\n member \"ana\"\n member \"ben\"\n}"),
	} {
		m := compile(t, src)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			randomSequences(t, m, sequences/4, inputs)
		})
	}
}

func randomSequences(t *testing.T, m *Machine, sequences, inputs int) {
	st := &stats{edges: map[string]bool{}, exceptions: map[string]int{}}
	for seed := range sequences {
		g := &gen{t: t, m: m, r: rand.New(rand.NewPCG(uint64(seed), 0x1ead)), stats: st}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("seed %d: panic: %v\n%s", seed, p, g.log.String())
				}
			}()
			g.run(inputs)
		}()
		if t.Failed() {
			t.Fatalf("seed %d failed:\n%s", seed, g.log.String())
		}
	}
	edges := m.W.Edges()
	covered := 0
	for _, e := range edges {
		if st.edges[e.ID] {
			covered++
		}
	}
	t.Logf("%d steps, %d rejected inputs, edges covered %d/%d, exceptions %v",
		st.steps, st.rejected, covered, len(edges), st.exceptions)
}

// gen generates and checks one random sequence.
type gen struct {
	t     *testing.T
	m     *Machine
	r     *rand.Rand
	w     *world
	log   strings.Builder
	stats *stats
}

// stats shows what the random sequences exercised.
type stats struct {
	steps, rejected int
	edges           map[string]bool
	exceptions      map[string]int
}

func (g *gen) run(n int) {
	g.w = newWorld(g.t, g.m, "2026-03-02T08:30:00-05:00")
	g.w.now = g.w.now.Add(time.Duration(g.r.IntN(7*24*60)) * time.Minute)
	for i := 0; i < n; i++ {
		g.one()
		g.check()
	}
	g.replay()
	for _, id := range g.w.order {
		for _, e := range g.w.hist[id] {
			g.stats.steps++
			for _, mv := range e.Moves {
				g.stats.edges[mv.Edge] = true
			}
			for _, x := range e.Exceptions {
				g.stats.exceptions[x.Kind+"/"+x.Handler]++
			}
		}
	}
}

func (g *gen) one() {
	w := g.w
	if len(w.order) == 0 || g.r.IntN(10) == 0 && len(w.order) < 4 {
		g.input(fmt.Sprintf("L%d", len(w.order)+1), Input{Kind: Capture, Data: g.captureData()})
		return
	}
	id := w.order[g.r.IntN(len(w.order))]
	switch k := g.r.IntN(20); {
	case k < 9:
		ev, data := g.eventData()
		g.input(id, Input{Kind: Event, Event: ev, EventID: fmt.Sprint(g.r.Uint32()), Data: data})
	case k < 11:
		g.input(id, Input{Kind: Update, Data: g.updateData()})
	case k < 12:
		stage := g.m.W.Stages[g.r.IntN(len(g.m.W.Stages))].Name
		reason := "operator"
		switch g.r.IntN(6) {
		case 0:
			stage = "no_such_stage"
		case 1:
			reason = " "
		}
		if g.r.IntN(2) == 0 {
			// An assignment: to a member, to someone else, to the owner
			// it has (refused), or to nobody (refused).
			owner := []string{"ana", "zed", "", ""}[g.r.IntN(4)]
			if l := g.w.leads[id]; l != nil && owner == "" && g.r.IntN(2) == 0 {
				owner = l.Owner
			}
			g.input(id, Input{Kind: Assign, Owner: owner, Reason: reason, Actor: "ops"})
			return
		}
		g.input(id, Input{Kind: Override, Stage: stage, Reason: reason, Actor: "ops"})
	default:
		d := []time.Duration{time.Minute, 30 * time.Minute, 3 * time.Hour, 25 * time.Hour, 3 * 24 * time.Hour, 15 * 24 * time.Hour, 40 * 24 * time.Hour}
		wait := d[g.r.IntN(len(d))]
		fmt.Fprintf(&g.log, "wait %s\n", wait)
		g.w.wait(wait)
	}
}

// input steps one input; a rejected one must change nothing.
func (g *gen) input(id string, in Input) {
	w := g.w
	prev := w.leads[id]
	var before string
	if prev != nil {
		before = leadJSON(g.t, g.m, prev)
	}
	rot := rotJSON(g.t, w.rot)
	r, err := w.step(id, in)
	fmt.Fprintf(&g.log, "%s %s %s %s %v", w.now.Format(time.RFC3339), id, in.Kind, in.Event+in.Stage, in.Data)
	if err != nil {
		fmt.Fprintf(&g.log, " -> rejected: %v\n", err)
		g.stats.rejected++
		if _, ok := err.(*InputError); !ok {
			g.t.Errorf("rejection is not an *InputError: %v", err)
		}
		if prev != nil && leadJSON(g.t, g.m, prev) != before {
			g.t.Errorf("a rejected input changed the lead")
		}
		if rotJSON(g.t, w.rot) != rot {
			g.t.Errorf("a rejected input changed the rotation")
		}
		return
	}
	fmt.Fprintf(&g.log, " -> %s owner %q stuck %v\n", r.Lead.Stage, r.Lead.Owner, r.Lead.Stuck != nil)
}

// check asserts the invariants of every lead and of the rotation.
func (g *gen) check() {
	open := map[string]int{}
	for _, id := range g.w.order {
		l := g.w.leads[id]
		st := g.m.Stage(l.Stage)
		if st == nil {
			g.t.Fatalf("lead %s is in undeclared stage %q", id, l.Stage)
		}
		if len(l.Fields) != len(g.m.W.Lead) {
			g.t.Fatalf("lead %s has %d fields", id, len(l.Fields))
		}
		for i, f := range g.m.W.Lead {
			if l.Fields[i] == nil && !f.Optional {
				g.t.Fatalf("lead %s: required field %s is absent", id, f.Name)
			}
		}
		if !st.Terminal && l.Owner != "" {
			open[l.Owner]++
		}
		// No lead left behind: its stage's timeouts are pending and its
		// SLAs are the stage's.
		for i := range st.After {
			if _, ok := l.Timers[fmt.Sprintf("after:%d", i)]; !ok {
				g.t.Fatalf("lead %s in %s has no after:%d timer: %v", id, l.Stage, i, l.Timers)
			}
		}
		var want, got []string
		for _, s := range st.SLAs {
			want = append(want, s.Name)
		}
		for _, s := range l.SLAs {
			got = append(got, s.Name)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			g.t.Fatalf("lead %s in %s has SLAs %v, want %v", id, l.Stage, got, want)
		}
		for name := range l.Timers {
			if !strings.HasPrefix(name, timerDecay) && TimerOrder(name) == 5 {
				g.t.Fatalf("lead %s has an unknown timer %s", id, name)
			}
		}
	}
	if fmt.Sprint(open) != fmt.Sprint(g.w.rot.Open) {
		g.t.Fatalf("open leads %v, rotation says %v", open, g.w.rot.Open)
	}
}

// replay applies the accepted inputs again, at their times, from an empty
// store: the leads, histories and rotation must come out identical.
func (g *gen) replay() {
	w2 := newWorld(g.t, g.m, "2026-01-01T00:00:00Z")
	for _, rec := range g.w.inputs {
		w2.now = rec.at
		r, err := w2.step(rec.lead, rec.in)
		if err != nil || r.Stale {
			g.t.Fatalf("replay of %s %s at %s: %v (stale %v)", rec.lead, rec.in.Kind, rec.at, err, r != nil && r.Stale)
		}
	}
	for _, id := range g.w.order {
		a, b := leadJSON(g.t, g.m, g.w.leads[id]), leadJSON(g.t, g.m, w2.leads[id])
		if a != b {
			g.t.Fatalf("replayed lead %s differs:\n%s\n%s", id, a, b)
		}
		ha, _ := json.Marshal(g.w.hist[id])
		hb, _ := json.Marshal(w2.hist[id])
		if string(ha) != string(hb) {
			g.t.Fatalf("replayed history of %s differs", id)
		}
	}
	if a, b := rotJSON(g.t, g.w.rot), rotJSON(g.t, w2.rot); a != b {
		g.t.Fatalf("replayed rotation differs:\n%s\n%s", a, b)
	}
	na, _ := json.Marshal(g.w.notes)
	nb, _ := json.Marshal(w2.notes)
	if string(na) != string(nb) {
		g.t.Fatalf("replayed notifications differ")
	}
}

// value returns a random JSON-form value of type t.
func (g *gen) value(name string, t ir.Type) any {
	switch t.Kind {
	case ir.String:
		if strings.Contains(name, "email") {
			return []string{"cio@big.example", "me@gmail.com", "spy@competitor.example", "x@small.example"}[g.r.IntN(4)]
		}
		return []string{"", "storage", "compute", "demo", "kim@acme.example", "a b"}[g.r.IntN(6)]
	case ir.Enum:
		return t.Enum[g.r.IntN(len(t.Enum))]
	case ir.Int:
		return float64(g.r.IntN(120) - 10)
	case ir.Float:
		return g.r.Float64() * 1000
	case ir.Bool:
		return g.r.IntN(2) == 0
	case ir.Timestamp:
		return g.w.now.Add(-time.Duration(g.r.IntN(1000)) * time.Hour).Format(time.RFC3339)
	case ir.DurationK:
		return []string{"4h", "1h30m", "2d"}[g.r.IntN(3)]
	case ir.List:
		var out []any
		for range g.r.IntN(3) {
			out = append(out, g.value(name, *t.Elem))
		}
		return out
	case ir.Map:
		out := map[string]any{}
		for i := range g.r.IntN(3) {
			out[fmt.Sprint("k", i)] = g.value(name, *t.Elem)
		}
		return out
	}
	return nil
}

// wrong returns a value that does not fit t.
func (g *gen) wrong(t ir.Type) any {
	switch t.Kind {
	case ir.String:
		return 42.0
	case ir.Enum:
		return "not_a_value"
	case ir.Int:
		return 1.5
	}
	return map[string]any{"no": true}
}

func (g *gen) fields(fs []ir.Field, capture bool) map[string]any {
	data := map[string]any{}
	for _, f := range fs {
		if f.Required() && capture || g.r.IntN(3) == 0 {
			data[f.Name] = g.value(f.Name, f.Type)
		}
		if f.Optional && g.r.IntN(8) == 0 {
			data[f.Name] = nil
		}
	}
	return data
}

// spoil makes valid data invalid one way or another, a sixth of the time.
func (g *gen) spoil(data map[string]any, fs []ir.Field) map[string]any {
	if g.r.IntN(6) != 0 {
		return data
	}
	switch g.r.IntN(3) {
	case 0:
		data["no_such_field"] = 1.0
	case 1:
		if len(fs) > 0 {
			f := fs[g.r.IntN(len(fs))]
			data[f.Name] = g.wrong(f.Type)
		}
	case 2:
		for _, f := range fs {
			if f.Required() {
				delete(data, f.Name)
				break
			}
		}
		data["stage"] = "won"
	}
	return data
}

func (g *gen) captureData() map[string]any {
	return g.spoil(g.fields(g.m.W.Lead, true), g.m.W.Lead)
}

func (g *gen) updateData() map[string]any {
	data := g.fields(g.m.W.Lead, false)
	if len(data) == 0 {
		f := g.m.W.Lead[g.r.IntN(len(g.m.W.Lead))]
		data[f.Name] = g.value(f.Name, f.Type)
	}
	return g.spoil(data, g.m.W.Lead)
}

func (g *gen) eventData() (string, map[string]any) {
	var evs []*ir.Event
	for i := range g.m.W.Events {
		if !g.m.W.Events[i].Builtin {
			evs = append(evs, &g.m.W.Events[i])
		}
	}
	if g.r.IntN(25) == 0 {
		return []string{"no_such_event", ir.EventCaptured}[g.r.IntN(2)], nil
	}
	ev := evs[g.r.IntN(len(evs))]
	data := map[string]any{}
	for _, f := range ev.Fields {
		if f.Required() || g.r.IntN(2) == 0 {
			data[f.Name] = g.value(f.Name, f.Type)
		}
	}
	return ev.Name, g.spoil(data, ev.Fields)
}
