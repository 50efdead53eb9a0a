// Package leadtest runs a workflow's `test` blocks (the language reference §15) on the
// real engine with a virtual clock: `wait` advances time and fires every due
// timer in order, each as its own step, without sleeping. Each test starts
// on a fresh, empty in-memory store, so tests are independent, may run in
// parallel, and give the same result every time.
package leadtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/celenv"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
)

// Status of a test.
const (
	Pass = "pass"
	Fail = "fail"
)

// Result is one test's outcome (docs/cli.md: `lead test --format json`).
type Result struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Status  string `json:"status"`
	Message string `json:"message"`
	// Edges are the graph edges the test exercised.
	Edges []string `json:"-"`
}

// Coverage is a workflow's transition coverage.
type Coverage struct {
	Workflow string    `json:"workflow"`
	Edges    int       `json:"edges"`
	Covered  int       `json:"covered"`
	Missing  []ir.Edge `json:"missing"`
}

// Suite is a compiled workflow with its tests.
type Suite struct {
	Machine *engine.Machine
	Tests   []*compiler.Test

	// expects holds each expectation's program, built once per suite.
	expects map[*ir.Expr]expectProg
}

type expectProg struct {
	p   cel.Program
	err error
}

// NewSuite loads a compiled workflow for testing.
func NewSuite(r *compiler.Result) (*Suite, error) {
	if r.Workflow == nil {
		return nil, fmt.Errorf("the workflow has errors")
	}
	m, err := engine.Load(r.Workflow)
	if err != nil {
		return nil, err
	}
	s := &Suite{Machine: m, Tests: r.Tests, expects: map[*ir.Expr]expectProg{}}
	for _, t := range r.Tests {
		for _, st := range t.Steps {
			if st.Kind == compiler.StepExpect && st.Expect != nil {
				p, _, err := m.Env().Program(celenv.Context{Test: true}, st.Expect.Src)
				s.expects[st.Expect] = expectProg{p, err}
			}
		}
	}
	return s, nil
}

// Run runs the suites' tests whose names match filter (nil: all), in
// parallel, and returns results in source order and coverage per workflow.
func Run(suites []*Suite, filter *regexp.Regexp) ([]Result, []Coverage) {
	type job struct {
		s    *Suite
		t    *compiler.Test
		slot int
	}
	var jobs []job
	for _, s := range suites {
		for _, t := range s.Tests {
			if filter == nil || filter.MatchString(t.Name) {
				jobs = append(jobs, job{s, t, len(jobs)})
			}
		}
	}
	results := make([]Result, len(jobs))
	var wg sync.WaitGroup
	next := make(chan job)
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				results[j.slot] = runTest(j.s, j.t)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var cov []Coverage
	for _, s := range suites {
		hit := map[string]bool{}
		for i, j := range jobs {
			if j.s == s {
				for _, e := range results[i].Edges {
					hit[e] = true
				}
			}
		}
		c := Coverage{Workflow: s.Machine.W.Name, Missing: []ir.Edge{}}
		for _, e := range s.Machine.W.Edges() {
			c.Edges++
			if hit[e.ID] {
				c.Covered++
			} else {
				c.Missing = append(c.Missing, e)
			}
		}
		cov = append(cov, c)
	}
	return results, cov
}

// world is one test's in-memory store and virtual clock.
type world struct {
	suite   *Suite
	m       *engine.Machine
	now     time.Time
	rot     *engine.Rotation
	leads   map[string]*engine.Lead
	order   []string // capture order
	history map[string][]engine.Entry
	notes   map[string][]engine.Notification
	edges   map[string]bool
	current *engine.Lead
}

// failure is a failed test step.
type failure struct {
	pos ir.Pos
	msg string
}

func runTest(s *Suite, t *compiler.Test) (res Result) {
	res = Result{Name: t.Name, File: t.Pos.File, Line: t.Pos.Line, Status: Pass}
	w := &world{
		suite: s, m: s.Machine, now: compiler.DefaultTestTime, rot: engine.NewRotation(),
		leads: map[string]*engine.Lead{}, history: map[string][]engine.Entry{},
		notes: map[string][]engine.Notification{}, edges: map[string]bool{},
	}
	defer func() {
		for e := range w.edges {
			res.Edges = append(res.Edges, e)
		}
		sort.Strings(res.Edges)
		if r := recover(); r != nil {
			res.Status, res.Message = Fail, fmt.Sprintf("%s:%d: internal error: %v", t.Pos.File, t.Pos.Line, r)
		}
	}()
	for _, st := range t.Steps {
		if f := w.do(st); f != nil {
			res.Status = Fail
			res.Message = fmt.Sprintf("%s:%d: %s", f.pos.File, f.pos.Line, f.msg)
			return res
		}
	}
	return res
}

