package compiler

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
)

// checkGraph enforces the graph rules: accountable owners, terminal stages
// that do not move, no cycle of always-true automatic moves, exhaustive
// routings; and lints "no lead left behind": unreachable stages, stages a
// lead can wait in forever or never leave for an end state, shadowed
// transitions, unused declarations.
func (c *compilation) checkGraph() {
	w := c.w
	// A cell none of whose stages has an accountable owner is one finding,
	// at the cell's name.
	missing := map[string][]string{}
	for _, s := range w.Stages {
		if !s.Terminal && s.Owner.Accountable == "" && s.Cell != "" {
			missing[s.Cell] = append(missing[s.Cell], s.Name)
		}
	}
	for i := range w.Stages {
		s := &w.Stages[i]
		f, span := c.fileSpan(s.Pos)
		if s.Terminal {
			c.checkTerminal(s, f, span)
			continue
		}
		if s.Owner.Accountable != "" {
			continue
		}
		if parts := missing[s.Cell]; s.Cell != "" && len(parts) == len(cellParts) {
			if parts[0] == s.Name {
				cl := c.targets[s.Cell].cell
				c.errorf(cl.file, cl.node.Name.Span(), CodeAccountable, "cell %s has no accountable owner (for %s)", s.Cell, strings.Join(parts, ", ")).
					help("every step has one accountable owner: add `accountable ROLE` to the cell's owner block, or a workflow-level `owner { accountable ROLE }`")
			}
			continue
		}
		where := "the stage"
		if s.Cell != "" {
			where = "this part of the cell, the cell"
		}
		c.errorf(f, span, CodeAccountable, "stage %s has no accountable owner", s.Name).
			help("every step has one accountable owner: add `owner { accountable ROLE }` to %s, or to the workflow", where)
	}
	c.checkAutoCycles()
	c.checkRoutings()
	if c.failed() {
		return
	}
	c.checkReachability()
	c.checkShadowing()
	c.checkUnused()
}

// fileSpan finds the file and span of an IR position.
func (c *compilation) fileSpan(p ir.Pos) (*lang.File, lang.Span) {
	return fileOf(c.files, p.File), lang.Span{Start: p.Off, End: p.End}
}

// checkTerminal rejects what would move a lead out of an end state:
// transitions, timers, SLAs, nurture, a move in `enter` or in an exception
// handler. What does not move it is allowed: `enter` and `exit` actions
// (a "Lost" notification), in-stage handlers, an owner, a lifecycle.
func (c *compilation) checkTerminal(s *ir.Stage, f *lang.File, span lang.Span) {
	bad := func(p ir.Pos, what string) {
		ff, sp := c.fileSpan(p)
		c.errorf(ff, sp, CodeTerminalMoves, "terminal stage %s cannot have %s", s.Name, what).
			related(f, span, "%s is marked terminal here", s.Name).
			help("a terminal stage is an end state; remove `terminal` or the %s", what)
	}
	for _, t := range s.On {
		bad(t.Pos, "transitions")
	}
	for _, t := range s.When {
		bad(t.Pos, "transitions")
	}
	for _, t := range s.After {
		bad(t.Pos, "timers")
	}
	for _, sla := range s.SLAs {
		bad(sla.Pos, "SLAs")
	}
	if s.Nurture != nil {
		bad(s.Nurture.Pos, "timers")
	}
	for _, a := range s.Enter {
		if a.Kind == ir.ActMove {
			bad(a.Pos, "transitions")
		}
	}
	for _, e := range s.Exceptions {
		for _, a := range e.Actions {
			if a.Kind == ir.ActMove {
				bad(a.Pos, "transitions")
			}
		}
	}
}

// enterMove returns the move that ends a stage's enter actions, if any:
// a lead entering the stage always leaves it at once.
func enterMove(s *ir.Stage) *ir.Action {
	if n := len(s.Enter); n > 0 && s.Enter[n-1].Kind == ir.ActMove {
		return &s.Enter[n-1]
	}
	return nil
}

// alwaysTrue reports whether a guard is absent or literally `true`.
func alwaysTrue(g *ir.Expr) bool { return g == nil || strings.TrimSpace(g.Src) == "true" }

