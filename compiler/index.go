package compiler

import (
	"sort"
	"strconv"
	"strings"

	"github.com/leadlang/lead/lang"
)

// Symbol kinds of the index.
const (
	SymStage      = "stage"
	SymCellPart   = "cell stage" // NAME.assess|advance|develop of a cell
	SymCell       = "cell"
	SymEvent      = "event"
	SymEventField = "event field"
	SymField      = "field" // a lead field
	SymRole       = "role"
	SymTeam       = "team"
	SymRouting    = "routing"
	SymCalendar   = "calendar"
	SymStandard   = "standard"
	SymLifecycle  = "lifecycle" // a stage of a standard's vocabulary
	SymSLA        = "sla"
	SymTest       = "test"
	SymRule       = "rule" // a standard's named rule, used as NAME()
)

// Symbol is a declared name: what it is, where its name is written, and
// the declaration that holds it.
type Symbol struct {
	Kind string
	Name string // as references write it: "std.us_business", "marketing.assess"
	File *lang.File
	Span lang.Span // the name in the declaration
	// Decl is the declaring node: *lang.Stage, *lang.Cell, *lang.Assess,
	// *lang.Advance, *lang.Develop, *lang.Event, *lang.Field, *lang.Role,
	// *lang.Team, *lang.Routing, *lang.Calendar, *lang.Standard, *lang.SLA,
	// *lang.Test, or *lang.Ident for a standard's lifecycle stage.
	Decl any
	// Parent is the cell of a cell stage, the event of an event field, the
	// stage (or cell stage) of an SLA, the standard of a lifecycle stage.
	Parent *Symbol
	// Std is set for declarations of the standard library (std.*), which
	// a workflow cannot rename.
	Std bool
}

// Ref is one use of a symbol's name.
type Ref struct {
	Symbol *Symbol
	File   *lang.File
	Span   lang.Span
	// InTest is set for uses inside test blocks, which do not make a
	// declaration used by the workflow.
	InTest bool
}

// Index lists the declarations of a workflow's files and every use of
// their names, in the .lead syntax and inside CEL expressions and test
// blocks. `lead check` reads it for unused declarations; the language
// server answers definition, references, rename and hover from it. It is
// built from the AST alone, so it also covers files with errors.
type Index struct {
	Symbols []*Symbol
	Refs    []Ref
	byKey   map[string]*Symbol
	uses    map[*Symbol][]int // indexes into Refs
}

func symKey(kind, name string) string { return kind + "\x00" + name }

// Find returns the symbol of the given kind and name, or nil.
func (ix *Index) Find(kind, name string) *Symbol { return ix.byKey[symKey(kind, name)] }

// Uses returns the uses of s, in file and source order.
func (ix *Index) Uses(s *Symbol) []Ref {
	out := make([]Ref, 0, len(ix.uses[s]))
	for _, i := range ix.uses[s] {
		out = append(out, ix.Refs[i])
	}
	return out
}

// At returns the symbol whose declared name or use covers offset in the
// named file (a position just after a name counts), with the range of the
// name there.
func (ix *Index) At(file string, offset int) (*Symbol, lang.Span, bool) {
	in := func(s lang.Span) bool { return s.Start <= offset && offset <= s.End }
	for _, r := range ix.Refs {
		if r.File.Name == file && in(r.Span) {
			return r.Symbol, r.Span, true
		}
	}
	for _, s := range ix.Symbols {
		if s.File.Name == file && in(s.Span) {
			return s, s.Span, true
		}
	}
	return nil, lang.Span{}, false
}