func (w *world) do(st compiler.TestStep) *failure {
	switch st.Kind {
	case compiler.StepAt:
		if err := w.advance(st.At); err != nil {
			return &failure{st.Pos, err.Error()}
		}
	case compiler.StepWait:
		if err := w.advance(w.now.Add(st.Wait)); err != nil {
			return &failure{st.Pos, err.Error()}
		}
	case compiler.StepCapture:
		id := st.ID
		if id == "" {
			id = fmt.Sprintf("lead-%d", len(w.order)+1)
		}
		if _, dup := w.leads[id]; dup {
			return &failure{st.Pos, fmt.Sprintf("capture: lead %s already exists", id)}
		}
		r, err := engine.Step(w.m, nil, engine.Input{Kind: engine.Capture, LeadID: id, Data: st.Fields}, w.now, w.rot)
		if err != nil {
			return &failure{st.Pos, "capture rejected: " + err.Error()}
		}
		w.order = append(w.order, id)
		w.apply(r)
		w.current = r.Lead
	case compiler.StepSend:
		if w.current == nil {
			return &failure{st.Pos, "send: no lead captured yet"}
		}
		in := engine.Input{Kind: engine.Event, Event: st.Event, Data: st.Fields}
		if st.Event == ir.EventUpdated {
			in = engine.Input{Kind: engine.Update, Data: st.Fields} // as PATCH /v1/leads/{id}
		}
		r, err := engine.Step(w.m, w.current, in, w.now, w.rot)
		if err != nil {
			return &failure{st.Pos, fmt.Sprintf("send %s rejected: %v", st.Event, err)}
		}
		w.apply(r)
	case compiler.StepExpect:
		return w.expect(st)
	}
	return nil
}

// apply commits a step to the in-memory store.
func (w *world) apply(r *engine.Result) {
	if r.Stale {
		return
	}
	l := r.Lead
	w.leads[l.ID] = l
	if w.current != nil && w.current.ID == l.ID {
		w.current = l
	}
	w.history[l.ID] = append(w.history[l.ID], r.Entry)
	w.notes[l.ID] = append(w.notes[l.ID], r.Notifications...)
	w.rot.Apply(r.Routing)
	for _, mv := range r.Entry.Moves {
		w.edges[mv.Edge] = true
	}
}

