package compiler

import (
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib"
	"github.com/leadlang/lead/stdlib/celenv"
)

// at is a declaration with the file it is in and, for std modules, the
// qualifier its name takes ("std.").
type at[T any] struct {
	node T
	file *lang.File
	qual string
}

// compilation is the state of compiling one workflow.
type compilation struct {
	opts  Options
	main  *lang.File
	files []*lang.File
	diags lang.Diagnostics
	w     *ir.Workflow
	env   *celenv.Env
	tests []*Test

	header    *lang.Workflow
	start     []at[*lang.Start]
	conforms  []at[*lang.Conforms]
	uses      []at[*lang.Use]
	waives    []at[*lang.Waive]
	schemas   []at[*lang.LeadSchema]
	events    []at[*lang.Event]
	roles     []at[*lang.Role]
	teams     []at[*lang.Team]
	calendars []at[*lang.Calendar]
	routings  []at[*lang.Routing]
	owners    []at[*lang.OwnerBlock]
	handlers  []at[*lang.On]
	scores    []at[*lang.Score]
	stages    []at[*lang.Stage]
	cells     []at[*lang.Cell]
	standards []at[*lang.Standard]
	testDecls []at[*lang.Test]

	// standard is the standard the workflow conforms to, once loaded.
	standard *at[*lang.Standard]
	// rules are its named rules; redefined, the workflow's lead fields
	// that redefine one of its fields (reported, then left out).
	rules     []at[*lang.StandardRule]
	redefined map[*lang.Field]bool

	// Symbol tables, by (qualified) name.
	eventByName   map[string]at[*lang.Event]
	roleByName    map[string]at[*lang.Role]
	teamByName    map[string]at[*lang.Team]
	calByName     map[string]at[*lang.Calendar]
	routingByName map[string]at[*lang.Routing]
	targets       map[string]target // stage and cell names

	// index lists every declaration and use of a name in files.
	index *Index

	// lifecycles records where each stage names its lifecycle, for the
	// standard's diagnostics.
	lifecycles map[string]fileSpan

	exprs []*exprJob // every expression, checked in checkExprs

	celMu      sync.Mutex
	celCache   map[string]*celResult          // by context and text
	fieldCache map[string]map[string][]string // by context
	jobOf      map[*ir.Expr]*exprJob
}

// fileSpan is a range in a file.
type fileSpan struct {
	file *lang.File
	span lang.Span
}

// target is what a stage or cell name refers to.
type target struct {
	stage *at[*lang.Stage]
	cell  *at[*lang.Cell]
}

func newCompilation(f *lang.File, opts Options) *compilation {
	return &compilation{
		opts: opts, main: f, files: []*lang.File{f},
		w:          &ir.Workflow{},
		lifecycles: map[string]fileSpan{},
		celCache:   map[string]*celResult{},
		fieldCache: map[string]map[string][]string{},
		jobOf:      map[*ir.Expr]*exprJob{},
	}
}