// Named returns the symbols that a name written in a reference could
// mean, of any kind.
func (ix *Index) Named(name string) []*Symbol {
	var out []*Symbol
	for _, s := range ix.Symbols {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// BuildIndex indexes files; the first is the workflow, the others its
// test file, standard file and std modules (as Result.Files lists them).
func BuildIndex(files []*lang.File) *Index {
	ix := &Index{byKey: map[string]*Symbol{}, uses: map[*Symbol][]int{}}
	b := &indexer{ix: ix}
	for _, f := range files {
		b.declare(f)
	}
	if len(files) > 0 {
		b.findStandard(files[0])
	}
	for _, f := range files {
		b.file = f
		for _, d := range f.Decls {
			b.decl(d)
		}
	}
	sort.SliceStable(ix.Refs, func(i, j int) bool {
		a, b := ix.Refs[i], ix.Refs[j]
		if a.File.Name != b.File.Name {
			return a.File.Name < b.File.Name
		}
		return a.Span.Start < b.Span.Start
	})
	for i, r := range ix.Refs {
		ix.uses[r.Symbol] = append(ix.uses[r.Symbol], i)
	}
	return ix
}

// indexer walks the files: declare records every declaration first, so
// uses anywhere resolve whatever the declaration order.
type indexer struct {
	ix       *Index
	file     *lang.File
	standard *Symbol // the standard the workflow conforms to
	cell     *Symbol // the cell being walked
	inTest   bool
}

func (b *indexer) add(kind, name string, f *lang.File, span lang.Span, decl any, parent *Symbol) *Symbol {
	s := &Symbol{Kind: kind, Name: name, File: f, Span: span, Decl: decl, Parent: parent, Std: strings.HasPrefix(f.Name, "<std.")}
	b.ix.Symbols = append(b.ix.Symbols, s)
	if _, dup := b.ix.byKey[symKey(kind, name)]; !dup {
		b.ix.byKey[symKey(kind, name)] = s
	}
	return s
}

func (b *indexer) declare(f *lang.File) {
	qual := ""
	if strings.HasPrefix(f.Name, "<std.") {
		qual = "std."
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *lang.LeadSchema:
			for _, fd := range d.Fields {
				b.add(SymField, fd.Name.Name, f, fd.Name.Span(), fd, nil)
			}
		case *lang.Event:
			ev := b.add(SymEvent, qual+d.Name.Name, f, d.Name.Span(), d, nil)
			for _, fd := range d.Fields {
				b.add(SymEventField, ev.Name+"."+fd.Name.Name, f, fd.Name.Span(), fd, ev)
			}
		case *lang.Role:
			b.add(SymRole, qual+d.Name.Name, f, d.Name.Span(), d, nil)
		case *lang.Team:
			b.add(SymTeam, qual+d.Name.Name, f, d.Name.Span(), d, nil)
		case *lang.Routing:
			b.add(SymRouting, qual+d.Name.Name, f, d.Name.Span(), d, nil)
		case *lang.Calendar:
			b.add(SymCalendar, qual+d.Name.Name, f, d.Name.Span(), d, nil)
		case *lang.Stage:
			st := b.add(SymStage, qual+d.Name.Name, f, d.Name.Span(), d, nil)
			b.declareSLAs(f, st, d.Stmts)
		case *lang.Cell:
			cl := b.add(SymCell, qual+d.Name.Name, f, d.Name.Span(), d, nil)
			for _, p := range d.Parts {
				kw, stmts, ok := lang.CellStage(p)
				if !ok {
					continue
				}
				start := p.Span().Start
				part := b.add(SymCellPart, cl.Name+"."+kw, f, lang.Span{Start: start, End: start + len(kw)}, p, cl)
				b.declareSLAs(f, part, stmts)
			}
		case *lang.Standard:
			std := b.add(SymStandard, qual+d.Name.Name, f, d.Name.Span(), d, nil)
			for _, st := range d.Stmts {
				switch st := st.(type) {
				case *lang.StandardStages:
					for _, n := range st.Names {
						b.add(SymLifecycle, std.Name+"."+n.Name, f, n.Span(), n, std)
					}
				case *lang.LeadSchema: // the vocabulary conforming workflows share
					for _, fd := range st.Fields {
						b.add(SymField, fd.Name.Name, f, fd.Name.Span(), fd, nil)
					}
				case *lang.StandardRule:
					b.add(SymRule, st.Name.Name, f, st.Name.Span(), st, std)
				case *lang.Event:
					ev := b.add(SymEvent, st.Name.Name, f, st.Name.Span(), st, nil)
					for _, fd := range st.Fields {
						b.add(SymEventField, ev.Name+"."+fd.Name.Name, f, fd.Name.Span(), fd, ev)
					}
				}
			}
		case *lang.Test:
			b.add(SymTest, d.Name.Value(), f, d.Name.Span(), d, nil)
		}
	}
}

func (b *indexer) declareSLAs(f *lang.File, stage *Symbol, stmts []lang.StageStmt) {
	for _, st := range stmts {
		if s, ok := st.(*lang.SLA); ok {
			b.add(SymSLA, stage.Name+"."+s.Name.Name, f, s.Name.Span(), s, stage)
		}
	}
}

// findStandard resolves the main file's `conforms`, for lifecycle names.
func (b *indexer) findStandard(main *lang.File) {
	for _, d := range main.Decls {
		if c, ok := d.(*lang.Conforms); ok {
			b.standard = b.ix.Find(SymStandard, c.Standard.String())
			return
		}
	}
}

func (b *indexer) ref(s *Symbol, span lang.Span) {
	if s != nil {
		b.ix.Refs = append(b.ix.Refs, Ref{Symbol: s, File: b.file, Span: span, InTest: b.inTest})
	}
}

// first returns the first of kinds that declares name.
func (b *indexer) first(name string, kinds ...string) *Symbol {
	for _, k := range kinds {
		if s := b.ix.Find(k, name); s != nil {
			return s
		}
	}
	return nil
}

func (b *indexer) ident(id *lang.Ident, kinds ...string) {
	if id != nil {
		b.ref(b.first(id.Name, kinds...), id.Span())
	}
}

func (b *indexer) events(ids []*lang.Ident) []string {
	var names []string
	for _, id := range ids {
		b.ident(id, SymEvent)
		names = append(names, id.Name)
	}
	return names
}

func (b *indexer) calendar(r *lang.Ref) {
	if r != nil {
		b.ref(b.ix.Find(SymCalendar, r.String()), r.Span())
	}
}

// choice indexes the conditions and calendars of a length the lead
// chooses.
func (b *indexer) choice(ch *lang.Choice) {
	if ch == nil {
		return
	}
	for _, r := range ch.Rules {
		if r.When != nil {
			b.expr(r.When, nil)
		}
		b.calendar(r.Calendar)
	}
}

// target records a TARGET: a stage, a cell, a cell's stage, or inside a
// cell a bare part name.
func (b *indexer) target(r *lang.Ref) {
	if r == nil {
		return
	}
	nameSpan := lang.Span{Start: r.Span().Start, End: r.Span().Start + len(r.Name)}
	if r.Member == "" {
		if b.cell != nil && isPart(r.Name) {
			b.ref(b.ix.Find(SymCellPart, b.cell.Name+"."+r.Name), nameSpan)
			return
		}
		b.ref(b.first(r.Name, SymStage, SymCell), nameSpan)
		return
	}
	if cl := b.ix.Find(SymCell, r.Name); cl != nil {
		b.ref(cl, nameSpan)
		end := r.Span().End
		b.ref(b.ix.Find(SymCellPart, r.Name+"."+r.Member), lang.Span{Start: end - len(r.Member), End: end})
		return
	}
	b.ref(b.ix.Find(SymStage, r.String()), r.Span()) // std.NAME
}

func (b *indexer) roleLike(id *lang.Ident) { b.ident(id, SymRole, SymTeam, SymRouting) }

// roleStrings records the roles named by string literals in an escalation
// target: `escalate (lead.region == "emea" ? "emea_director" : "vp")`.
func (b *indexer) roleStrings(e *lang.Expr) {
	for _, t := range lang.Tokens(e.Text, e.Span().Start) {
		if t.Kind != lang.TokString {
			continue
		}
		v, err := strconv.Unquote(t.Text)
		if err != nil || v == "" || len(v) != len(t.Text)-2 {
			continue
		}
		if r := b.ix.Find(SymRole, v); r != nil {
			b.ref(r, lang.Span{Start: t.Offset + 1, End: t.Offset + 1 + len(v)})
		}
	}
}

func (b *indexer) assignee(a *lang.Assignee, events []string) {
	if a == nil {
		return
	}
	if a.User != nil {
		b.expr(a.User, events)
		return
	}
	switch a.Kind {
	case "route":
		b.ident(a.Name, SymRouting)
	case "team":
		b.ident(a.Name, SymTeam)
	case "role":
		b.ident(a.Name, SymRole)
	}
}

func (b *indexer) owner(o *lang.OwnerBlock) {
	for _, e := range o.Entries {
		if e.Assignee != nil {
			b.assignee(e.Assignee, nil)
		} else {
			b.roleLike(e.Role)
		}
	}
}

func (b *indexer) decl(d lang.Decl) {
	b.cell, b.inTest = nil, false
	switch d := d.(type) {
	case *lang.Start:
		b.target(d.Target)
	case *lang.Conforms:
		b.ref(b.ix.Find(SymStandard, d.Standard.String()), d.Standard.Span())
	case *lang.Waive:
		if d.Stage != nil {
			b.target(d.Stage)
		}
		// "sla.LIFECYCLE" names a stage of the standard's vocabulary.
		raw := d.Requirement.Raw
		if lc, ok := strings.CutPrefix(d.Requirement.Value(), "sla."); ok && b.standard != nil && raw == `"sla.`+lc+`"` {
			at := d.Requirement.Span().Start + len(`"sla.`)
			b.ref(b.ix.Find(SymLifecycle, b.standard.Name+"."+lc), lang.Span{Start: at, End: at + len(lc)})
		}
	case *lang.LeadSchema, *lang.Event, *lang.Role, *lang.Calendar:
	case *lang.Team:
		for _, st := range d.Stmts {
			switch st := st.(type) {
			case *lang.Strategy:
				if st.By != nil {
					b.expr(st.By, nil)
				}
			case *lang.TeamCalendar:
				b.calendar(st.Calendar)
			case *lang.TeamManager:
				if st.Role != nil {
					b.ident(st.Role, SymRole)
				}
			}
		}
	case *lang.Routing:
		for _, r := range d.Rules {
			if r.When != nil {
				b.expr(r.When, nil)
			}
			b.assignee(r.Target, nil)
		}
	case *lang.OwnerBlock:
		b.owner(d)
	case *lang.On:
		b.on(d)
	case *lang.Score:
		b.ident(d.Field, SymField)
		for _, st := range d.Stmts {
			switch st := st.(type) {
			case *lang.ScoreRule:
				evs := b.events(st.Events)
				if st.When != nil {
					b.expr(st.When, evs)
				}
			case *lang.Decay:
				b.calendar(st.Calendar)
			}
		}
	case *lang.Stage:
		b.stmts(d.Stmts)
	case *lang.Cell:
		b.cell = b.ix.Find(SymCell, d.Name.Name)
		for _, p := range d.Parts {
			switch p := p.(type) {
			case *lang.OwnerBlock:
				b.owner(p)
			case *lang.Advance:
				b.target(p.Target)
			}
			if _, stmts, ok := lang.CellStage(p); ok {
				b.stmts(stmts)
			}
		}
	case *lang.Standard:
		std := b.ix.Find(SymStandard, d.Name.Name)
		for _, st := range d.Stmts {
			if r, ok := st.(*lang.Require); ok && r.Lifecycle != nil && std != nil {
				b.ref(b.ix.Find(SymLifecycle, std.Name+"."+r.Lifecycle.Name), r.Lifecycle.Span())
			}
			if r, ok := st.(*lang.StandardRule); ok {
				b.expr(r.Expr, nil)
			}
		}
	case *lang.Test:
		b.inTest = true
		b.test(d)
	}
}

func (b *indexer) on(d *lang.On) {
	var evs []string
	if d.Exception == nil {
		evs = b.events(d.Events)
		if d.When != nil {
			b.expr(d.When, evs)
		}
	}
	b.target(d.Target)
	b.actions(d.Actions, evs)
}

func (b *indexer) stmts(stmts []lang.StageStmt) {
	for _, st := range stmts {
		switch st := st.(type) {
		case *lang.Lifecycle:
			if b.standard != nil {
				b.ref(b.ix.Find(SymLifecycle, b.standard.Name+"."+st.Name.Name), st.Name.Span())
			}
		case *lang.OwnerBlock:
			b.owner(st)
		case *lang.EnterExit:
			b.actions(st.Actions, nil)
		case *lang.On:
			b.on(st)
		case *lang.When:
			b.expr(st.Cond, nil)
			b.target(st.Target)
			b.actions(st.Actions, nil)
		case *lang.After:
			b.choice(st.Choice)
			b.calendar(st.Calendar)
			b.target(st.Target)
			b.actions(st.Actions, nil)
		case *lang.SLA:
			b.choice(st.Choice)
			b.calendar(st.Calendar)
			b.events(st.Until)
			for _, cl := range st.Clauses {
				switch cl := cl.(type) {
				case *lang.Warn:
					b.actions(cl.Actions, nil)
				case *lang.Breach:
					b.actions(cl.Actions, nil)
				}
			}
		case *lang.Disqualify:
			b.expr(st.Cond, nil)
			b.target(st.Target)
		case *lang.Qualify:
			b.expr(st.Cond, nil)
		case *lang.Undecided:
			b.calendar(st.Calendar)
			b.target(st.Target)
		case *lang.Route:
			b.ident(st.Routing, SymRouting)
		case *lang.Accept:
			b.events(st.Events)
		case *lang.Reject:
			b.events(st.Events)
			b.target(st.Target)
		case *lang.Nurture:
			b.calendar(st.Calendar)
			if st.Message != nil {
				b.expr(st.Message, nil)
			}
		case *lang.Reassess:
			b.events(st.Events)
		case *lang.Recycle:
			b.calendar(st.Calendar)
			b.target(st.Target)
		}
	}
}

func (b *indexer) actions(blk *lang.ActionBlock, events []string) {
	if blk == nil {
		return
	}
	for _, a := range blk.Actions {
		switch a := a.(type) {
		case *lang.Set:
			if a.Field.Name == "lead" && a.Field.Member != "" {
				end := a.Field.Span().End
				b.ref(b.ix.Find(SymField, a.Field.Member), lang.Span{Start: end - len(a.Field.Member), End: end})
			}
			b.expr(a.Value, events)
		case *lang.Assign:
			b.assignee(a.To, events)
		case *lang.Notify:
			switch a.Target.Name {
			case "responsible", "accountable", "consulted", "informed":
			default:
				b.roleLike(a.Target)
			}
			if a.Message != nil {
				b.expr(a.Message, events)
			}
		case *lang.Escalate:
			if a.Role != nil {
				b.roleLike(a.Role)
			} else {
				b.expr(a.To, events)
				b.roleStrings(a.To)
			}
			if a.Message != nil {
				b.expr(a.Message, events)
			}
		case *lang.Move:
			b.target(a.Target)
		}
	}
}

func (b *indexer) test(t *lang.Test) {
	for _, st := range t.Stmts {
		switch st := st.(type) {
		case *lang.Capture:
			for _, fv := range st.Fields.Fields {
				b.ident(fv.Name, SymField)
			}
		case *lang.Send:
			b.ident(st.Event, SymEvent)
			if st.Data == nil {
				continue
			}
			for _, fv := range st.Data.Fields {
				if st.Event.Name == "updated" {
					b.ident(fv.Name, SymField)
				} else {
					b.ref(b.ix.Find(SymEventField, st.Event.Name+"."+fv.Name.Name), fv.Name.Span())
				}
			}
		case *lang.Expect:
			b.expr(st.Cond, nil)
		}
	}
}

// expr records the names an expression uses: `lead.F`, `event.F` (a
// field of the first of events that has it), a standard's rules called as
// NAME(), stage names in strings
// compared with lead.stage, a standard's lifecycles in strings compared
// with lead.lifecycle, calendars named by the business-hours
// functions, and roles named by escalated() and notified() in tests.
func (b *indexer) expr(e *lang.Expr, events []string) {
	if e == nil {
		return
	}
	toks := lang.Tokens(e.Text, e.Span().Start)
	var sig []lang.Token // without comments
	for _, t := range toks {
		if t.Kind != lang.TokComment {
			sig = append(sig, t)
		}
	}
	// attrs[i] is "stage" or "lifecycle" where sig[i] starts lead.stage or
	// lead.lifecycle: a string names a stage or a lifecycle by the nearest
	// of them before it (after it, if none is before).
	attrs := map[int]string{}
	for i := 0; i+2 < len(sig); i++ {
		if sig[i].Text == "lead" && sig[i+1].Text == "." && (i == 0 || sig[i-1].Text != ".") {
			if a := sig[i+2].Text; a == "stage" || a == "lifecycle" {
				attrs[i] = a
			}
		}
	}
	comparedWith := func(at int) string {
		for i := at - 1; i >= 0; i-- {
			if a, ok := attrs[i]; ok {
				return a
			}
		}
		for i := at + 1; i < len(sig); i++ {
			if a, ok := attrs[i]; ok {
				return a
			}
		}
		return ""
	}
	for i, t := range sig {
		prevDot := i > 0 && sig[i-1].Text == "."
		switch {
		case t.Kind == lang.TokIdent && !prevDot && i+1 < len(sig) && sig[i+1].Text == "(" && b.ix.Find(SymRule, t.Text) != nil:
			b.ref(b.ix.Find(SymRule, t.Text), lang.Span{Start: t.Offset, End: t.End()})
		case t.Kind == lang.TokIdent && !prevDot && i+2 < len(sig) && sig[i+1].Text == "." && sig[i+2].Kind == lang.TokIdent:
			name := sig[i+2]
			switch t.Text {
			case "lead":
				b.ref(b.ix.Find(SymField, name.Text), lang.Span{Start: name.Offset, End: name.End()})
			case "event":
				for _, ev := range events {
					if s := b.ix.Find(SymEventField, ev+"."+name.Text); s != nil {
						b.ref(s, lang.Span{Start: name.Offset, End: name.End()})
						break
					}
				}
			}
		case t.Kind == lang.TokString:
			v, err := strconv.Unquote(t.Text)
			if err != nil || v == "" || len(v) != len(t.Text)-2 {
				continue // escapes would shift offsets: not a plain name
			}
			inner := t.Offset + 1
			fn := ""
			if i >= 2 && sig[i-1].Text == "(" && sig[i-2].Kind == lang.TokIdent {
				fn = sig[i-2].Text
			}
			switch {
			case fn == "business_hours_between" || fn == "in_business_hours":
				b.ref(b.ix.Find(SymCalendar, v), lang.Span{Start: inner, End: inner + len(v)})
			case b.inTest && (fn == "escalated" || fn == "notified"):
				b.ref(b.ix.Find(SymRole, v), lang.Span{Start: inner, End: inner + len(v)})
			case comparedWith(i) == "stage":
				b.stageString(v, inner)
			case comparedWith(i) == "lifecycle" && b.standard != nil:
				b.ref(b.ix.Find(SymLifecycle, b.standard.Name+"."+v), lang.Span{Start: inner, End: inner + len(v)})
			}
		}
	}
}

// stageString records a stage name in a string: "sales", or
// "marketing.assess" (the cell, then its stage).
func (b *indexer) stageString(v string, at int) {
	if s := b.ix.Find(SymStage, v); s != nil {
		b.ref(s, lang.Span{Start: at, End: at + len(v)})
		return
	}
	cell, _, ok := strings.Cut(v, ".")
	if !ok {
		return
	}
	if cl := b.ix.Find(SymCell, cell); cl != nil {
		b.ref(cl, lang.Span{Start: at, End: at + len(cell)})
		b.ref(b.ix.Find(SymCellPart, v), lang.Span{Start: at + len(cell) + 1, End: at + len(v)})
	}
}