// advance moves the clock to t, firing due timers in time order (ties by
// lead capture order, then timer name), each as its own step.
func (w *world) advance(t time.Time) error {
	if t.Before(w.now) {
		return fmt.Errorf("the clock cannot go back from %s to %s", w.now.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	for fired := 0; ; fired++ {
		if fired > 1_000_000 {
			return fmt.Errorf("more than a million timers fired before %s: is a timer rescheduling itself at once?", t.Format(time.RFC3339))
		}
		id, name, due, ok := w.nextTimer(t)
		if !ok {
			break
		}
		if due.After(w.now) {
			w.now = due
		}
		r, err := engine.Step(w.m, w.leads[id], engine.Input{Kind: engine.Timer, Timer: name, Due: due}, w.now, w.rot)
		if err != nil {
			return fmt.Errorf("timer %s of lead %s: %v", name, id, err)
		}
		w.apply(r)
	}
	w.now = t
	return nil
}

func (w *world) nextTimer(limit time.Time) (string, string, time.Time, bool) {
	var bestID, bestName string
	var best time.Time
	found := false
	for _, id := range w.order {
		l := w.leads[id]
		for name, due := range l.Timers {
			if due.After(limit) {
				continue
			}
			if !found || due.Before(best) || due.Equal(best) && id == bestID && timerLess(name, bestName) {
				bestID, bestName, best, found = id, name, due, true
			}
		}
	}
	return bestID, bestName, best, found
}

var leadFieldRe = regexp.MustCompile(`\blead\.([A-Za-z_][A-Za-z0-9_]*)`)

func (w *world) expect(st compiler.TestStep) *failure {
	prog, found := w.suite.expects[st.Expect]
	if !found {
		prog.p, _, prog.err = w.m.Env().Program(celenv.Context{Test: true}, st.Expect.Src)
	}
	if prog.err != nil {
		return &failure{st.Pos, "expect: " + prog.err.Error()}
	}
	ok, err := w.evalExpect(prog.p)
	if err == nil && ok {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "expect failed: %s", st.Expect.Src)
	if err != nil {
		fmt.Fprintf(&b, "\n    error: %v", err)
	}
	if l := w.current; l != nil {
		fmt.Fprintf(&b, "\n    lead %s: stage %q, owner %q", l.ID, l.Stage, l.Owner)
		if l.Stuck != nil {
			fmt.Fprintf(&b, ", stuck (%s: %s)", l.Stuck.Kind, l.Stuck.Reason)
		}
		seen := map[string]bool{"stage": true, "owner": true}
		for _, m := range leadFieldRe.FindAllStringSubmatch(st.Expect.Src, -1) {
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			if v, ok := w.m.FieldValue(l, m[1]); ok {
				fmt.Fprintf(&b, "\n    lead.%s = %s", m[1], show(v))
			} else {
				fmt.Fprintf(&b, "\n    lead.%s is not set", m[1])
			}
		}
		if strings.Contains(st.Expect.Src, "escalated(") {
			fmt.Fprintf(&b, "\n    escalated: %s", show(w.escalated(l.ID)))
		}
		if strings.Contains(st.Expect.Src, "notified(") {
			fmt.Fprintf(&b, "\n    notified: %s", show(w.notified(l.ID)))
		}
		if strings.Contains(st.Expect.Src, "stuck(") && l.Stuck == nil {
			fmt.Fprintf(&b, "\n    not stuck")
		}
		fmt.Fprintf(&b, "\n    clock: %s", w.now.Format(time.RFC3339))
		h := w.history[l.ID]
		from := max(0, len(h)-5)
		fmt.Fprintf(&b, "\n    last steps:")
		for _, e := range h[from:] {
			fmt.Fprintf(&b, "\n      %s", describeEntry(e))
		}
	}
	return &failure{st.Pos, b.String()}
}

func (w *world) evalExpect(p cel.Program) (bool, error) {
	var extra = map[string]any{
		celenv.VarEscalated: []string{},
		celenv.VarNotified:  []string{},
		celenv.VarStuck:     false,
		celenv.VarHistory:   []any{},
	}
	if l := w.current; l != nil {
		extra[celenv.VarEscalated] = w.escalated(l.ID)
		extra[celenv.VarNotified] = w.notified(l.ID)
		extra[celenv.VarStuck] = l.Stuck != nil
		var steps []any
		for _, e := range w.history[l.ID] {
			steps = append(steps, stepObj{e})
		}
		if steps == nil {
			steps = []any{}
		}
		extra[celenv.VarHistory] = steps
	}
	out, _, err := p.Eval(engine.NewActivation(w.m, w.current, w.now, extra))
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expectation is %s, not a bool", out.Type())
	}
	return bool(b), nil
}

// timerLess orders timers of one lead due at the same instant, as the
// engine ranks them.
func timerLess(a, b string) bool {
	if ra, rb := engine.TimerOrder(a), engine.TimerOrder(b); ra != rb {
		return ra < rb
	}
	return a < b
}

// escalated lists the roles the lead was ever escalated to: escalated(r)
// holds once an escalation to r is in the lead's history.
func (w *world) escalated(id string) []string {
	out := []string{}
	for _, e := range w.history[id] {
		out = append(out, e.Escalations...)
	}
	return out
}

// notified lists who the lead's notifications were addressed to — every
// kind (notify, escalate, nurture), by role or RACI keyword and by person
// or queue — so notified(r) holds once anything was sent to r.
func (w *world) notified(id string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, n := range w.notes[id] {
		for _, to := range []string{n.Role, n.To} {
			if to != "" && !seen[to] {
				seen[to] = true
				out = append(out, to)
			}
		}
	}
	return out
}

// stepObj is a history entry as tests see it (`history[i].to`).
type stepObj struct{ e engine.Entry }

func (s stepObj) Field(name string) (any, bool) {
	switch name {
	case "at":
		return s.e.At, true
	case "cause":
		return s.e.Cause, true
	case "event":
		return s.e.Event, true
	case "from":
		return s.e.From, true
	case "to":
		return s.e.To, true
	case "owner":
		return s.e.Owner, true
	}
	return nil, false
}

// show formats a value as the test's author wrote it: JSON.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func describeEntry(e engine.Entry) string {
	return e.At.Format(time.RFC3339) + " " + e.Describe()
}
