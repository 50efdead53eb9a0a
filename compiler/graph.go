package compiler

import (
	"sort"
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
	for i := range w.Stages {
		s := &w.Stages[i]
		f, span := c.fileSpan(s.Pos)
		if s.Terminal {
			c.checkTerminal(s, f, span)
			continue
		}
		if s.Owner.Accountable == "" {
			c.errorf(f, span, CodeAccountable, "stage %s has no accountable owner", s.Name).
				help("every step has one accountable owner: add `owner { accountable ROLE }` to the stage, its cell, or the workflow")
		}
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
}

// alwaysTrue reports whether a guard is absent or literally `true`.
func alwaysTrue(g *ir.Expr) bool { return g == nil || strings.TrimSpace(g.Src) == "true" }

// checkAutoCycles finds cycles made only of automatic transitions whose
// guards are all literally true: a lead entering one would loop forever.
func (c *compilation) checkAutoCycles() {
	next := map[string][]ir.Transition{}
	for _, s := range c.w.Stages {
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
				c.errorf(f, span, CodeAutoCycle, "automatic transitions loop forever: %s", strings.Join(cycle, " -> ")).
					help("give one of these `when` transitions a condition that becomes false")
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

// checkRoutings requires an `else` unless the rules cover every value of
// one enum field (`lead.region == "emea"`, `lead.region in ["na", "latam"]`).
func (c *compilation) checkRoutings() {
	for _, r := range c.w.Routings {
		if len(r.Rules) == 0 || r.Rules[len(r.Rules)-1].When == nil {
			continue
		}
		if c.enumExhaustive(r.Rules) {
			continue
		}
		f, span := c.fileSpan(r.Pos)
		c.errorf(f, span, CodeNotExhaustve, "routing `%s` has no `else` and its rules may all fail", r.Name).
			help("add `else -> TARGET` so every lead gets an owner, or cover every value of an enum field")
	}
}

func (c *compilation) enumExhaustive(rules []ir.Rule) bool {
	field := ""
	covered := map[string]bool{}
	for _, r := range rules {
		j := c.jobOf[r.When]
		if j == nil || j.checked == nil {
			return false
		}
		a := j.checked.NativeRep()
		name, values, ok := enumTest(a, a.Expr())
		if !ok || (field != "" && name != field) {
			return false
		}
		field = name
		for _, v := range values {
			covered[v] = true
		}
	}
	f := c.w.Field(field)
	if f == nil || f.Type.Kind != ir.Enum || f.Optional {
		return false
	}
	for _, v := range f.Type.Enum {
		if !covered[v] {
			return false
		}
	}
	return true
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

// edges returns each stage's successors; workflow-level exception handlers
// can move a lead from any stage.
func (c *compilation) edges() map[string][]string {
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
	for _, s := range c.w.Stages {
		if !s.Terminal {
			out[s.Name] = append(out[s.Name], anywhere...)
		}
	}
	return out
}

func (c *compilation) checkReachability() {
	w := c.w
	succ := c.edges()
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
	pred := map[string][]string{}
	for from, tos := range succ {
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
			c.warnf(f, span, CodeWaitsForever, "a lead can wait in %s forever", s.Name).
				help("no lead left behind: add `after DURATION -> STAGE`, an `sla`, or an automatic transition that always decides")
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
	if len(s.After) > 0 || len(s.SLAs) > 0 {
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
					related(pf, pspan, "the earlier transition, with no condition").
					help("order transitions from the most specific condition to the least")
			}
			if t.Guard == nil {
				for _, e := range t.Events {
					if _, ok := covered[e]; !ok {
						covered[e] = t
					}
				}
			}
		}
		for _, h := range s.Handlers {
			for _, e := range h.Events {
				if prev, ok := covered[e]; ok {
					f, span := c.fileSpan(h.Pos)
					pf, pspan := c.fileSpan(prev.Pos)
					c.warnf(f, span, CodeShadowed, "this handler never runs on %s: a transition on it always fires first", e).
						related(pf, pspan, "the transition, with no condition")
					break
				}
			}
		}
	}
}

func (c *compilation) checkUnused() {
	type decl struct {
		kind, name string
		f          *lang.File
		span       lang.Span
	}
	var all []decl
	for _, e := range c.events {
		if e.qual == "" {
			all = append(all, decl{"event", e.node.Name.Name, e.file, e.node.Name.Span()})
		}
	}
	for _, r := range c.roles {
		if r.qual == "" {
			all = append(all, decl{"role", r.node.Name.Name, r.file, r.node.Name.Span()})
		}
	}
	for _, t := range c.teams {
		if t.qual == "" {
			all = append(all, decl{"team", t.node.Name.Name, t.file, t.node.Name.Span()})
		}
	}
	for _, r := range c.routings {
		if r.qual == "" {
			all = append(all, decl{"routing", r.node.Name.Name, r.file, r.node.Name.Span()})
		}
	}
	for _, cal := range c.calendars {
		if cal.qual == "" {
			all = append(all, decl{"calendar", cal.node.Name.Name, cal.file, cal.node.Name.Span()})
		}
	}
	// Calendar names passed to business-hours functions count as uses.
	for _, j := range c.exprs {
		for _, name := range j.calendars {
			c.used["calendar:"+name] = true
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].span.Start < all[j].span.Start })
	for _, d := range all {
		if !c.used[d.kind+":"+d.name] {
			c.warnf(d.f, d.span, CodeUnused, "%s `%s` is declared but never used", d.kind, d.name).
				help("remove it, or refer to it where it is meant to apply")
		}
	}
}