// collect sorts a file's declarations into the compilation. Module files
// (std.*) contribute declarations under the "std." qualifier.
func (c *compilation) collect(f *lang.File, module bool) {
	qual := ""
	if module {
		qual = "std."
	}
	for i, d := range f.Decls {
		switch d := d.(type) {
		case *lang.Workflow:
			switch {
			case module:
				c.errorf(f, d.Span(), CodeMisplaced, "a std module cannot declare a workflow")
			case c.header != nil:
				c.errorf(f, d.Span(), CodeHeader, "a file holds one workflow; `%s` is the second", d.Name.Name).
					related(c.main, c.header.Span(), "the first workflow is declared here")
			case i != 0:
				c.errorf(f, d.Span(), CodeHeader, "`workflow %s` must be the first declaration of the file", d.Name.Name)
				c.header = d
			default:
				c.header = d
			}
		case *lang.Start:
			c.start = append(c.start, at[*lang.Start]{d, f, ""})
		case *lang.Conforms:
			c.conforms = append(c.conforms, at[*lang.Conforms]{d, f, ""})
		case *lang.Use:
			c.uses = append(c.uses, at[*lang.Use]{d, f, ""})
		case *lang.Waive:
			c.waives = append(c.waives, at[*lang.Waive]{d, f, ""})
		case *lang.LeadSchema:
			c.schemas = append(c.schemas, at[*lang.LeadSchema]{d, f, ""})
		case *lang.Event:
			c.events = append(c.events, at[*lang.Event]{d, f, qual})
		case *lang.Role:
			c.roles = append(c.roles, at[*lang.Role]{d, f, qual})
		case *lang.Team:
			c.teams = append(c.teams, at[*lang.Team]{d, f, qual})
		case *lang.Calendar:
			c.calendars = append(c.calendars, at[*lang.Calendar]{d, f, qual})
		case *lang.Routing:
			c.routings = append(c.routings, at[*lang.Routing]{d, f, qual})
		case *lang.OwnerBlock:
			c.owners = append(c.owners, at[*lang.OwnerBlock]{d, f, ""})
		case *lang.On:
			c.handlers = append(c.handlers, at[*lang.On]{d, f, ""})
		case *lang.Score:
			c.scores = append(c.scores, at[*lang.Score]{d, f, ""})
		case *lang.Stage:
			c.stages = append(c.stages, at[*lang.Stage]{d, f, qual})
		case *lang.Cell:
			c.cells = append(c.cells, at[*lang.Cell]{d, f, qual})
		case *lang.Standard:
			c.standards = append(c.standards, at[*lang.Standard]{d, f, qual})
		case *lang.Test:
			c.testDecls = append(c.testDecls, at[*lang.Test]{d, f, ""})
		}
	}
	if !module && c.header == nil {
		span := lang.Span{}
		if len(f.Decls) > 0 {
			span = f.Decls[0].Span()
		}
		c.errorf(f, span, CodeHeader, "a workflow file must start with `workflow NAME`").
			help("files that only declare standards are checked where a workflow conforms to them")
		return
	}
	if !module {
		c.w.Name = c.header.Name.Name
		if c.header.Title != nil {
			c.w.Title = c.header.Title.Value()
		}
	}
}

// collectTestFile takes the test blocks of NAME_test.lead, which holds only
// a `workflow NAME` header and tests.
func (c *compilation) collectTestFile(f *lang.File) {
	for i, d := range f.Decls {
		switch d := d.(type) {
		case *lang.Workflow:
			if i != 0 || d.Name.Name != c.w.Name {
				c.errorf(f, d.Name.Span(), CodeHeader, "this test file must start with `workflow %s`", c.w.Name)
			}
		case *lang.Test:
			c.testDecls = append(c.testDecls, at[*lang.Test]{d, f, ""})
		default:
			c.errorf(f, d.Span(), CodeMisplaced, "a test file holds only a `workflow` header and `test` blocks").
				help("move this declaration into %s", filepath.Base(c.main.Name))
		}
	}
}

// loadModules parses the std modules named by `use` and collects them.
func (c *compilation) loadModules() {
	seen := map[string]bool{}
	for _, u := range c.uses {
		name := u.node.Module.String()
		src, ok := stdlib.Module(name)
		if !ok {
			c.errorf(u.file, u.node.Module.Span(), CodeUnknownStd, "unknown module `%s`", name).
				suggest(name, stdlib.Modules()).
				help("the standard library has: %s", strings.Join(stdlib.Modules(), ", "))
			continue
		}
		if seen[name] {
			c.errorf(u.file, u.node.Span(), CodeRepeated, "module `%s` is already used", name)
			continue
		}
		seen[name] = true
		f, diags := lang.Parse("<"+name+">", string(src))
		c.diags = append(c.diags, diags...)
		c.files = append(c.files, f)
		c.collect(f, true)
		if name == "std.bant" {
			c.w.BantCount = true
		}
	}
}

