package compiler

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib"
	"github.com/leadlang/lead/stdlib/calendar"
	"github.com/leadlang/lead/stdlib/celenv"
)

// stdDef is a checked standard (the language reference §13).
type stdDef struct {
	name     string
	stages   map[string]bool // non-terminal lifecycle names
	terminal map[string]bool
	all      []string
	requires []requirement
}

// names lists the lifecycle names in set, in the standard's order.
func (d *stdDef) names(set map[string]bool) []string {
	var out []string
	for _, n := range d.all {
		if set[n] {
			out = append(out, n)
		}
	}
	return out
}

// requirement is one `require` of a standard, named as waivers name it:
// "sla.LIFECYCLE" or "accountable".
type requirement struct {
	name      string
	lifecycle string
	within    ir.Duration
	text      string // the duration as written
	f         *lang.File
	span      lang.Span
}

// buildStandard validates a standard declaration.
func (c *compilation) buildStandard(s *at[*lang.Standard]) *stdDef {
	f, d := s.file, s.node
	def := &stdDef{name: s.qual + d.Name.Name, stages: map[string]bool{}, terminal: map[string]bool{}}
	for _, st := range d.Stmts {
		sg, ok := st.(*lang.StandardStages)
		if !ok {
			continue
		}
		for _, n := range sg.Names {
			if def.stages[n.Name] || def.terminal[n.Name] {
				c.errorf(f, n.Span(), CodeStandardInvalid, "lifecycle stage `%s` is listed twice in standard %s", n.Name, def.name)
				continue
			}
			if sg.Terminal {
				def.terminal[n.Name] = true
			} else {
				def.stages[n.Name] = true
			}
			def.all = append(def.all, n.Name)
		}
	}
	for _, st := range d.Stmts {
		r, ok := st.(*lang.Require)
		if !ok {
			continue
		}
		if r.Accountable {
			def.requires = append(def.requires, requirement{name: "accountable", f: f, span: r.Span()})
			continue
		}
		if !def.stages[r.Lifecycle.Name] && !def.terminal[r.Lifecycle.Name] {
			c.errorf(f, r.Lifecycle.Span(), CodeStandardInvalid, "`%s` is not a stage of standard %s", r.Lifecycle.Name, def.name).
				suggest(r.Lifecycle.Name, def.all)
			continue
		}
		within, ok := c.duration(f, r.Within)
		if !ok {
			continue
		}
		def.requires = append(def.requires, requirement{name: "sla." + r.Lifecycle.Name, lifecycle: r.Lifecycle.Name, within: within, text: r.Within.Text, f: f, span: r.Span()})
	}
	return def
}

// slaWithin reports whether an SLA keeps within a requirement's length, in
// calendar-aware terms. An SLA without a calendar compares by its length.
// One on a calendar whose working day is L (its longest) compares with the
// most working time a stretch of the required length holds on it: L for
// each whole day, and up to L of the hours left. So `within 24h` allows
// 8h (one business day) on an 8-hour calendar, not 24h (three), and
// `within 4h` allows 4 working hours.
// An SLA whose length the lead chooses keeps within it if every length
// it may have does.
func (c *compilation) slaWithin(sla *ir.SLA, within ir.Duration) bool {
	for _, l := range sla.Lengths() {
		if !c.lengthWithin(l, within) {
			return false
		}
	}
	return true
}

func (c *compilation) lengthWithin(l ir.Choice, within ir.Duration) bool {
	if l.Calendar == "" {
		return l.Length <= within
	}
	day, _ := c.dayLength(l.Calendar)
	if day <= 0 {
		return l.Length <= within
	}
	wd := ir.Duration(day)
	d := ir.Duration(ir.Day)
	return l.Length <= within/d*wd+min(within%d, wd)
}

func describeLifecycle(lc string) string {
	if lc == "" {
		return "without a lifecycle"
	}
	return "`" + lc + "`"
}

// violation is one stage breaking one requirement.
type violation struct {
	req   requirement
	stage *ir.Stage
	what  string
	at    *ir.Pos // where to point, if not at the stage
}

