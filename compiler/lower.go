package compiler

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib/celenv"

	"github.com/leadlang/lead/internal/suggest"
)

// raciSlots are the owners a `notify` can name instead of a role.
var raciSlots = []string{"responsible", "accountable", "consulted", "informed"}

// cellParts are the three stages a cell expands to (the language reference §12).
var cellParts = []string{"assess", "advance", "develop"}

// lower builds the IR's handlers, scores, exceptions and stages: cells
// expand to their three stages and owner defaults flow workflow → cell →
// stage.
func (c *compilation) lower() {
	c.lowerStart()
	var wfOwner partialOwner
	if len(c.owners) > 0 {
		wfOwner = c.ownerBlock(c.owners[0].file, c.owners[0].node)
	}
	c.lowerWorkflowHandlers()
	// Stages and cells in source order.
	type item struct {
		off   int
		stage *at[*lang.Stage]
		cell  *at[*lang.Cell]
	}
	var items []item
	for i := range c.stages {
		items = append(items, item{off: c.stages[i].node.Span().Start, stage: &c.stages[i]})
	}
	for i := range c.cells {
		items = append(items, item{off: c.cells[i].node.Span().Start, cell: &c.cells[i]})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].off < items[j].off })
	for _, it := range items {
		if it.stage != nil {
			if c.targets[it.stage.qual+it.stage.node.Name.Name].stage != it.stage {
				continue // duplicate, reported
			}
			c.lowerStage(it.stage, wfOwner)
		} else {
			if c.targets[it.cell.qual+it.cell.node.Name.Name].cell != it.cell {
				continue
			}
			c.lowerCell(it.cell, wfOwner)
		}
	}
}

func (c *compilation) lowerStart() {
	if len(c.start) == 0 {
		c.errorf(c.main, c.header.Span(), CodeNoStart, "workflow `%s` has no `start`", c.w.Name).
			help("say where captured leads enter: `start STAGE_OR_CELL`")
		return
	}
	for _, extra := range c.start[1:] {
		c.errorf(extra.file, extra.node.Span(), CodeRepeated, "a workflow has one `start`").
			related(c.start[0].file, c.start[0].node.Span(), "the first `start` is here")
	}
	s := c.start[0]
	c.w.Start = c.resolveTarget(s.file, s.node.Target, nil)
	// Starting in an end state would end every lead at capture: certainly
	// a mistake, so an error rather than a lint.
	if t, ok := c.targets[c.w.Start]; ok && t.stage != nil && t.stage.node.Terminal {
		c.errorf(s.file, s.node.Target.Span(), CodeNoStart, "start `%s` is a terminal stage: every captured lead would end at once", c.w.Start).
			help("start where leads are first qualified, e.g. a cell such as `marketing`")
	}
}

// resolveTarget resolves a TARGET: a stage, a cell (its assess), a
// qualified cell stage, or inside a cell a bare assess/advance/develop.
// It returns "" after reporting an unknown target.
func (c *compilation) resolveTarget(f *lang.File, r *lang.Ref, cell *at[*lang.Cell]) string {
	if r.Member == "" {
		if cell != nil && isPart(r.Name) {
			return cell.node.Name.Name + "." + r.Name
		}
		if t, ok := c.targets[r.Name]; ok {
			if t.cell != nil {
				return r.Name + ".assess"
			}
			return r.Name
		}
	} else if t, ok := c.targets[r.Name]; ok {
		if t.cell != nil && isPart(r.Member) {
			return r.Name + "." + r.Member
		}
		if t.cell != nil {
			c.errorf(f, r.Span(), CodeUnknownStage, "cell `%s` has no stage `%s`", r.Name, r.Member).
				suggest(r.Member, cellParts).help("a cell's stages are %s.assess, %s.advance and %s.develop", r.Name, r.Name, r.Name)
			return ""
		}
		c.errorf(f, r.Span(), CodeUnknownStage, "`%s` is a stage, not a cell, so it has no `%s`", r.Name, r.Member).
			help("write `%s`", r.Name)
		return ""
	}
	d := c.errorf(f, r.Span(), CodeUnknownStage, "unknown stage `%s`", r.String()).suggest(r.String(), c.targetNames())
	if isPart(r.Name) && r.Member == "" {
		d.help("a bare `%s` means the cell's own stage only inside a cell", r.Name)
	}
	return ""
}

func isPart(s string) bool { return s == "assess" || s == "advance" || s == "develop" }

func (c *compilation) targetNames() []string {
	var out []string
	for name, t := range c.targets {
		out = append(out, name)
		if t.cell != nil {
			for _, p := range cellParts {
				out = append(out, name+"."+p)
			}
		}
	}
	return out
}

// partialOwner is an owner block's entries before defaults are applied.
type partialOwner struct {
	responsible         *ir.Assignee
	accountable         string
	consulted, informed []string
	hasC, hasI          bool
}

// apply overlays p on defaults d: each kind p states replaces d's. The
// spec says the stage's entries override; lists are not merged, so a stage
// that names its own `informed` informs exactly those roles.
func (p partialOwner) apply(d partialOwner) partialOwner {
	out := d
	if p.responsible != nil {
		out.responsible = p.responsible
	}
	if p.accountable != "" {
		out.accountable = p.accountable
	}
	if p.hasC {
		out.consulted, out.hasC = p.consulted, true
	}
	if p.hasI {
		out.informed, out.hasI = p.informed, true
	}
	return out
}

func (p partialOwner) ir() ir.Owner {
	return ir.Owner{Responsible: p.responsible, Accountable: p.accountable, Consulted: p.consulted, Informed: p.informed}
}