// loadStandard finds the standard named by `conforms`: a std module's
// standard (`std.waterfall`, which needs `use std.waterfall`), a standard
// declared in the workflow file, or NAME.lead beside the workflow or on the
// standards path.
func (c *compilation) loadStandard() {
	if len(c.conforms) == 0 {
		return
	}
	for _, extra := range c.conforms[1:] {
		c.errorf(extra.file, extra.node.Span(), CodeRepeated, "a workflow conforms to one standard").
			related(c.conforms[0].file, c.conforms[0].node.Span(), "the first `conforms` is here")
	}
	conf := c.conforms[0]
	name := conf.node.Standard.String()
	find := func() *at[*lang.Standard] {
		for i := range c.standards {
			if c.standards[i].qual+c.standards[i].node.Name.Name == name {
				return &c.standards[i]
			}
		}
		return nil
	}
	if s := find(); s != nil {
		c.standard = s
		return
	}
	if strings.HasPrefix(name, "std.") {
		if _, ok := stdlib.Module(name); ok {
			c.errorf(conf.file, conf.node.Standard.Span(), CodeUnknownStd, "standard `%s` needs `use %s`", name, name)
		} else {
			c.errorf(conf.file, conf.node.Standard.Span(), CodeUnknownStd, "unknown standard `%s`", name).
				suggest(name, stdlib.Modules())
		}
		return
	}
	dirs := append([]string{filepath.Dir(c.main.Name)}, c.opts.StandardsPath...)
	for _, dir := range dirs {
		path := filepath.Join(dir, name+".lead")
		src, err := c.opts.read(path)
		if err != nil {
			continue
		}
		f, diags := lang.Parse(path, string(src))
		c.files = append(c.files, f)
		c.diags = append(c.diags, diags...)
		if diags.HasErrors() {
			return
		}
		for _, d := range f.Decls {
			st, ok := d.(*lang.Standard)
			if !ok {
				c.errorf(f, d.Span(), CodeStandardInvalid, "a standard file holds only `standard` declarations")
				continue
			}
			c.standards = append(c.standards, at[*lang.Standard]{st, f, ""})
		}
		if s := find(); s != nil {
			c.standard = s
			return
		}
		c.errorf(f, lang.Span{}, CodeUnknownStd, "%s does not declare `standard %s`", path, name)
		return
	}
	c.errorf(conf.file, conf.node.Standard.Span(), CodeUnknownStd, "unknown standard `%s`", name).
		help("looked for %s.lead in %s", name, strings.Join(dirs, ", "))
}

// importVocabulary adds the conformed standard's lead fields and events to
// the workflow's, and collects its rules (the language reference §13). A
// conforming workflow uses them as they are: declaring one of them again is
// an error.
func (c *compilation) importVocabulary() {
	c.redefined = map[*lang.Field]bool{}
	if c.standard == nil {
		return
	}
	std := c.standard
	stdName := std.qual + std.node.Name.Name
	fields := map[string]*lang.Field{}
	events := map[string]*lang.Event{}
	var schemas []at[*lang.LeadSchema]
	var evs []at[*lang.Event]
	for _, st := range std.node.Stmts {
		switch st := st.(type) {
		case *lang.LeadSchema:
			schemas = append(schemas, at[*lang.LeadSchema]{st, std.file, ""})
			for _, fd := range st.Fields {
				if _, ok := fields[fd.Name.Name]; !ok {
					fields[fd.Name.Name] = fd
				}
			}
		case *lang.Event:
			evs = append(evs, at[*lang.Event]{st, std.file, ""})
			if _, ok := events[st.Name.Name]; !ok {
				events[st.Name.Name] = st
			}
		case *lang.StandardRule:
			c.rules = append(c.rules, at[*lang.StandardRule]{st, std.file, ""})
		}
	}
	for _, s := range c.schemas {
		for _, fd := range s.node.Fields {
			if prev := fields[fd.Name.Name]; prev != nil {
				c.errorf(s.file, fd.Name.Span(), CodeVocabulary, "lead field `%s` is defined by standard %s: a conforming workflow uses it as it is", fd.Name.Name, stdName).
					related(std.file, prev.Name.Span(), "defined here").
					help("remove this declaration; lead.%s is the standard's", fd.Name.Name)
				c.redefined[fd] = true
			}
		}
	}
	keep := evs
	for _, e := range c.events {
		if prev := events[e.node.Name.Name]; prev != nil && e.qual == "" {
			c.errorf(e.file, e.node.Name.Span(), CodeVocabulary, "event `%s` is defined by standard %s: a conforming workflow uses it as it is", e.node.Name.Name, stdName).
				related(std.file, prev.Name.Span(), "defined here").
				help("remove this declaration; the event %s is the standard's", e.node.Name.Name)
			continue
		}
		keep = append(keep, e)
	}
	c.schemas = append(schemas, c.schemas...)
	c.events = keep
}

