// Package leadtest runs a workflow's `test` blocks on the runtime itself:
// each test runs the service that `lead run` runs (its commit path, its
// event handling, its timer scheduler) on a fresh in-memory store and a
// virtual clock. `wait` and `at` move the clock and fire every timer due
// on the way, in the scheduler's one order (due time, lead id, timer),
// each as its own step, without sleeping. Tests are independent, may run
// in parallel, and give the same result every time.
package leadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/stdlib/celenv"
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

// world is one test's service, store and virtual clock, and what the
// test has seen of its leads (every committed step's result, from the
// service's Observe).
type world struct {
	suite   *Suite
	m       *engine.Machine
	svc     *service.Service
	clock   atomic.Int64 // Unix nanoseconds
	mu      sync.Mutex   // what Observe records
	leads   map[string]*engine.Lead
	history map[string][]engine.Entry
	notes   map[string][]engine.Notification
	edges   map[string]bool
	order   []string // capture order
	current string
}

func (w *world) now() time.Time { return time.Unix(0, w.clock.Load()).UTC() }

func (w *world) setClock(t time.Time) { w.clock.Store(t.UnixNano()) }

// observe records a committed step.
func (w *world) observe(r *engine.Result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := r.Lead
	w.leads[l.ID] = l
	w.history[l.ID] = append(w.history[l.ID], r.Entry)
	w.notes[l.ID] = append(w.notes[l.ID], r.Notifications...)
	for _, mv := range r.Entry.Moves {
		w.edges[mv.Edge] = true
	}
}

// steps returns a lead's history so far.
func (w *world) steps(id string) []engine.Entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.history[id]
}

// lead returns the current lead as last committed, nil before a capture.
func (w *world) lead() *engine.Lead {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leads[w.current]
}

// failure is a failed test step.
type failure struct {
	pos ir.Pos
	msg string
}

var background = context.Background()

func runTest(s *Suite, t *compiler.Test) (res Result) {
	res = Result{Name: t.Name, File: t.Pos.File, Line: t.Pos.Line, Status: Pass}
	w := &world{
		suite: s, m: s.Machine,
		leads: map[string]*engine.Lead{}, history: map[string][]engine.Entry{},
		notes: map[string][]engine.Notification{}, edges: map[string]bool{},
	}
	w.setClock(compiler.DefaultTestTime)
	st := store.NewMemory()
	w.svc = service.New(service.Config{
		Store: st, Clock: w.now, Machines: []*engine.Machine{s.Machine}, ManualTimers: true, Observe: w.observe,
	})
	defer func() {
		for e := range w.edges {
			res.Edges = append(res.Edges, e)
		}
		sort.Strings(res.Edges)
		if r := recover(); r != nil {
			res.Status, res.Message = Fail, fmt.Sprintf("%s:%d: internal error: %v", t.Pos.File, t.Pos.Line, r)
		}
	}()
	if err := w.svc.Start(background); err != nil {
		return Result{Name: t.Name, File: t.Pos.File, Line: t.Pos.Line, Status: Fail, Message: fmt.Sprintf("%s:%d: the runtime did not start: %v", t.Pos.File, t.Pos.Line, err)}
	}
	defer st.Close()
	defer w.svc.Close(background)
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
		if err := w.advance(w.now().Add(st.Wait)); err != nil {
			return &failure{st.Pos, err.Error()}
		}
	case compiler.StepCapture:
		id := st.ID
		if id == "" {
			id = fmt.Sprintf("lead-%d", len(w.order)+1)
		}
		_, created, err := w.svc.Capture(background, w.m.W.Name, id, st.Fields)
		if err != nil {
			return &failure{st.Pos, "capture rejected: " + testError(err)}
		}
		if !created {
			return &failure{st.Pos, fmt.Sprintf("capture: lead %s already exists", id)}
		}
		w.order = append(w.order, id)
		w.current = id
	case compiler.StepSend:
		if w.current == "" {
			return &failure{st.Pos, "send: no lead captured yet"}
		}
		var err error
		if st.Event == ir.EventUpdated {
			_, err = w.svc.Update(background, w.current, st.Fields) // as PATCH /v1/leads/{id}
		} else {
			_, err = w.svc.Send(background, w.current, st.Event, "", st.Fields)
		}
		if err != nil {
			return &failure{st.Pos, fmt.Sprintf("send %s rejected: %s", st.Event, testError(err))}
		}
	case compiler.StepOverride:
		if w.current == "" {
			return &failure{st.Pos, "override: no lead captured yet"}
		}
		if _, err := w.svc.Override(background, w.current, st.Stage, st.Reason, "test"); err != nil {
			return &failure{st.Pos, fmt.Sprintf("override to %s rejected: %s", st.Stage, testError(err))}
		}
	case compiler.StepExpect:
		return w.expect(st)
	}
	return nil
}