func (c *compilation) ownerBlock(f *lang.File, b *lang.OwnerBlock) partialOwner {
	var p partialOwner
	var accountableAt *lang.OwnerEntry
	var responsibleAt *lang.OwnerEntry
	for _, e := range b.Entries {
		switch e.Kind {
		case "responsible":
			if responsibleAt != nil {
				c.errorf(f, e.Span(), CodeRepeated, "`responsible` is given twice: a stage has one responsible owner").related(f, responsibleAt.Span(), "the first is here")
				continue
			}
			responsibleAt = e
			if e.Role != nil {
				c.errorf(f, e.Role.Span(), CodeOwnerKind, "say what kind of owner `%s` is", e.Role.Name).
					help("write `responsible role %s`, `responsible team %s`, `responsible route %s` or `responsible user EXPR`", e.Role.Name, e.Role.Name, e.Role.Name)
				continue
			}
			if a, ok := c.assignee(f, e.Assignee, celenv.Context{}, nil); ok {
				p.responsible = a
			}
		default:
			// An unknown role is reported once here; its name is kept so
			// that the stage does not also read as having no accountable.
			role, _ := c.raciRole(f, e)
			if role == "" {
				continue
			}
			switch e.Kind {
			case "accountable":
				if accountableAt != nil {
					c.errorf(f, e.Span(), CodeAccountable, "`accountable` is given twice: a stage has exactly one accountable owner").
						related(f, accountableAt.Span(), "the first accountable is here")
					continue
				}
				accountableAt = e
				p.accountable = role
			case "consulted":
				p.consulted, p.hasC = append(p.consulted, role), true
			case "informed":
				p.informed, p.hasI = append(p.informed, role), true
			}
		}
	}
	return p
}

// raciRole resolves the role of an accountable, consulted or informed entry.
func (c *compilation) raciRole(f *lang.File, e *lang.OwnerEntry) (string, bool) {
	if e.Assignee != nil {
		if e.Assignee.Kind == ir.AssignRole {
			return e.Assignee.Name.Name, c.resolveRole(f, e.Assignee.Name, e.Kind)
		}
		kind := map[string]string{ir.AssignTeam: "a team", ir.AssignRoute: "a routing"}[e.Assignee.Kind]
		if kind == "" {
			kind = "a user"
		}
		c.errorf(f, e.Assignee.Span(), CodeOwnerKind, "%s takes a role, not %s", e.Kind, kind).
			help("only `responsible` can be a team, a routing or a user; declare a role for who is %s", e.Kind)
		if e.Assignee.Name != nil {
			return e.Assignee.Name.Name, false
		}
		return "?", false
	}
	return e.Role.Name, c.resolveRole(f, e.Role, e.Kind)
}

// lowerWorkflowHandlers builds the workflow-level handlers, score rules
// (merged in source order, the language reference §9 step 2), scores and exception
// handlers.
func (c *compilation) lowerWorkflowHandlers() {
	type item struct {
		off   int
		on    *at[*lang.On]
		score *at[*lang.Score]
	}
	var items []item
	for i := range c.handlers {
		items = append(items, item{off: c.handlers[i].node.Span().Start, on: &c.handlers[i]})
	}
	for i := range c.scores {
		items = append(items, item{off: c.scores[i].node.Span().Start, score: &c.scores[i]})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].off < items[j].off })
	seenExc := map[string]lang.Span{}
	scored := map[string]lang.Span{}
	for _, it := range items {
		if it.score != nil {
			c.lowerScore(it.score, scored)
			continue
		}
		f, on := it.on.file, it.on.node
		if on.Exception != nil {
			if !c.exceptionKind(f, on.Exception) {
				continue
			}
			if prev, ok := seenExc[on.Exception.Name]; ok {
				c.errorf(f, on.Exception.Span(), CodeRepeated, "exception `%s` is already handled at workflow level", on.Exception.Name).related(f, prev, "the first handler")
				continue
			}
			seenExc[on.Exception.Name] = on.Exception.Span()
			c.w.Exceptions = append(c.w.Exceptions, ir.ExceptionHandler{
				ID: "#exception:" + on.Exception.Name, Kind: on.Exception.Name,
				Actions: c.handlerActions(f, on, nil, celenv.Context{}, nil), Pos: pos(f, on.Span()),
			})
			continue
		}
		if on.Target != nil {
			c.errorf(f, on.Target.Span(), CodeMisplaced, "a workflow-level `on` handler cannot move a lead").
				help("it runs in every stage; write the transition in the stages it applies to")
			continue
		}
		h, ok := c.handler(f, on, nil, noMoveWorkflowHandler)
		if ok {
			c.w.Handlers = append(c.w.Handlers, h)
		}
	}
}

func (c *compilation) exceptionKind(f *lang.File, id *lang.Ident) bool {
	for _, k := range ir.ExceptionKinds {
		if k == id.Name {
			return true
		}
	}
	c.errorf(f, id.Span(), CodeUnknownExc, "unknown exception `%s`", id.Name).suggest(id.Name, ir.ExceptionKinds).
		help("exceptions are sla_breach, no_owner, eval_error and loop")
	return false
}

// handler builds an in-stage or workflow-level `on EVENT [when] { ... }`.
func (c *compilation) handler(f *lang.File, on *lang.On, cell *at[*lang.Cell], mv moves) (ir.Handler, bool) {
	events, ok := c.eventList(f, on.Events)
	h := ir.Handler{Events: events, Pos: pos(f, on.Span())}
	ctx := celenv.Context{Events: events}
	var guard *exprJob
	if on.When != nil {
		guard = c.queue(f, on.When, ctx, wantBool, "a handler's condition", nil, nil)
		h.Guard = guard.out
	}
	if on.Actions == nil {
		c.errorf(f, on.Span(), CodeMisplaced, "`on %s` does nothing: add `-> STAGE` or `{ ACTIONS }`", strings.Join(events, ", "))
		return h, false
	}
	h.Actions = c.actions(f, on.Actions, ctx, guard, cell, mv)
	return h, ok
}