// checkStandard verifies conformance: every stage maps to a standard stage
// of the same kind, every requirement holds unless waived, and every
// waiver names a requirement that would fail.
func (c *compilation) checkStandard() {
	if c.standard == nil {
		for _, wv := range c.waives {
			c.errorf(wv.file, wv.node.Span(), CodeUselessWaiver, "`waive` needs `conforms STANDARD`: there is nothing to waive")
		}
		return
	}
	def := c.buildStandard(c.standard)
	c.w.Standard = def.name
	for i := range c.w.Stages {
		s := &c.w.Stages[i]
		f, span := c.fileSpan(s.Pos)
		if l, ok := c.lifecycles[s.Name]; ok {
			f, span = l.file, l.span
		}
		switch {
		case s.Lifecycle == "":
			f, span = c.fileSpan(s.Pos)
			where := "the stage"
			if s.Cell != "" {
				where = fmt.Sprintf("the cell's `%s` part", s.Part)
			}
			c.errorf(f, span, CodeNoLifecycle, "stage %s has no lifecycle, but the workflow conforms to %s", s.Name, def.name).
				help("add `lifecycle NAME` to %s; %s has: %s", where, def.name, strings.Join(def.all, ", "))
		case !def.stages[s.Lifecycle] && !def.terminal[s.Lifecycle]:
			c.errorf(f, span, CodeLifecycleName, "`%s` is not a stage of standard %s", s.Lifecycle, def.name).
				suggest(s.Lifecycle, def.all).help("%s has: %s", def.name, strings.Join(def.all, ", "))
		case s.Terminal && !def.terminal[s.Lifecycle]:
			c.errorf(f, span, CodeLifecycleKind, "terminal stage %s maps to `%s`, which is not terminal in %s", s.Name, s.Lifecycle, def.name).
				help("an end state maps to one of %s's terminal stages: %s", def.name, strings.Join(def.names(def.terminal), ", "))
		case !s.Terminal && def.terminal[s.Lifecycle]:
			c.errorf(f, span, CodeLifecycleKind, "stage %s maps to `%s`, which is terminal in %s, but %s is not terminal", s.Name, s.Lifecycle, def.name, s.Name).
				help("map it to one of %s's other stages: %s, or mark the stage terminal", def.name, strings.Join(def.names(def.stages), ", "))
		}
	}
	var violations []violation
	for _, r := range def.requires {
		for i := range c.w.Stages {
			s := &c.w.Stages[i]
			// "every stage" includes end states: a standard that wants
			// someone answerable for won and lost leads says so, and a
			// workflow can waive it.
			if r.name == "accountable" {
				if s.Owner.Accountable == "" {
					violations = append(violations, violation{r, s, "has no accountable owner", nil})
				}
				continue
			}
			if s.Lifecycle != r.lifecycle {
				continue
			}
			// SLAs compare in calendar-aware terms (slaWithin): `within
			// 8h on us_business` meets `require sla on mql within 24h`,
			// `within 24h on us_business` (three business days) does not.
			ok := false
			var longest *ir.SLA
			for k := range s.SLAs {
				sla := &s.SLAs[k]
				ok = ok || c.slaWithin(sla, r.within)
				if longest == nil {
					longest = sla
				}
			}
			switch {
			case ok:
			case longest != nil:
				p := longest.Pos
				// Name the length that breaks it (of a choice, the first).
				l := longest.Lengths()[0]
				for _, x := range longest.Lengths() {
					if !c.lengthWithin(x, r.within) {
						l = x
						break
					}
				}
				allows := ir.DescribeDuration(l.Length, l.Written, l.Calendar)
				if day, uniform := c.dayLength(l.Calendar); uniform && l.Written == "" && time.Duration(l.Length) >= day {
					allows += ", " + businessDays(time.Duration(l.Length), day)
				}
				violations = append(violations, violation{r, s, fmt.Sprintf("has no SLA within %s (%s allows %s)", r.text, longest.Name, allows), &p})
			default:
				violations = append(violations, violation{r, s, fmt.Sprintf("has no SLA within %s", r.text), nil})
			}
		}
	}
	var names []string
	for _, r := range def.requires {
		names = append(names, r.name)
	}
	today := c.opts.Today
	if today.IsZero() {
		today = time.Now()
	}
	todayDate := calendar.Date{Year: today.Year(), Month: today.Month(), Day: today.Day()}
	key := func(v violation) string { return v.req.name + "|" + v.stage.Name }
	waived := map[string]lang.Span{} // violation key -> the waiver covering it
	for _, wv := range c.waives {
		w := wv.node
		name := w.Requirement.Value()
		known := false
		for _, r := range def.requires {
			known = known || r.name == name
		}
		if !known {
			c.errorf(wv.file, w.Requirement.Span(), CodeUnknownRequire, "standard %s has no requirement %q", def.name, name).
				suggest(name, names).help("requirements are named sla.LIFECYCLE and accountable; %s has: %s", def.name, strings.Join(names, ", "))
			continue
		}
		stage := ""
		if w.Stage != nil {
			if t, ok := c.targets[w.Stage.Name]; ok && t.cell != nil && w.Stage.Member == "" {
				c.errorf(wv.file, w.Stage.Span(), CodeUnknownStage, "`%s` is a cell: a waiver names one of its stages", w.Stage.Name).
					help("write `on %s.assess`, `on %s.advance` or `on %s.develop`", w.Stage.Name, w.Stage.Name, w.Stage.Name)
				continue
			}
			if stage = c.resolveTarget(wv.file, w.Stage, nil); stage == "" {
				continue
			}
		}
		until := ""
		if w.Until != nil {
			d, ok := calendar.ParseDate(w.Until.Value())
			if !ok {
				c.errorf(wv.file, w.Until.Span(), CodeDate, "invalid date %s", w.Until.Raw).help("dates are written \"YYYY-MM-DD\": the last day the waiver applies")
				continue
			}
			until = d.String()
			if d.String() < todayDate.String() { // YYYY-MM-DD sorts by date
				c.warnf(wv.file, w.Until.Span(), CodeWaiverExpired, "waiver %q expired on %s: it no longer waives anything", name, until).
					help("meet the requirement, or renew the waiver with a new date and its approval")
				continue
			}
		}
		var matches []violation
		for _, v := range violations {
			if v.req.name == name && (stage == "" || v.stage.Name == stage) {
				matches = append(matches, v)
			}
		}
		var fresh []violation
		for _, v := range matches {
			if _, done := waived[key(v)]; !done {
				fresh = append(fresh, v)
			}
		}
		switch {
		case len(matches) == 0 && stage != "":
			why := "the stage meets that requirement"
			for _, r := range def.requires {
				if st := c.w.Stage(stage); r.name == name && r.lifecycle != "" && st != nil && st.Lifecycle != r.lifecycle {
					why = fmt.Sprintf("%s applies to %s stages, and %s is %s", name, r.lifecycle, stage, describeLifecycle(st.Lifecycle))
				}
			}
			c.errorf(wv.file, w.Stage.Span(), CodeUselessWaiver, "waiver %q waives nothing on %s: %s", name, stage, why).
				help("remove the waiver; waivers record real deviations from the standard")
			continue
		case len(matches) == 0:
			c.errorf(wv.file, w.Requirement.Span(), CodeUselessWaiver, "waiver %q waives nothing: the workflow meets that requirement", name).
				help("remove the waiver; waivers record real deviations from the standard")
			continue
		case len(fresh) == 0:
			d := c.errorf(wv.file, w.Span(), CodeUselessWaiver, "waiver %q waives nothing another waiver does not", name)
			d.related(wv.file, waived[key(matches[0])], "the waiver that covers it")
			continue
		case stage == "" && len(matches) > 1:
			var stages []string
			for _, v := range matches {
				stages = append(stages, v.stage.Name)
			}
			d := c.errorf(wv.file, w.Requirement.Span(), CodeWaiverScope, "waiver %q would cover %d deviations (stages %s): a waiver covers one", name, len(matches), strings.Join(stages, ", ")).
				help("scope it to the stage it was approved for: waive %q \"...\" on %s; each other deviation needs its own waiver", name, stages[0])
			for _, v := range matches {
				f, span := c.fileSpan(v.stage.Pos)
				if v.at != nil {
					f, span = c.fileSpan(*v.at)
				}
				d.related(f, span, "stage %s %s", v.stage.Name, v.what)
			}
			continue
		}
		if strings.TrimSpace(w.Reason.Value()) == "" {
			c.errorf(wv.file, w.Reason.Span(), CodeUselessWaiver, "a waiver needs its justification").
				help("say why and who approved it, e.g. \"China launch: 48h first touch, approved by the CMO 2026-10-01\"")
			continue
		}
		v := fresh[0]
		waived[key(v)] = w.Span()
		// the language reference §13: `lead check` lists every waiver with its reason.
		note := c.report(lang.Note, wv.file, w.Requirement.Span(), CodeWaiver, "requirement %s of %s is waived: %s", name, def.name, w.Reason.Value())
		f, span := c.fileSpan(v.stage.Pos)
		if v.at != nil {
			f, span = c.fileSpan(*v.at)
		}
		note.related(f, span, "stage %s %s", v.stage.Name, v.what)
		c.w.Waivers = append(c.w.Waivers, ir.Waiver{Requirement: name, Reason: w.Reason.Value(), Stage: stage, Until: until, Pos: pos(wv.file, w.Span())})
	}
	for _, v := range violations {
		if _, ok := waived[key(v)]; ok {
			continue
		}
		f, span := c.fileSpan(v.stage.Pos)
		if v.at != nil {
			f, span = c.fileSpan(*v.at)
		}
		c.errorf(f, span, CodeRequirement, "stage %s %s, as standard %s requires (%s)", v.stage.Name, v.what, def.name, v.req.name).
			related(v.req.f, v.req.span, "the requirement").
			help("meet it, or record a justified exception: waive %q \"why, and who approved it\" on %s", v.req.name, v.stage.Name)
	}
}