// testError words a rejected step for a test's author: the fields as the
// test names them, not by their place in an API request.
func testError(err error) string {
	var ie *service.InputError
	if !errors.As(err, &ie) {
		return err.Error()
	}
	c := &service.InputError{Message: ie.Message}
	for _, p := range ie.Problems {
		if _, name, ok := strings.Cut(p.Field, "."); ok && (strings.HasPrefix(p.Field, "fields.") || strings.HasPrefix(p.Field, "data.")) {
			p.Field = name
		}
		c.Problems = append(c.Problems, p)
	}
	return c.Error()
}

// advance moves the clock to t, firing the timers due on the way with the
// runtime's scheduler.
func (w *world) advance(t time.Time) error {
	if t.Before(w.now()) {
		return fmt.Errorf("the clock cannot go back from %s to %s", w.now().Format(time.RFC3339), t.Format(time.RFC3339))
	}
	if err := w.svc.RunTimers(background, t, w.setClock); err != nil {
		return err
	}
	w.setClock(t)
	return nil
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
	if l := w.lead(); l != nil {
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
		if strings.Contains(st.Expect.Src, "sla(") {
			fmt.Fprintf(&b, "\n    sla: %s", show(w.slas(l.ID)))
		}
		if strings.Contains(st.Expect.Src, "stuck(") && l.Stuck == nil {
			fmt.Fprintf(&b, "\n    not stuck")
		}
		fmt.Fprintf(&b, "\n    clock: %s", w.now().Format(time.RFC3339))
		h := w.steps(l.ID)
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
		celenv.VarSLA:       map[string]string{},
		celenv.VarHistory:   []any{},
	}
	l := w.lead()
	if l != nil {
		extra[celenv.VarEscalated] = w.escalated(l.ID)
		extra[celenv.VarNotified] = w.notified(l.ID)
		extra[celenv.VarStuck] = l.Stuck != nil
		extra[celenv.VarSLA] = w.slas(l.ID)
		var steps []any
		for _, e := range w.steps(l.ID) {
			steps = append(steps, celenv.Value(stepObj{e}, celenv.StepType))
		}
		if steps == nil {
			steps = []any{}
		}
		extra[celenv.VarHistory] = steps
	}
	out, _, err := p.Eval(engine.NewActivation(w.m, l, w.now(), extra))
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expectation is %s, not a bool", out.Type())
	}
	return bool(b), nil
}

// escalated lists the escalations in the lead's history, one entry for
// each: escalated(r) holds once r is in it, and compared with a number it
// counts them.
func (w *world) escalated(id string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := []string{}
	for _, e := range w.history[id] {
		out = append(out, e.Escalations...)
	}
	return out
}

// slas maps each SLA of the lead's history to its last outcome: started,
// restarted, warned, met, breached, cancelled or exempt.
func (w *world) slas(id string) map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for _, e := range w.history[id] {
		for _, o := range e.SLAs {
			out[o.Name] = o.State
		}
	}
	return out
}

// notified lists who the lead's notifications were addressed to — every
// kind (notify, escalate, nurture), by role or RACI keyword and by person
// or queue — so notified(r) holds once anything was sent to r.
func (w *world) notified(id string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
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