// handlerActions lowers an exception handler: `-> TARGET`, `{ ACTIONS }`
// ending in an optional move, or both (the actions run, then the move).
func (c *compilation) handlerActions(f *lang.File, on *lang.On, cell *at[*lang.Cell], ctx celenv.Context, guard *exprJob) []ir.Action {
	var acts []ir.Action
	if on.Actions != nil {
		acts = c.actions(f, on.Actions, ctx, guard, cell, moveLast)
	}
	if on.Target != nil {
		if on.Actions != nil && len(acts) > 0 && acts[len(acts)-1].Kind == ir.ActMove {
			last := acts[len(acts)-1]
			lf, ls := c.fileSpan(last.Pos)
			c.errorf(f, on.Target.Span(), CodeMoveNotLast, "this handler moves the lead twice: to %s here and again at the end of its actions", on.Target.String()).
				related(lf, ls, "the second move").help("keep one of the two moves")
		}
		if t := c.resolveTarget(f, on.Target, cell); t != "" {
			acts = append(acts, ir.Action{Kind: ir.ActMove, Target: t, Pos: pos(f, on.Target.Span())})
		}
	}
	if on.Actions == nil && on.Target == nil {
		c.errorf(f, on.Span(), CodeMisplaced, "an exception handler needs `-> STAGE` or `{ ACTIONS }`")
	}
	return acts
}

func (c *compilation) eventList(f *lang.File, ids []*lang.Ident) ([]string, bool) {
	ok := true
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !c.resolveEvent(f, id) {
			ok = false
			continue
		}
		if seen[id.Name] {
			c.errorf(f, id.Span(), CodeRepeated, "event `%s` is listed twice", id.Name)
			continue
		}
		seen[id.Name] = true
		out = append(out, id.Name)
	}
	return out, ok
}

func (c *compilation) lowerScore(s *at[*lang.Score], seen map[string]lang.Span) {
	f, d := s.file, s.node
	if prev, ok := seen[d.Field.Name]; ok {
		c.errorf(f, d.Field.Span(), CodeDuplicate, "lead.%s already has a score", d.Field.Name).
			related(f, prev, "the first score").help("put all the rules for one field in one score block")
		return
	}
	seen[d.Field.Name] = d.Field.Span()
	field := c.w.Field(d.Field.Name)
	if field == nil {
		c.errorf(f, d.Field.Span(), CodeUnknownField, "unknown lead field `%s`", d.Field.Name).suggest(d.Field.Name, c.fieldNames()).
			help("a score adds to a numeric lead field: declare e.g. `%s int = 0` in `lead { }`", d.Field.Name)
		return
	}
	if field.Type.Kind != ir.Int && field.Type.Kind != ir.Float {
		c.errorf(f, d.Field.Span(), CodeScoreField, "score `%s` needs an int or float field, but lead.%s is %s", d.Field.Name, d.Field.Name, field.Type)
		return
	}
	if field.Optional {
		c.errorf(f, d.Field.Span(), CodeScoreField, "score field lead.%s must not be optional: give it a default such as 0", d.Field.Name)
		return
	}
	sc := ir.Score{Field: field.Name, Float: field.Type.Kind == ir.Float, Pos: pos(f, d.Span())}
	var decaySeen, limitSeen lang.Span
	for _, st := range d.Stmts {
		switch st := st.(type) {
		case *lang.ScoreRule:
			events, ok := c.eventList(f, st.Events)
			amount, err := strconv.ParseFloat(st.Add.String(), 64)
			if err != nil {
				c.errorf(f, st.Add.Span(), CodeBadLiteral, "invalid amount %s", st.Add.String())
				continue
			}
			if !sc.Float && strings.ContainsAny(st.Add.Text, ".eE") {
				c.errorf(f, st.Add.Span(), CodeBadLiteral, "lead.%s is an int: add a whole number", field.Name)
				continue
			}
			h := ir.Handler{Events: events, Score: &ir.ScoreAdd{Field: field.Name, Amount: amount}, Pos: pos(f, st.Span())}
			if st.When != nil {
				h.Guard = c.queue(f, st.When, celenv.Context{Events: events}, wantBool, "a score rule's condition", nil, nil).out
			}
			if ok {
				c.w.Handlers = append(c.w.Handlers, h)
			}
		case *lang.Decay:
			if decaySeen != (lang.Span{}) {
				c.errorf(f, st.Span(), CodeRepeated, "a score has one decay").related(f, decaySeen, "first decay")
				continue
			}
			decaySeen = st.Span()
			p, ok := c.percent(f, st.Percent, 1, 100)
			dec := &ir.Decay{Percent: p}
			if st.Calendar != nil {
				dec.Calendar = c.calendarRef(f, st.Calendar)
			}
			every, _, ok2 := c.durationOn(f, st.Every, st.Calendar, dec.Calendar)
			if !ok || !ok2 {
				continue
			}
			dec.Every = every
			sc.Decay = dec
		case *lang.Limit:
			// An int score clamps to whole numbers; decay rounds down
			// (the language reference §11), so fractional bounds would never be met.
			if limitSeen != (lang.Span{}) {
				c.errorf(f, st.Span(), CodeRepeated, "a score has one limit").related(f, limitSeen, "first limit")
				continue
			}
			limitSeen = st.Span()
			lo, err1 := strconv.ParseFloat(st.Min.String(), 64)
			hi, err2 := strconv.ParseFloat(st.Max.String(), 64)
			if err1 != nil || err2 != nil || lo > hi {
				c.errorf(f, st.Span(), CodeBadLiteral, "limit %s..%s is empty: the minimum must not exceed the maximum", st.Min.String(), st.Max.String())
				continue
			}
			if !sc.Float && (strings.ContainsAny(st.Min.Text, ".eE") || strings.ContainsAny(st.Max.Text, ".eE")) {
				c.errorf(f, st.Span(), CodeBadLiteral, "lead.%s is an int: its limit is whole numbers", field.Name)
				continue
			}
			sc.Min, sc.Max = &lo, &hi
		}
	}
	c.w.Scores = append(c.w.Scores, sc)
}

func (c *compilation) fieldNames() []string {
	var out []string
	for _, f := range c.w.Lead {
		out = append(out, f.Name)
	}
	return out
}