// checkAutoCycles finds cycles made only of automatic transitions whose
// guards are all literally true: a lead entering one would loop forever.
func (c *compilation) checkAutoCycles() {
	next := map[string][]ir.Transition{}
	for i := range c.w.Stages {
		s := &c.w.Stages[i]
		if m := enterMove(s); m != nil {
			// The enter move happens before any `when` is checked.
			next[s.Name] = []ir.Transition{{Target: m.Target, Pos: m.Pos}}
			continue
		}
		for _, t := range s.When {
			if alwaysTrue(t.Guard) && t.Target != "" {
				next[s.Name] = append(next[s.Name], t)
				break // later whens never fire after an always-true one
			}
		}
	}
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = 1
		stack = append(stack, n)
		for _, t := range next[n] {
			switch state[t.Target] {
			case 0:
				visit(t.Target)
			case 1:
				i := len(stack) - 1
				for stack[i] != t.Target {
					i--
				}
				cycle := append(append([]string(nil), stack[i:]...), t.Target)
				f, span := c.fileSpan(t.Pos)
				c.errorf(f, span, CodeAutoCycle, "automatic moves loop forever: %s", strings.Join(cycle, " -> ")).
					help("every move in this cycle always happens; give one of them a condition that becomes false, or end the cycle")
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
	}
	for _, s := range c.w.Stages {
		if state[s.Name] == 0 {
			visit(s.Name)
		}
	}
}

// checkRoutings requires an `else` unless the rules provably cover every
// value of one enum field: rules that test only that field
// (`lead.region == "emea"`, `lead.region in ["na", "latam"]`, or a
// disjunction of such tests) add the values they test; other rules may or
// may not match and add nothing. The field must be required or defaulted,
// never optional, so it always has one of its values.
func (c *compilation) checkRoutings() {
	for _, r := range c.w.Routings {
		if len(r.Rules) == 0 || r.Rules[len(r.Rules)-1].When == nil || c.hasExprErrors(r.Rules) {
			continue
		}
		field, uncovered := c.enumCoverage(r.Rules)
		if field != "" && len(uncovered) == 0 {
			continue
		}
		f, span := c.fileSpan(r.Pos)
		if rt, ok := c.routingByName[r.Name]; ok {
			f, span = rt.file, rt.node.Name.Span()
		}
		d := c.errorf(f, span, CodeNotExhaustve, "routing `%s` has no `else`, and its rules may all fail", r.Name)
		if field != "" {
			quoted := make([]string, len(uncovered))
			for i, v := range uncovered {
				quoted[i] = fmt.Sprintf("%q", v)
			}
			d.help("no rule matches lead.%s == %s: add rules for %s or end with `else -> TARGET`", field, strings.Join(quoted, " or "), plural(len(uncovered), "it", "them"))
		} else {
			d.help("end with `else -> TARGET` so every lead gets an owner, or cover every value of an enum field")
		}
	}
}

// enumCoverage finds the enum field the rules test most completely and the
// values no rule covers ("" when no rule tests an enum field alone).
func (c *compilation) enumCoverage(rules []ir.Rule) (string, []string) {
	covered := map[string]map[string]bool{}
	var order []string
	for _, r := range rules {
		j := c.jobOf[r.When]
		if j == nil || j.checked == nil {
			continue
		}
		a := j.checked.NativeRep()
		name, values, ok := enumTest(a, a.Expr())
		if !ok {
			continue
		}
		if f := c.w.Field(name); f == nil || f.Type.Kind != ir.Enum || f.Optional {
			continue
		}
		if covered[name] == nil {
			covered[name] = map[string]bool{}
			order = append(order, name)
		}
		for _, v := range values {
			covered[name][v] = true
		}
	}
	best, bestMissing := "", []string(nil)
	for _, name := range order {
		var missing []string
		for _, v := range c.w.Field(name).Type.Enum {
			if !covered[name][v] {
				missing = append(missing, v)
			}
		}
		if best == "" || len(missing) < len(bestMissing) {
			best, bestMissing = name, missing
		}
	}
	return best, bestMissing
}

// enumTest recognises `lead.F == "v"`, `"v" == lead.F`, `lead.F in [...]`
// and disjunctions of them over one field.
func enumTest(a *ast.AST, e ast.Expr) (string, []string, bool) {
	if e.Kind() != ast.CallKind {
		return "", nil, false
	}
	call := e.AsCall()
	args := call.Args()
	leadField := func(x ast.Expr) (string, bool) {
		if x.Kind() != ast.SelectKind {
			return "", false
		}
		s := x.AsSelect()
		if s.IsTestOnly() || s.Operand().Kind() != ast.IdentKind || s.Operand().AsIdent() != "lead" {
			return "", false
		}
		return s.FieldName(), true
	}
	str := func(x ast.Expr) (string, bool) {
		if x.Kind() != ast.LiteralKind {
			return "", false
		}
		v, ok := x.AsLiteral().Value().(string)
		return v, ok
	}
	switch call.FunctionName() {
	case operators.Equals:
		for i := 0; i < 2; i++ {
			if f, ok := leadField(args[i]); ok {
				if v, ok := str(args[1-i]); ok {
					return f, []string{v}, true
				}
			}
		}
	case operators.In:
		f, ok := leadField(args[0])
		if !ok || args[1].Kind() != ast.ListKind {
			return "", nil, false
		}
		var vs []string
		for _, el := range args[1].AsList().Elements() {
			v, ok := str(el)
			if !ok {
				return "", nil, false
			}
			vs = append(vs, v)
		}
		return f, vs, true
	case operators.LogicalOr:
		f1, v1, ok1 := enumTest(a, args[0])
		f2, v2, ok2 := enumTest(a, args[1])
		if ok1 && ok2 && f1 == f2 {
			return f1, append(v1, v2...), true
		}
	}
	return "", nil, false
}

// edges returns each stage's successors. With anywhere, a workflow-level
// exception handler's move counts as an edge from every non-terminal stage.
func (c *compilation) edges(anywhereEdges bool) map[string][]string {
	out := map[string][]string{}
	anywhere := []string{}
	for _, e := range c.w.Edges() {
		if e.To == "" {
			continue
		}
		if e.From == "" {
			anywhere = append(anywhere, e.To)
			continue
		}
		out[e.From] = append(out[e.From], e.To)
	}
	if !anywhereEdges {
		return out
	}
	for _, s := range c.w.Stages {
		if !s.Terminal {
			out[s.Name] = append(out[s.Name], anywhere...)
		}
	}
	return out
}

func (c *compilation) checkReachability() {
	w := c.w
	succ := c.edges(true)
	reach := map[string]bool{}
	var dfs func(n string)
	dfs = func(n string) {
		if reach[n] {
			return
		}
		reach[n] = true
		for _, m := range succ[n] {
			dfs(m)
		}
	}
	if w.Start != "" {
		dfs(w.Start)
	}
	// Which stages can reach an end state: walk edges backwards from the
	// terminal stages.
	// A stage that reaches an end state only through a workflow-level
	// exception handler (no_owner -> triage) strands every lead whose
	// exception never comes, so those moves do not count here; they do
	// count for reachability above.
	pred := map[string][]string{}
	for from, tos := range c.edges(false) {
		for _, to := range tos {
			pred[to] = append(pred[to], from)
		}
	}
	ends := map[string]bool{}
	var back func(n string)
	back = func(n string) {
		if ends[n] {
			return
		}
		ends[n] = true
		for _, m := range pred[n] {
			back(m)
		}
	}
	for _, s := range w.Stages {
		if s.Terminal {
			back(s.Name)
		}
	}
	for _, s := range w.Stages {
		f, span := c.fileSpan(s.Pos)
		if !reach[s.Name] {
			c.warnf(f, span, CodeUnreachable, "stage %s is unreachable from start %s", s.Name, w.Start).
				help("no transition, timer or handler leads here; remove it or add a transition to it")
			continue
		}
		if s.Terminal {
			continue
		}
		if !waits(s) {
			c.warnf(f, span, CodeWaitsForever, "a lead can wait in %s forever: it has no `after`, no `sla` and no automatic move that always happens", s.Name).
				help("no lead left behind: add a timeout such as `after 30d -> STAGE`, or an `sla`")
		}
		if !ends[s.Name] {
			c.warnf(f, span, CodeNoTerminal, "no end state can be reached from %s", s.Name).
				help("leads entering %s never finish; add a path to a terminal stage", s.Name)
		}
	}
}

// waits reports whether a lead in s is certain to be looked at again: a
// timeout, an SLA, or an automatic transition that always fires.
func waits(s ir.Stage) bool {
	if len(s.After) > 0 || len(s.SLAs) > 0 || enterMove(&s) != nil {
		return true
	}
	for _, t := range s.When {
		if alwaysTrue(t.Guard) {
			return true
		}
	}
	return false
}

func (c *compilation) checkShadowing() {
	for _, s := range c.w.Stages {
		covered := map[string]ir.Transition{}
		for _, t := range s.On {
			var shadowedBy *ir.Transition
			all := len(t.Events) > 0
			for _, e := range t.Events {
				prev, ok := covered[e]
				if !ok {
					all = false
					continue
				}
				if shadowedBy == nil {
					p := prev
					shadowedBy = &p
				}
			}
			if all && shadowedBy != nil {
				f, span := c.fileSpan(t.Pos)
				pf, pspan := c.fileSpan(shadowedBy.Pos)
				c.warnf(f, span, CodeShadowed, "this transition never fires: an earlier transition on %s always does", strings.Join(t.Events, ", ")).
					related(pf, pspan, "the earlier transition, which always holds").
					help("order transitions from the most specific condition to the least")
			}
			if alwaysTrue(t.Guard) {
				for _, e := range t.Events {
					if _, ok := covered[e]; !ok {
						covered[e] = t
					}
				}
			}
		}
		// A `when` after one that always fires never does; the moves the
		// compiler adds for cells (the default to develop, the hand-off of
		// advance) come last by design and are not reported.
		for i, t := range s.When {
			if !alwaysTrue(t.Guard) {
				continue
			}
			for _, later := range s.When[i+1:] {
				if later.Origin == "undecided" || later.Origin == "advance" {
					continue
				}
				f, span := c.fileSpan(later.Pos)
				pf, pspan := c.fileSpan(t.Pos)
				c.warnf(f, span, CodeShadowed, "this automatic transition never fires: an earlier one always does").
					related(pf, pspan, "the earlier transition, which always holds").
					help("order transitions from the most specific condition to the least")
			}
			break
		}
		for _, h := range s.Handlers {
			for _, e := range h.Events {
				if prev, ok := covered[e]; ok {
					f, span := c.fileSpan(h.Pos)
					pf, pspan := c.fileSpan(prev.Pos)
					c.warnf(f, span, CodeShadowed, "this handler never runs on %s: a transition on it always fires first", e).
						related(pf, pspan, "the transition, which always holds").
						help("move these actions into the transition: `on %s -> STAGE { ACTIONS }`", e)
					break
				}
			}
		}
	}
}

// checkUnused reports declarations nothing refers to. A reference from a
// declaration that is itself unused still counts (a team used only by an
// unused routing is not reported; the routing is), so each finding is a
// root to remove.
func (c *compilation) checkUnused() {
	used := map[*Symbol]bool{}
	for _, r := range c.index.Refs {
		if !r.InTest {
			used[r.Symbol] = true
		}
	}
	for _, s := range c.index.Symbols {
		switch s.Kind {
		case SymEvent, SymRole, SymTeam, SymRouting, SymCalendar:
		default:
			continue
		}
		if s.Std || s.File != c.main || used[s] {
			continue
		}
		c.warnf(s.File, s.Span, CodeUnused, "%s `%s` is declared but never used", s.Kind, s.Name).
			help("remove it, or refer to it where it is meant to apply")
	}
}

// hasExprErrors reports whether a rule's condition failed to check; its
// routing is then not judged for exhaustiveness.
func (c *compilation) hasExprErrors(rules []ir.Rule) bool {
	for _, r := range rules {
		if j := c.jobOf[r.When]; j != nil && (j.checked == nil || j.diags.HasErrors()) {
			return true
		}
	}
	return false
}