// checkDuplicates builds the symbol tables, reporting names declared twice.
func (c *compilation) checkDuplicates() {
	c.eventByName = map[string]at[*lang.Event]{}
	c.roleByName = map[string]at[*lang.Role]{}
	c.teamByName = map[string]at[*lang.Team]{}
	c.calByName = map[string]at[*lang.Calendar]{}
	c.routingByName = map[string]at[*lang.Routing]{}
	c.targets = map[string]target{}
	type seenAt struct {
		file *lang.File
		span lang.Span
	}
	dup := func(kind, name string, seen map[string]seenAt, f *lang.File, span lang.Span) bool {
		if prev, ok := seen[name]; ok {
			c.errorf(f, span, CodeDuplicate, "%s `%s` is declared twice", kind, name).
				related(prev.file, prev.span, "first declared here")
			return true
		}
		seen[name] = seenAt{f, span}
		return false
	}
	seen := map[string]seenAt{}
	for _, e := range c.events {
		name := e.qual + e.node.Name.Name
		if name == ir.EventCaptured || name == ir.EventUpdated {
			c.errorf(e.file, e.node.Name.Span(), CodeDuplicate, "`%s` is a built-in event and is always declared", name)
			continue
		}
		if !dup("event", name, seen, e.file, e.node.Name.Span()) {
			c.eventByName[name] = e
		}
	}
	seen = map[string]seenAt{}
	for _, r := range c.roles {
		name := r.qual + r.node.Name.Name
		if !dup("role", name, seen, r.file, r.node.Name.Span()) {
			c.roleByName[name] = r
		}
	}
	seen = map[string]seenAt{}
	for _, t := range c.teams {
		name := t.qual + t.node.Name.Name
		if !dup("team", name, seen, t.file, t.node.Name.Span()) {
			c.teamByName[name] = t
		}
	}
	seen = map[string]seenAt{}
	for _, cal := range c.calendars {
		name := cal.qual + cal.node.Name.Name
		if !dup("calendar", name, seen, cal.file, cal.node.Name.Span()) {
			c.calByName[name] = cal
		}
	}
	seen = map[string]seenAt{}
	for _, r := range c.routings {
		name := r.qual + r.node.Name.Name
		if !dup("routing", name, seen, r.file, r.node.Name.Span()) {
			c.routingByName[name] = r
		}
	}
	// Stages and cells share one namespace: a TARGET names either. The
	// later declaration in source order is the duplicate. The other kinds
	// each have their own: a stage may share a routing's or a role's name.
	type stageOrCell struct {
		kind string
		name *lang.Ident
		file *lang.File
		t    target
	}
	var all []stageOrCell
	for i := range c.stages {
		s := &c.stages[i]
		all = append(all, stageOrCell{"stage", s.node.Name, s.file, target{stage: s}})
	}
	for i := range c.cells {
		cl := &c.cells[i]
		all = append(all, stageOrCell{"cell", cl.node.Name, cl.file, target{cell: cl}})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].file != all[j].file {
			return all[i].file == c.main
		}
		return all[i].name.Span().Start < all[j].name.Span().Start
	})
	seen = map[string]seenAt{}
	kinds := map[string]string{}
	for _, d := range all {
		qual := ""
		if d.t.stage != nil {
			qual = d.t.stage.qual
		} else {
			qual = d.t.cell.qual
		}
		name := qual + d.name.Name
		if prev, ok := seen[name]; ok {
			if kinds[name] == d.kind {
				c.errorf(d.file, d.name.Span(), CodeDuplicate, "%s `%s` is declared twice", d.kind, name).
					related(prev.file, prev.span, "first declared here")
			} else {
				c.errorf(d.file, d.name.Span(), CodeDuplicate, "`%s` is already the name of a %s; a stage and a cell cannot share a name", name, kinds[name]).
					related(prev.file, prev.span, "the %s `%s` is declared here", kinds[name], name)
			}
			continue
		}
		seen[name] = seenAt{d.file, d.name.Span()}
		kinds[name] = d.kind
		c.targets[name] = d.t
	}
	seen = map[string]seenAt{}
	for _, s := range c.standards {
		dup("standard", s.qual+s.node.Name.Name, seen, s.file, s.node.Name.Span())
	}
	for _, extra := range c.owners[min(1, len(c.owners)):] {
		c.errorf(extra.file, extra.node.Span(), CodeRepeated, "a workflow has one `owner` block").
			related(c.owners[0].file, c.owners[0].node.Span(), "the first one is here")
	}
}

// names lists the keys of a symbol table, for "did you mean".
func names[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