func (c *compilation) percent(f *lang.File, p *lang.Percent, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(p.Text, "%"))
	if err != nil || n < lo || n > hi {
		c.errorf(f, p.Span(), CodePercent, "percentage %s is out of range: use %d%% to %d%%", p.Text, lo, hi)
		return 0, false
	}
	return n, true
}

func (c *compilation) duration(f *lang.File, d *lang.Duration) (ir.Duration, bool) {
	v, err := ir.ParseDuration(d.Text)
	if errors.Is(err, ir.ErrBusinessDays) {
		c.errorf(f, d.Span(), CodeDuration, "`%s` counts business days, which only a calendar defines, and there is none here", d.Text).
			help("write it in hours or days of the clock, e.g. `%s`", strings.ReplaceAll(d.Text, "bd", "d"))
		return 0, false
	}
	if err != nil {
		c.errorf(f, d.Span(), CodeDuration, "%v", err)
		return 0, false
	}
	if v <= 0 {
		c.errorf(f, d.Span(), CodeDuration, "duration %s is zero: use a positive duration", d.Text)
		return 0, false
	}
	return ir.Duration(v), true
}

// durationOn checks a duration measured on calendar ref, whose name is cal
// ("" when ref is nil, the wall clock, or when ref names no calendar: that
// is reported already). A business day (`3bd`) is the calendar's working
// day, which all its working days must share; a day or a week on a
// calendar is 24 or 168 working hours, several business days, which W007
// points out. written is the literal when it counts business days.
func (c *compilation) durationOn(f *lang.File, d *lang.Duration, ref *lang.Ref, cal string) (v ir.Duration, written string, ok bool) {
	if ref == nil {
		v, ok = c.duration(f, d)
		return v, "", ok
	}
	if cal == "" {
		return 0, "", false // the unknown calendar is reported
	}
	day, uniform := c.dayLength(cal)
	if day == 0 { // the calendar is invalid, and reported
		if ir.UsesBusinessDays(d.Text) {
			return 0, "", false
		}
		v, ok = c.duration(f, d)
		return v, "", ok
	}
	if ir.UsesBusinessDays(d.Text) && !uniform {
		c.errorf(f, d.Span(), CodeDuration, "`%s` counts business days, but the working days of calendar %s are not all as long", d.Text, cal).
			help("write the length in working hours: a business day is a fixed amount of working time only on a calendar whose working days are all as long")
		return 0, "", false
	}
	if !uniform {
		day = 0
	}
	n, err := ir.ParseWorkingDuration(d.Text, day)
	switch {
	case err != nil:
		c.errorf(f, d.Span(), CodeDuration, "%v", err)
		return 0, "", false
	case n <= 0:
		c.errorf(f, d.Span(), CodeDuration, "duration %s is zero: use a positive duration", d.Text)
		return 0, "", false
	}
	v = ir.Duration(n)
	if ir.UsesDays(d.Text) {
		hours := ir.DurationOn(v, cal)
		w := c.warnf(f, d.Span(), CodeCalendarDays, "on calendar %s, `%s` is %s of working time, not %s of the clock", cal, d.Text, hours, d.Text)
		if uniform {
			bd := fmt.Sprintf("%dbd", time.Duration(v)/day)
			if rest := time.Duration(v) % day; rest != 0 {
				bd += ir.DurationOn(ir.Duration(rest), cal)
			}
			w.help("a day on a calendar is 24 working hours (%s); write `%s` in business days, or `%s`", businessDays(ir.Day, day), bd, hours)
		} else {
			w.help("a day on a calendar is 24 working hours; write the working time in hours, `%s`", hours)
		}
	}
	if ir.UsesBusinessDays(d.Text) {
		written = d.Text
	}
	return v, written, true
}

// length lowers the length of an `after` or an SLA: a duration d on the
// statement's calendar (ref, resolved to cal), or a choice ch whose rules
// each take their own calendar, else the statement's. For a choice the
// fixed length returned is its else rule's, and choices holds every rule.
func (c *compilation) length(f *lang.File, d *lang.Duration, ch *lang.Choice, ref *lang.Ref, cal string) (v ir.Duration, written, calendar string, choices []ir.Choice, ok bool) {
	if ch == nil {
		v, written, ok = c.durationOn(f, d, ref, cal)
		return v, written, cal, nil, ok
	}
	ok = true
	for i, r := range ch.Rules {
		if r.Else && i != len(ch.Rules)-1 {
			c.errorf(f, lang.Span{Start: r.Span().Start, End: r.Span().Start + len("else")}, CodeMisplaced,
				"`else` must be the last rule of a choice: the rules after it never apply")
			ok = false
		}
		rule := ir.Choice{Pos: pos(f, r.Span())}
		if r.When != nil {
			rule.When = c.queue(f, r.When, celenv.Context{}, wantBool, "a choice's condition", nil, nil).out
		}
		rref, rcal := ref, cal
		if r.Calendar != nil {
			rref, rcal = r.Calendar, c.calendarRef(f, r.Calendar)
		}
		rule.Calendar = rcal
		var rok bool
		if rule.Length, rule.Written, rok = c.durationOn(f, r.Duration, rref, rcal); !rok {
			ok = false
		}
		choices = append(choices, rule)
	}
	hasElse := false
	for _, r := range ch.Rules {
		hasElse = hasElse || r.Else
	}
	if !hasElse {
		c.errorf(f, ch.Span(), CodeNotExhaustve, "this choice has no `else`: a lead for which no condition holds would have no length").
			help("end it with `else -> DURATION`, the length of every other lead")
		ok = false
	}
	if !ok {
		return 0, "", "", nil, false
	}
	e := choices[len(choices)-1]
	return e.Length, e.Written, e.Calendar, choices, true
}

// businessDays says how many business days of length day v is: "3
// business days of 8h", "over 2 business days of 8h30m".
func businessDays(v, day time.Duration) string {
	n := v / day
	switch {
	case n == 0:
		return "less than a business day of " + ir.FormatDuration(ir.Duration(day))
	case v%day != 0:
		return fmt.Sprintf("over %d %s of %s", n, plural(int(n), "business day", "business days"), ir.FormatDuration(ir.Duration(day)))
	}
	return fmt.Sprintf("%d %s of %s", n, plural(int(n), "business day", "business days"), ir.FormatDuration(ir.Duration(day)))
}