// reservedFunctions are names a rule cannot take: Lead's and CEL's
// functions and macros, and the test helpers.
var reservedFunctions = []string{
	"bant_count", "escalated", "notified", "stuck", celenv.ManagerOf,
	"has", "size", "all", "exists", "exists_one", "map", "filter", "matches", "contains",
	"int", "uint", "double", "string", "bool", "bytes", "timestamp", "duration", "type", "dyn",
}

// buildRules checks the standard's named rules and adds them to the
// workflow, each used as NAME() in expressions. A rule is an expression
// over the lead and now; it cannot use another rule.
func (c *compilation) buildRules() {
	seen := map[string]lang.Span{}
	reserved := append(stdlib.Names(), reservedFunctions...)
	for _, r := range c.rules {
		f, d := r.file, r.node
		name := d.Name.Name
		if prev, ok := seen[name]; ok {
			c.errorf(f, d.Name.Span(), CodeDuplicate, "rule `%s` is declared twice", name).related(f, prev, "first declared here")
			continue
		}
		seen[name] = d.Name.Span()
		if slices.Contains(reserved, name) {
			c.errorf(f, d.Name.Span(), CodeStandardInvalid, "a rule cannot be called `%s`: it is a function of the language", name).
				help("give the rule a name of its own, e.g. `%s_rule`", name)
			continue
		}
		uses := ""
		toks := lang.Tokens(d.Expr.Text, d.Expr.Span().Start)
		for i := 0; i+1 < len(toks) && uses == ""; i++ {
			if toks[i].Kind != lang.TokIdent || toks[i+1].Text != "(" || (i > 0 && toks[i-1].Text == ".") {
				continue
			}
			for _, other := range c.rules {
				if other.node.Name.Name == toks[i].Text {
					uses = toks[i].Text
					c.errorf(f, lang.Span{Start: toks[i].Offset, End: toks[i].End()}, CodeStandardInvalid, "rule `%s` uses the rule `%s`: a rule cannot use another rule", name, uses).
						help("write the condition of `%s` here", uses)
					break
				}
			}
		}
		if uses != "" {
			continue
		}
		j := c.queue(f, d.Expr, celenv.Context{}, wantAny, "rule "+name, nil, nil)
		c.w.Rules = append(c.w.Rules, ir.NamedRule{Name: name, Expr: j.out, Pos: pos(f, d.Span())})
	}
}