// dayLength is the working time of calendar cal's longest working day, and
// whether all its working days are as long.
func (c *compilation) dayLength(cal string) (time.Duration, bool) {
	ic := c.w.Calendar(cal)
	if ic == nil {
		return 0, false
	}
	built, err := ic.Build()
	if err != nil {
		return 0, false
	}
	return built.DayLength()
}

// stageBuilder accumulates one stage's statements.
type stageBuilder struct {
	c     *compilation
	f     *lang.File
	st    *ir.Stage
	cell  *at[*lang.Cell]
	part  string
	owner partialOwner

	seen       map[string]lang.Span // statements that may appear once
	qualify    []ir.Transition
	disqualify []ir.Transition
	whens      []ir.Transition
	undecided  *lang.Undecided
	advanceTo  string
	accept     *lang.Accept
	reject     []*lang.Reject
	route      *lang.Route
}

func (c *compilation) newStage(f *lang.File, name string, span lang.Span, cell *at[*lang.Cell], part string) *stageBuilder {
	return &stageBuilder{c: c, f: f, cell: cell, part: part, seen: map[string]lang.Span{},
		st: &ir.Stage{Name: name, Part: part, Pos: pos(f, span)}}
}

// once reports a repeated statement that may appear once per stage.
func (b *stageBuilder) once(kind string, span lang.Span) bool {
	if prev, ok := b.seen[kind]; ok {
		b.c.errorf(b.f, span, CodeRepeated, "`%s` appears twice in %s", kind, b.st.Name).related(b.f, prev, "the first is here")
		return false
	}
	b.seen[kind] = span
	return true
}

func (c *compilation) lowerStage(s *at[*lang.Stage], wf partialOwner) {
	name := s.qual + s.node.Name.Name
	b := c.newStage(s.file, name, s.node.Name.Span(), nil, "")
	b.st.Terminal = s.node.Terminal
	for _, st := range s.node.Stmts {
		b.stmt(st)
	}
	b.finish(wf)
}

func (c *compilation) lowerCell(cl *at[*lang.Cell], wf partialOwner) {
	f, d := cl.file, cl.node
	cellOwner := wf
	parts := map[string]lang.CellPart{}
	for _, p := range d.Parts {
		kind := ""
		switch p := p.(type) {
		case *lang.OwnerBlock:
			kind = "owner"
			if _, dup := parts[kind]; !dup {
				cellOwner = c.ownerBlock(f, p).apply(wf)
			}
		case *lang.Assess:
			kind = "assess"
		case *lang.Advance:
			kind = "advance"
		case *lang.Develop:
			kind = "develop"
		}
		if prev, dup := parts[kind]; dup {
			c.errorf(f, p.Span(), CodeRepeated, "cell `%s` has two `%s` parts", d.Name.Name, kind).related(f, prev.Span(), "the first is here")
			continue
		}
		parts[kind] = p
	}
	for _, part := range cellParts {
		p, ok := parts[part]
		if !ok {
			c.errorf(f, d.Name.Span(), CodeMisplaced, "cell `%s` has no `%s`", d.Name.Name, part).
				help("a cell has all three parts: assess { ... }, advance -> TARGET, develop { ... }")
			continue
		}
		// A cell stage's position is its part keyword (`assess`), so that
		// diagnostics about the stage underline a word, not a block.
		kw := lang.Span{Start: p.Span().Start, End: p.Span().Start + len(part)}
		b := c.newStage(f, d.Name.Name+"."+part, kw, cl, part)
		b.st.Cell = d.Name.Name
		switch p := p.(type) {
		case *lang.Assess:
			for _, st := range p.Stmts {
				b.stmt(st)
			}
		case *lang.Advance:
			b.advanceTo = c.resolveTarget(f, p.Target, cl)
			for _, st := range p.Stmts {
				b.stmt(st)
			}
		case *lang.Develop:
			for _, st := range p.Stmts {
				b.stmt(st)
			}
		}
		b.finish(cellOwner)
	}
}

// misplaced reports a cell statement outside its part.
func (b *stageBuilder) misplaced(span lang.Span, kw, part string) {
	where := "a plain stage"
	if b.part != "" {
		where = "a cell's " + b.part
	}
	b.c.errorf(b.f, span, CodeMisplaced, "`%s` belongs in a cell's %s, not in %s", kw, part, where)
}

func (b *stageBuilder) stmt(st lang.StageStmt) {
	c, f, s := b.c, b.f, b.st
	switch st := st.(type) {
	case *lang.Lifecycle:
		if b.once("lifecycle", st.Span()) {
			s.Lifecycle = st.Name.Name
			c.lifecycles[s.Name] = fileSpan{f, st.Name.Span()}
		}
	case *lang.OwnerBlock:
		if b.once("owner", st.Span()) {
			b.owner = c.ownerBlock(f, st)
		}
	case *lang.EnterExit:
		if !b.once(st.Kind, st.Span()) {
			return
		}
		mv := moveLast
		if st.Kind == "exit" {
			mv = noMoveInExit
		}
		acts := c.actions(f, st.Actions, celenv.Context{}, nil, b.cell, mv)
		if st.Kind == "enter" {
			s.Enter = acts
		} else {
			s.Exit = acts
		}
	case *lang.On:
		b.on(st)
	case *lang.When:
		guard := c.queue(f, st.Cond, celenv.Context{}, wantBool, "a `when` condition", nil, nil)
		t := ir.Transition{Guard: guard.out, Pos: pos(f, st.Span())}
		t.Target = c.resolveTarget(f, st.Target, b.cell)
		if st.Actions != nil {
			t.Actions = c.actions(f, st.Actions, celenv.Context{}, guard, b.cell, noMoveInTransition)
		}
		b.whens = append(b.whens, t)
	case *lang.After:
		t := ir.Timeout{Pos: pos(f, st.Span())}
		cal := ""
		if st.Calendar != nil {
			cal = c.calendarRef(f, st.Calendar)
		}
		var ok bool
		if t.After, t.Written, t.Calendar, t.Choices, ok = c.length(f, st.Duration, st.Choice, st.Calendar, cal); !ok {
			return
		}
		t.Target = c.resolveTarget(f, st.Target, b.cell)
		if st.Actions != nil {
			t.Actions = c.actions(f, st.Actions, celenv.Context{}, nil, b.cell, noMoveInTransition)
		}
		s.After = append(s.After, t)
	case *lang.SLA:
		b.sla(st)
	case *lang.Disqualify:
		if b.part != "assess" {
			b.misplaced(st.Span(), "disqualify", "assess")
			return
		}
		guard := c.queue(f, st.Cond, celenv.Context{}, wantBool, "a disqualify condition", nil, nil)
		b.disqualify = append(b.disqualify, ir.Transition{Guard: guard.out, Target: c.resolveTarget(f, st.Target, b.cell), Origin: "disqualify", Pos: pos(f, st.Span())})
	case *lang.Qualify:
		if b.part != "assess" {
			b.misplaced(st.Span(), "qualify", "assess")
			return
		}
		if !b.once("qualify", st.Span()) {
			return
		}
		guard := c.queue(f, st.Cond, celenv.Context{}, wantBool, "the qualify condition", nil, nil)
		b.qualify = append(b.qualify, ir.Transition{Guard: guard.out, Target: b.cell.node.Name.Name + ".advance", Origin: "qualify", Pos: pos(f, st.Span())})
	case *lang.Undecided:
		if b.part != "assess" {
			b.misplaced(st.Span(), "undecided", "assess")
			return
		}
		if b.once("undecided", st.Span()) {
			b.undecided = st
		}
	case *lang.Route:
		if b.part != "advance" {
			b.misplaced(st.Span(), "route", "advance")
			return
		}
		if b.once("route", st.Span()) && c.resolveRouting(f, st.Routing) {
			b.route = st
		}
	case *lang.Accept:
		if b.part != "advance" {
			b.misplaced(st.Span(), "accept", "advance")
			return
		}
		if b.once("accept", st.Span()) {
			b.accept = st
			events, _ := c.eventList(f, st.Events)
			s.On = append(s.On, ir.Transition{Events: events, Target: b.advanceTo, Origin: "accept", Pos: pos(f, st.Span())})
		}
	case *lang.Reject:
		if b.part != "advance" {
			b.misplaced(st.Span(), "reject", "advance")
			return
		}
		b.reject = append(b.reject, st)
		events, _ := c.eventList(f, st.Events)
		to := b.cell.node.Name.Name + ".develop"
		if st.Target != nil {
			to = c.resolveTarget(f, st.Target, b.cell)
		}
		s.On = append(s.On, ir.Transition{Events: events, Target: to, Origin: "reject", Pos: pos(f, st.Span())})
	case *lang.Nurture:
		if b.part != "develop" {
			b.misplaced(st.Span(), "nurture", "develop")
			return
		}
		if !b.once("nurture", st.Span()) {
			return
		}
		n := &ir.Nurture{Pos: pos(f, st.Span())}
		if st.Calendar != nil {
			n.Calendar = c.calendarRef(f, st.Calendar)
		}
		var ok bool
		if n.Every, _, ok = c.durationOn(f, st.Every, st.Calendar, n.Calendar); !ok {
			return
		}
		if st.Message != nil {
			n.Message = c.queue(f, st.Message, celenv.Context{}, wantString, "a nurture message", nil, nil).out
		}
		s.Nurture = n
	case *lang.Reassess:
		if b.part != "develop" {
			b.misplaced(st.Span(), "reassess", "develop")
			return
		}
		events, _ := c.eventList(f, st.Events)
		s.On = append(s.On, ir.Transition{Events: events, Target: b.cell.node.Name.Name + ".assess", Origin: "reassess", Pos: pos(f, st.Span())})
	case *lang.Recycle:
		if b.part != "develop" {
			b.misplaced(st.Span(), "recycle", "develop")
			return
		}
		t := ir.Timeout{Target: c.resolveTarget(f, st.Target, b.cell), Origin: "recycle", Pos: pos(f, st.Span())}
		if st.Calendar != nil {
			t.Calendar = c.calendarRef(f, st.Calendar)
		}
		var ok bool
		if t.After, t.Written, ok = c.durationOn(f, st.After, st.Calendar, t.Calendar); !ok {
			return
		}
		s.After = append(s.After, t)
	}
}

func (b *stageBuilder) on(st *lang.On) {
	c, f, s := b.c, b.f, b.st
	if st.Exception != nil {
		if !c.exceptionKind(f, st.Exception) || !b.once("on exception "+st.Exception.Name, st.Exception.Span()) {
			return
		}
		s.Exceptions = append(s.Exceptions, ir.ExceptionHandler{
			ID: s.Name + "#exception:" + st.Exception.Name, Kind: st.Exception.Name,
			Actions: c.handlerActions(f, st, b.cell, celenv.Context{}, nil), Pos: pos(f, st.Span()),
		})
		return
	}
	// A lead is captured before it enters the start stage (the language
	// reference, §9), so no stage ever handles `captured`.
	for _, e := range st.Events {
		if e.Name == ir.EventCaptured {
			c.errorf(f, e.Span(), CodeMisplaced, "a stage never sees `captured`: a lead is captured before it enters its first stage").
				help("handle it at workflow level, `on captured { ... }`, or act in the start stage's `enter`")
			return
		}
	}
	if st.Target == nil {
		if h, ok := c.handler(f, st, b.cell, noMoveInHandler); ok {
			s.Handlers = append(s.Handlers, h)
		}
		return
	}
	events, _ := c.eventList(f, st.Events)
	ctx := celenv.Context{Events: events}
	t := ir.Transition{Events: events, Pos: pos(f, st.Span())}
	var guard *exprJob
	if st.When != nil {
		guard = c.queue(f, st.When, ctx, wantBool, "a transition's condition", nil, nil)
		t.Guard = guard.out
	}
	t.Target = c.resolveTarget(f, st.Target, b.cell)
	if st.Actions != nil {
		t.Actions = c.actions(f, st.Actions, ctx, guard, b.cell, noMoveInTransition)
	}
	s.On = append(s.On, t)
}

func (b *stageBuilder) sla(st *lang.SLA) {
	c, f, s := b.c, b.f, b.st
	for _, other := range s.SLAs {
		if other.Name == st.Name.Name {
			of, os := c.fileSpan(other.Pos)
			c.errorf(f, st.Name.Span(), CodeDuplicate, "stage %s has two SLAs named `%s`", s.Name, st.Name.Name).
				related(of, os, "the first SLA `%s`", other.Name).help("name each SLA of a stage differently, e.g. `%s_2`", st.Name.Name)
			return
		}
	}
	sla := ir.SLA{ID: s.Name + "#sla:" + st.Name.Name, Name: st.Name.Name, Clock: st.Clock, Pos: pos(f, st.Span())}
	cal := ""
	if st.Calendar != nil {
		cal = c.calendarRef(f, st.Calendar)
	}
	var ok bool
	if sla.Within, sla.Written, sla.Calendar, sla.Choices, ok = c.length(f, st.Within, st.Choice, st.Calendar, cal); !ok {
		return
	}
	// The shortest length the lead may choose: `warn at D` comes before it.
	shortest := sla.Within
	for _, ch := range sla.Choices {
		shortest = min(shortest, ch.Length)
	}
	sla.Until, _ = c.eventList(f, st.Until)
	var warnAt, breachAt lang.Span
	for _, cl := range st.Clauses {
		switch cl := cl.(type) {
		case *lang.Warn:
			// `warn at P` must fall inside the SLA: 1% to 99%; `warn at D`
			// strictly before `within`.
			if warnAt != (lang.Span{}) {
				c.errorf(f, cl.Span(), CodeRepeated, "an SLA has one `warn`").related(f, warnAt, "the first is here").
					help("for an escalation ladder, write several SLAs with different deadlines")
				continue
			}
			warnAt = cl.Span()
			w := &ir.Warn{Pos: pos(f, cl.Span())}
			if cl.Percent != nil {
				p, err := strconv.Atoi(strings.TrimSuffix(cl.Percent.Text, "%"))
				switch {
				case err != nil || p >= 100:
					c.errorf(f, cl.Percent.Span(), CodeWarnAt, "warn at %s is not before the SLA ends", cl.Percent.Text).
						help("warn while there is still time to act, e.g. at 75%%")
					continue
				case p <= 0:
					c.errorf(f, cl.Percent.Span(), CodePercent, "warn at 0%% would warn the moment the SLA starts").
						help("warn at 1%% to 99%% of the SLA, e.g. at 50%%")
					continue
				}
				w.Percent = p
			} else {
				d, _, ok := c.durationOn(f, cl.Duration, st.Calendar, cal)
				if !ok {
					continue
				}
				if d >= shortest {
					ends := "the shortest length the lead may choose is " + ir.FormatDuration(shortest)
					if st.Within != nil {
						ends = "within " + st.Within.Text
					}
					c.errorf(f, cl.Duration.Span(), CodeWarnAt, "warn at %s is not before the SLA ends (%s)", cl.Duration.Text, ends).
						help("warn while there is still time to act, e.g. at 75%%")
					continue
				}
				w.At = d
			}
			w.Actions = c.actions(f, cl.Actions, celenv.Context{}, nil, b.cell, moveLast)
			sla.Warn = w
		case *lang.Breach:
			if breachAt != (lang.Span{}) {
				c.errorf(f, cl.Span(), CodeRepeated, "an SLA has one `breach`").related(f, breachAt, "the first is here")
				continue
			}
			breachAt = cl.Span()
			sla.HasBreach = true
			sla.Breach = c.actions(f, cl.Actions, celenv.Context{}, nil, b.cell, moveLast)
		}
	}
	s.SLAs = append(s.SLAs, sla)
}

// finish applies cell semantics and owner defaults, assigns edge IDs and
// adds the stage to the workflow.
func (b *stageBuilder) finish(defaults partialOwner) {
	c, s := b.c, b.st
	switch b.part {
	case "assess":
		// Decide on entry and after every event: disqualify rules, qualify,
		// the stage's own `when`s, then (unless a human qualifies the lead
		// within `undecided after`) develop at once.
		whens := append(append(b.disqualify, b.qualify...), b.whens...)
		if b.undecided != nil {
			u := b.undecided
			t := ir.Timeout{Target: b.cell.node.Name.Name + ".develop", Origin: "undecided", Pos: pos(b.f, u.Span())}
			if u.Calendar != nil {
				t.Calendar = c.calendarRef(b.f, u.Calendar)
			}
			var ok bool
			if t.After, t.Written, ok = c.durationOn(b.f, u.After, u.Calendar, t.Calendar); ok {
				if u.Target != nil {
					t.Target = c.resolveTarget(b.f, u.Target, b.cell)
				}
				s.After = append(s.After, t)
			}
		} else {
			whens = append(whens, ir.Transition{Target: b.cell.node.Name.Name + ".develop", Origin: "undecided", Pos: s.Pos})
		}
		b.whens = whens
	case "advance":
		if b.accept == nil {
			if len(b.reject) > 0 {
				c.errorf(b.f, b.reject[0].Span(), CodeMisplaced, "`reject on` needs `accept on`: without it the lead is handed on at once")
			}
			if b.advanceTo != "" {
				b.whens = append(b.whens, ir.Transition{Target: b.advanceTo, Origin: "advance", Pos: s.Pos})
			}
		}
		if b.route != nil && b.owner.responsible != nil {
			rf, rs := c.fileSpan(b.owner.responsible.Pos)
			c.errorf(b.f, b.route.Span(), CodeRepeated, "`route %s` and the owner's `responsible` both say who is responsible in %s", b.route.Routing.Name, s.Name).
				related(rf, rs, "the owner's responsible").help("keep one: `route R` is short for `owner { responsible route R }`")
		}
		if b.route != nil {
			b.owner.responsible = &ir.Assignee{Kind: ir.AssignRoute, Name: b.route.Routing.Name, Pos: pos(b.f, b.route.Span())}
		}
	}
	s.When = b.whens
	s.Owner = b.owner.apply(defaults).ir()
	for i := range s.On {
		s.On[i].ID = fmt.Sprintf("%s#on%d", s.Name, i)
	}
	for i := range s.When {
		s.When[i].ID = fmt.Sprintf("%s#when%d", s.Name, i)
	}
	for i := range s.After {
		s.After[i].ID = fmt.Sprintf("%s#after%d", s.Name, i)
	}
	if s.Nurture != nil {
		s.Nurture.ID = s.Name + "#nurture"
	}
	c.w.Stages = append(c.w.Stages, *s)
}

// moves says whether an action block may end with `-> TARGET` and, if not,
// why, in the words of the error.
type moves struct {
	allowed   bool
	why, help string
}

var (
	// the language reference §8: a move is the last action of enter, warn, breach
	// or an exception handler.
	moveLast           = moves{allowed: true}
	noMoveInTransition = moves{why: "a transition already moves the lead to its target; its actions cannot move it again",
		help: "name the target before the actions: `on EVENT -> STAGE { ACTIONS }`"}
	noMoveInHandler = moves{why: "an `on EVENT { ... }` handler runs its actions without moving the lead",
		help: "to move the lead, write a transition: `on EVENT -> STAGE { ACTIONS }`"}
	noMoveWorkflowHandler = moves{why: "a workflow-level handler runs in every stage and cannot move the lead",
		help: "write the transition in the stages it applies to"}
	noMoveInExit = moves{why: "`exit` actions run while the lead leaves its stage and cannot move it elsewhere",
		help: "move the lead with the transition that leaves the stage, or in the next stage's `enter`"}
)

// actions lowers an action block; mv says whether it may end with a move.
func (c *compilation) actions(f *lang.File, blk *lang.ActionBlock, ctx celenv.Context, guard *exprJob, cell *at[*lang.Cell], mv moves) []ir.Action {
	out := []ir.Action{}
	for i, a := range blk.Actions {
		p := pos(f, a.Span())
		switch a := a.(type) {
		case *lang.Set:
			if a.Field.Name != "lead" || a.Field.Member == "" {
				c.errorf(f, a.Field.Span(), CodeUnknownField, "`set` assigns a lead field: write `set lead.FIELD = VALUE`")
				continue
			}
			if ir.IsBuiltinAttr(a.Field.Member) {
				c.errorf(f, a.Field.Span(), CodeBuiltinAttr, "lead.%s is read-only", a.Field.Member).
					help("move a lead with `-> STAGE`, change its owner with `assign` or `reassign`")
				continue
			}
			field := c.w.Field(a.Field.Member)
			if field == nil {
				c.errorf(f, a.Field.Span(), CodeUnknownField, "lead has no field `%s`", a.Field.Member).suggest(a.Field.Member, c.fieldNames())
				continue
			}
			j := c.queue(f, a.Value, ctx, wantField, "the value of lead."+field.Name, field, guard)
			out = append(out, ir.Action{Kind: ir.ActSet, Field: field.Name, Value: j.out, Pos: p})
		case *lang.Assign:
			if as, ok := c.assignee(f, a.To, ctx, guard); ok {
				out = append(out, ir.Action{Kind: ir.ActAssign, Assign: as, Pos: p})
			}
		case *lang.Reassign:
			out = append(out, ir.Action{Kind: ir.ActReassign, Pos: p})
		case *lang.Notify:
			// A role, or one of the stage's RACI owners; a name close to
			// one of those (`responsibel`) is suggested rather than being
			// reported as an unknown role.
			t := a.Target.Name
			switch t {
			case "responsible", "accountable", "consulted", "informed":
			default:
				if _, ok := c.roleByName[t]; !ok && suggest.Nearest(t, raciSlots) != "" {
					c.errorf(f, a.Target.Span(), CodeUnknownRole, "unknown role `%s`", t).suggest(t, raciSlots).
						help("notify takes a role or one of the stage's owners: responsible, accountable, consulted, informed")
					continue
				}
				if !c.resolveRole(f, a.Target, "notify") {
					continue
				}
			}
			act := ir.Action{Kind: ir.ActNotify, Target: t, Pos: p}
			if a.Message != nil {
				act.Value = c.queue(f, a.Message, ctx, wantString, "a notification message", nil, guard).out
			}
			out = append(out, act)
		case *lang.Escalate:
			act := ir.Action{Kind: ir.ActEscalate, Pos: p}
			if a.Role != nil {
				if !c.resolveRole(f, a.Role, "escalate") {
					continue
				}
				act.Target = a.Role.Name
			} else {
				act.To = c.queue(f, a.To, ctx, wantTarget, "an escalation target", nil, guard).out
			}
			if a.Message != nil {
				act.Value = c.queue(f, a.Message, ctx, wantString, "an escalation message", nil, guard).out
			}
			out = append(out, act)
		case *lang.Move:
			if !mv.allowed {
				c.errorf(f, a.Span(), CodeMoveNotLast, "%s", mv.why).help("%s", mv.help)
				continue
			}
			if i != len(blk.Actions)-1 {
				c.errorf(f, a.Span(), CodeMoveNotLast, "`-> %s` must be the last action of its block", a.Target.String()).
					help("actions after a move would run in the wrong stage")
				continue
			}
			if t := c.resolveTarget(f, a.Target, cell); t != "" {
				out = append(out, ir.Action{Kind: ir.ActMove, Target: t, Pos: p})
			}
		}
	}
	return out
}
