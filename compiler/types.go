package compiler

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/stdlib/calendar"
	"github.com/leadlang/lead/stdlib/celenv"

	"github.com/leadlang/lead/internal/suggest"
)

var scalarTypes = []string{ir.String, ir.Int, ir.Float, ir.Bool, ir.Timestamp, ir.DurationK}

// buildData builds the workflow's data types: the lead schema and events.
func (c *compilation) buildData() {
	c.buildSchema()
	c.buildEvents()
}

// buildPeople builds roles, calendars, teams and routings. Expressions
// inside them are queued for checking once the CEL environment exists.
func (c *compilation) buildPeople() {
	for _, r := range c.roles {
		c.w.Roles = append(c.w.Roles, ir.Role{Name: r.qual + r.node.Name.Name, Title: titleOf(r.node.Title), Pos: pos(r.file, r.node.Span())})
	}
	for _, cal := range c.calendars {
		if ic, ok := c.buildCalendar(cal); ok {
			c.w.Calendars = append(c.w.Calendars, ic)
		}
	}
	for _, t := range c.teams {
		c.w.Teams = append(c.w.Teams, c.buildTeam(t))
	}
	for _, r := range c.routings {
		c.w.Routings = append(c.w.Routings, c.buildRouting(r))
	}
}

func titleOf(s *lang.StringLit) string {
	if s == nil {
		return ""
	}
	return s.Value()
}

func (c *compilation) buildSchema() {
	seen := map[string]*ir.Field{}
	for _, s := range c.schemas {
		for _, fd := range s.node.Fields {
			name := fd.Name.Name
			if c.redefined[fd] {
				continue
			}
			if ir.IsBuiltinAttr(name) {
				c.errorf(s.file, fd.Name.Span(), CodeBuiltinAttr, "`lead.%s` is a built-in attribute and cannot be declared", name).
					help("built-in attributes: id, stage, owner, created_at, entered_at, version")
				continue
			}
			f, ok := c.buildField(s.file, fd)
			if !ok {
				continue
			}
			if prev, ok := seen[name]; ok {
				if prev.Type.String() == f.Type.String() && s.file != c.main && strings.HasPrefix(s.file.Name, "<std.") {
					continue // declared both by the workflow and by a std module, identically
				}
				c.errorf(s.file, fd.Name.Span(), CodeDuplicate, "lead field `%s` is declared twice", name).
					related(fileOf(c.files, prev.Pos.File), lang.Span{Start: prev.Pos.Off, End: prev.Pos.End}, "first declared here")
				continue
			}
			c.w.Lead = append(c.w.Lead, f)
			seen[name] = &c.w.Lead[len(c.w.Lead)-1]
		}
	}
}

func fileOf(files []*lang.File, name string) *lang.File {
	for _, f := range files {
		if f.Name == name {
			return f
		}
	}
	return files[0]
}

func (c *compilation) buildEvents() {
	c.w.Events = append(c.w.Events,
		ir.Event{Name: ir.EventCaptured, Builtin: true},
		ir.Event{Name: ir.EventUpdated, Builtin: true},
	)
	for _, e := range c.events {
		name := e.qual + e.node.Name.Name
		if _, ok := c.eventByName[name]; !ok || c.eventByName[name].node != e.node {
			continue // a duplicate, reported
		}
		ev := ir.Event{Name: name, Pos: pos(e.file, e.node.Span()), Fields: []ir.Field{}}
		seen := map[string]lang.Span{}
		for _, fd := range e.node.Fields {
			if fd.Name.Name == "type" || fd.Name.Name == "at" {
				c.errorf(e.file, fd.Name.Span(), CodeBuiltinAttr, "`event.%s` is built in and cannot be declared", fd.Name.Name).
					help("every event has event.type (its name) and event.at (when it happened)")
				continue
			}
			if prev, ok := seen[fd.Name.Name]; ok {
				c.errorf(e.file, fd.Name.Span(), CodeDuplicate, "event field `%s` is declared twice", fd.Name.Name).
					related(e.file, prev, "first declared here")
				continue
			}
			seen[fd.Name.Name] = fd.Name.Span()
			if f, ok := c.buildField(e.file, fd); ok {
				ev.Fields = append(ev.Fields, f)
			}
		}
		c.w.Events = append(c.w.Events, ev)
	}
}

func (c *compilation) buildField(f *lang.File, fd *lang.Field) (ir.Field, bool) {
	t, ok := c.buildType(f, fd.Type)
	if !ok {
		return ir.Field{}, false
	}
	field := ir.Field{Name: fd.Name.Name, Type: t, Optional: fd.Optional, Pos: pos(f, fd.Span())}
	if fd.Default != nil {
		if fd.Optional {
			c.errorf(f, fd.Default.Span(), CodeBadLiteral, "an optional field has no default").
				help("drop either `?` (always present, defaulted) or the default (may be absent)")
			return field, false
		}
		v, ok := c.literal(f, fd.Default, t)
		if !ok {
			return field, false
		}
		field.Default = ir.Export(v)
	}
	return field, true
}

func (c *compilation) buildType(f *lang.File, te *lang.TypeExpr) (ir.Type, bool) {
	switch {
	case te.Enum != nil:
		t := ir.Type{Kind: ir.Enum}
		seen := map[string]bool{}
		for _, v := range te.Enum {
			if seen[v.Name] {
				c.errorf(f, v.Span(), CodeDuplicate, "enum value `%s` is listed twice", v.Name)
				return t, false
			}
			seen[v.Name] = true
			t.Enum = append(t.Enum, v.Name)
		}
		return t, true
	case te.List != nil:
		elem, ok := c.buildType(f, te.List)
		return ir.Type{Kind: ir.List, Elem: &elem}, ok
	case te.MapKey != nil:
		key, ok := c.buildType(f, te.MapKey)
		if ok && key.Kind != ir.String {
			c.errorf(f, te.MapKey.Span(), CodeUnknownType, "map keys are strings: write map<string, %s>", typeText(te.MapVal))
			return ir.Type{}, false
		}
		val, ok2 := c.buildType(f, te.MapVal)
		return ir.Type{Kind: ir.Map, Elem: &val}, ok && ok2
	}
	name := te.Name.Name
	for _, s := range scalarTypes {
		if s == name {
			return ir.Type{Kind: s}, true
		}
	}
	c.errorf(f, te.Span(), CodeUnknownType, "unknown type `%s`", name).
		suggest(name, append(scalarTypes, "enum", "list", "map")).
		help("types are string, int, float, bool, timestamp, duration, enum(a, b), list<T>, map<string, T>")
	return ir.Type{}, false
}

func typeText(te *lang.TypeExpr) string {
	if te == nil || te.Name == nil {
		return "T"
	}
	return te.Name.Name
}

// literal converts a literal to the run-time value of type t.
func (c *compilation) literal(f *lang.File, lit *lang.Literal, t ir.Type) (any, bool) {
	bad := func(format string, args ...any) (any, bool) {
		c.errorf(f, lit.Span(), CodeBadLiteral, format, args...)
		return nil, false
	}
	switch t.Kind {
	case ir.String:
		if lit.String != nil {
			return lit.String.Value(), true
		}
	case ir.Enum:
		v := ""
		switch {
		case lit.Name != nil:
			v = lit.Name.Name
		case lit.String != nil:
			v = lit.String.Value()
		default:
			return bad("expected one of %s", strings.Join(t.Enum, ", "))
		}
		if !t.HasValue(v) {
			c.errorf(f, lit.Span(), CodeBadEnum, "%q is not one of %s", v, strings.Join(t.Enum, ", ")).suggest(v, t.Enum)
			return nil, false
		}
		return v, true
	case ir.Int:
		if lit.Number != nil {
			n, err := strconv.ParseInt(lit.Number.String(), 10, 64)
			if err != nil {
				return bad("expected an integer, found %s", lit.Number.String())
			}
			return n, true
		}
	case ir.Float:
		if lit.Number != nil {
			n, err := strconv.ParseFloat(lit.Number.String(), 64)
			if err != nil || math.IsInf(n, 0) {
				return bad("expected a number, found %s", lit.Number.String())
			}
			return n, true
		}
	case ir.Bool:
		if lit.Bool != "" {
			return lit.Bool == "true", true
		}
	case ir.Timestamp:
		if lit.String != nil {
			ts, err := time.Parse(time.RFC3339, lit.String.Value())
			if err != nil {
				return bad("expected an RFC 3339 time such as \"2026-03-02T09:00:00Z\", found %s", lit.String.Raw)
			}
			return ts, true
		}
	case ir.DurationK:
		if lit.Duration != nil {
			d, err := ir.ParseDuration(lit.Duration.Text)
			if err != nil {
				return bad("%v", err)
			}
			return d, true
		}
	case ir.List:
		if lit.IsList {
			out := make([]any, 0, len(lit.List))
			for _, e := range lit.List {
				v, ok := c.literal(f, e, *t.Elem)
				if !ok {
					return nil, false
				}
				out = append(out, v)
			}
			return out, true
		}
	case ir.Map:
		return bad("map fields have no literal syntax; leave out the default")
	}
	return bad("expected %s, found %s", describe(t), literalText(lit))
}

func describe(t ir.Type) string {
	switch t.Kind {
	case ir.Int:
		return "an integer"
	case ir.Float:
		return "a number"
	case ir.Bool:
		return "true or false"
	case ir.String:
		return "a string"
	case ir.Timestamp:
		return "a time in quotes"
	case ir.DurationK:
		return "a duration such as 4h"
	case ir.List:
		return "a list such as [\"a\", \"b\"]"
	}
	return t.String()
}

func literalText(l *lang.Literal) string {
	switch {
	case l.Number != nil:
		return l.Number.String()
	case l.String != nil:
		return l.String.Raw
	case l.Bool != "":
		return l.Bool
	case l.Duration != nil:
		return l.Duration.Text
	case l.Name != nil:
		return "`" + l.Name.Name + "`"
	case l.IsList:
		return "a list"
	}
	return "a value"
}

// literalType types a member attribute by its literal.
func (c *compilation) literalType(f *lang.File, lit *lang.Literal) (ir.Type, any, bool) {
	var t ir.Type
	switch {
	case lit.Number != nil && strings.ContainsAny(lit.Number.Text, ".eE"):
		t = ir.Type{Kind: ir.Float}
	case lit.Number != nil:
		t = ir.Type{Kind: ir.Int}
	case lit.String != nil:
		t = ir.Type{Kind: ir.String}
	case lit.Bool != "":
		t = ir.Type{Kind: ir.Bool}
	case lit.Duration != nil:
		t = ir.Type{Kind: ir.DurationK}
	case lit.IsList:
		elem := ir.Type{Kind: ir.String}
		if len(lit.List) > 0 {
			et, _, ok := c.literalType(f, lit.List[0])
			if !ok {
				return t, nil, false
			}
			elem = et
		}
		t = ir.Type{Kind: ir.List, Elem: &elem}
	default:
		c.errorf(f, lit.Span(), CodeBadLiteral, "expected a value: a string, number, true/false, duration or list")
		return t, nil, false
	}
	v, ok := c.literal(f, lit, t)
	return t, v, ok
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (c *compilation) buildCalendar(cal at[*lang.Calendar]) (ir.Calendar, bool) {
	f, d := cal.file, cal.node
	out := ir.Calendar{Name: cal.qual + d.Name.Name, Pos: pos(f, d.Span())}
	ok := true
	fail := func() { ok = false }
	var tzSeen *lang.Timezone
	holidaySeen, workdaySeen := map[calendar.Date]lang.Span{}, map[calendar.Date]lang.Span{}
	for _, s := range d.Stmts {
		switch s := s.(type) {
		case *lang.Timezone:
			if tzSeen != nil {
				c.errorf(f, s.Span(), CodeRepeated, "a calendar has one timezone").related(f, tzSeen.Span(), "first timezone")
				fail()
				continue
			}
			tzSeen = s
			out.Timezone = s.Zone.Value()
			if _, err := time.LoadLocation(out.Timezone); err != nil || out.Timezone == "" || strings.EqualFold(out.Timezone, "local") {
				c.errorf(f, s.Zone.Span(), CodeTimezone, "unknown time zone %s", s.Zone.Raw).
					help("use an IANA zone name such as \"America/New_York\" or \"Europe/London\"")
				fail()
			}
		case *lang.Hours:
			if !c.timeRange(f, s.Start, s.End) {
				fail()
				continue
			}
			h := ir.Hours{Start: s.Start.Text, End: s.End.Text}
			for _, dr := range s.Days {
				days, ok := c.dayRange(f, dr)
				if !ok {
					fail()
					continue
				}
				h.Days = append(h.Days, days...)
			}
			out.Hours = append(out.Hours, h)
		case *lang.Holiday:
			date, okd := calendar.ParseDate(s.Date.Value())
			if !okd {
				c.errorf(f, s.Date.Span(), CodeDate, "invalid date %s", s.Date.Raw).help("dates are written \"YYYY-MM-DD\", e.g. \"2026-12-25\"")
				fail()
				continue
			}
			if prev, dup := workdaySeen[date]; dup {
				c.errorf(f, s.Date.Span(), CodeWorkday, "%s is a workday and a holiday", date).
					related(f, prev, "declared a workday here").help("a date either works (`workday`) or does not (`holiday`): remove one")
				fail()
				continue
			}
			holidaySeen[date] = s.Date.Span()
			out.Holidays = append(out.Holidays, date.String())
		case *lang.Workday:
			date, okd := calendar.ParseDate(s.Date.Value())
			if !okd {
				c.errorf(f, s.Date.Span(), CodeDate, "invalid date %s", s.Date.Raw).help("dates are written \"YYYY-MM-DD\", e.g. \"2027-01-09\"")
				fail()
				continue
			}
			if prev, dup := workdaySeen[date]; dup {
				c.errorf(f, s.Date.Span(), CodeWorkday, "workday %s is declared twice", date).
					related(f, prev, "first declared here").help("give all of the day's hours on one line: `workday \"%s\" 09:00-12:00, 13:00-17:00`", date)
				fail()
				continue
			}
			if prev, dup := holidaySeen[date]; dup {
				c.errorf(f, s.Date.Span(), CodeWorkday, "%s is a holiday and a workday", date).
					related(f, prev, "declared a holiday here").help("a date either works (`workday`) or does not (`holiday`): remove one")
				fail()
				continue
			}
			workdaySeen[date] = s.Date.Span()
			wd := ir.Workday{Date: date.String()}
			okw := true
			for _, r := range s.Hours {
				if !c.timeRange(f, r.Start, r.End) {
					okw = false
					continue
				}
				wd.Hours = append(wd.Hours, ir.TimeRange{Start: r.Start.Text, End: r.End.Text})
			}
			if !okw {
				fail()
				continue
			}
			out.Workdays = append(out.Workdays, wd)
		}
	}
	if tzSeen == nil {
		c.errorf(f, d.Name.Span(), CodeCalendar, "calendar `%s` has no timezone", d.Name.Name).help("add e.g. `timezone \"America/New_York\"`")
		fail()
	}
	if len(out.Hours) == 0 {
		c.errorf(f, d.Name.Span(), CodeCalendar, "calendar `%s` has no working hours", d.Name.Name).help("add e.g. `hours mon-fri 09:00-17:00`")
		fail()
	}
	if ok {
		if _, err := out.Build(); err != nil {
			c.errorf(f, d.Name.Span(), CodeCalendar, "invalid calendar: %v", err)
			fail()
		}
	}
	return out, ok
}

// timeRange checks working hours START-END: 24-hour times, the end after
// the start (hours do not cross midnight).
func (c *compilation) timeRange(f *lang.File, s, e *lang.Clock) bool {
	start, ok1 := calendar.ParseClock(s.Text)
	end, ok2 := calendar.ParseClock(e.Text)
	if !ok1 {
		c.errorf(f, s.Span(), CodeHours, "invalid time %s", s.Text).help("times are 24-hour HH:MM, from 00:00 to 24:00")
		return false
	}
	if !ok2 {
		c.errorf(f, e.Span(), CodeHours, "invalid time %s", e.Text).help("times are 24-hour HH:MM, from 00:00 to 24:00")
		return false
	}
	if end == start {
		c.errorf(f, lang.Span{Start: s.Span().Start, End: e.Span().End}, CodeHours,
			"working hours %s-%s are empty: they end when they start", s.Text, e.Text).
			help("write the end of the working day, e.g. 09:00-17:00")
		return false
	}
	if end < start {
		c.errorf(f, lang.Span{Start: s.Span().Start, End: e.Span().End}, CodeHours,
			"working hours %s-%s end before they start", s.Text, e.Text).
			help("hours cannot cross midnight; write two lines, e.g. 22:00-24:00 and 00:00-06:00 on the next day")
		return false
	}
	return true
}

func (c *compilation) dayRange(f *lang.File, dr *lang.DayRange) ([]int, bool) {
	day := func(id *lang.Ident) (int, bool) {
		if wd, ok := calendar.ParseWeekday(id.Name); ok {
			return int(wd), true
		}
		c.errorf(f, id.Span(), CodeHours, "unknown day `%s`", id.Name).suggest(id.Name, weekdays).
			help("days are mon tue wed thu fri sat sun")
		return 0, false
	}
	from, ok := day(dr.From)
	if !ok {
		return nil, false
	}
	if dr.To == nil {
		return []int{from}, true
	}
	to, ok := day(dr.To)
	if !ok {
		return nil, false
	}
	// Week order is mon..sun, so sat-sun is a range while sun-mon is not.
	order := func(d int) int { return (d + 6) % 7 }
	if order(to) < order(from) {
		c.errorf(f, dr.Span(), CodeHours, "day range %s-%s runs backwards", dr.From.Name, dr.To.Name).
			help("ranges run forward in the week, mon to sun; write two lines for a range across sunday")
		return nil, false
	}
	var days []int
	for o := order(from); o <= order(to); o++ {
		days = append(days, (o+1)%7)
	}
	return days, true
}

var strategies = []string{ir.RoundRobin, ir.Weighted, ir.LeastLoaded, ir.BestFit}

func (c *compilation) buildTeam(t at[*lang.Team]) ir.Team {
	f, d := t.file, t.node
	out := ir.Team{Name: t.qual + d.Name.Name, Pos: pos(f, d.Span()), Members: []ir.Member{}}
	var strategy *lang.Strategy
	var manager *lang.TeamManager
	var attrsFrom *lang.Member
	attrTypes := map[string]ir.Type{}
	seenEmail := map[string]lang.Span{}
	for _, s := range d.Stmts {
		switch s := s.(type) {
		case *lang.Strategy:
			if strategy != nil {
				c.errorf(f, s.Span(), CodeRepeated, "a team has one strategy").related(f, strategy.Span(), "first strategy")
				continue
			}
			strategy = s
			out.Strategy = s.Kind.Name
			valid := false
			for _, k := range strategies {
				valid = valid || k == s.Kind.Name
			}
			switch {
			case !valid:
				c.errorf(f, s.Kind.Span(), CodeStrategy, "unknown strategy `%s`", s.Kind.Name).suggest(s.Kind.Name, strategies).
					help("strategies: round_robin, weighted, least_loaded, best_fit by EXPR")
			case s.Kind.Name == ir.BestFit && s.By == nil:
				c.errorf(f, s.Span(), CodeStrategy, "best_fit needs `by EXPR`: the score to maximise over lead and member")
			case s.Kind.Name != ir.BestFit && s.By != nil:
				c.errorf(f, s.By.Span(), CodeStrategy, "only best_fit takes `by`")
			case s.Min != nil:
				v, err := strconv.ParseFloat(s.Min.String(), 64)
				if err != nil || math.IsInf(v, 0) {
					c.errorf(f, s.Min.Span(), CodeStrategy, "invalid minimum score %s", s.Min.String())
					break
				}
				out.Min = &v
			}
		case *lang.Capacity:
			n, err := strconv.Atoi(s.Max.String())
			if err != nil || n < 1 {
				c.errorf(f, s.Max.Span(), CodeCapacity, "capacity must be a whole number of leads, at least 1")
				continue
			}
			out.Capacity = n
		case *lang.TeamCalendar:
			out.Calendar = c.calendarRef(f, s.Calendar)
		case *lang.TeamManager:
			if manager != nil {
				c.errorf(f, s.Span(), CodeRepeated, "a team has one manager").related(f, manager.Span(), "first manager")
				continue
			}
			manager = s
			if s.Role != nil {
				if c.resolveRole(f, s.Role, "manager") {
					out.Manager = s.Role.Name
				}
			} else if out.Manager = strings.TrimSpace(s.Person.Value()); out.Manager == "" {
				c.errorf(f, s.Person.Span(), CodeBadLiteral, "a manager needs a name or email")
			}
		case *lang.Member:
			email := strings.TrimSpace(s.Email.Value())
			if email == "" {
				c.errorf(f, s.Email.Span(), CodeBadLiteral, "a member needs a name or email")
				continue
			}
			if prev, ok := seenEmail[email]; ok {
				c.errorf(f, s.Email.Span(), CodeDuplicate, "member %s is listed twice", s.Email.Raw).related(f, prev, "first listed here")
				continue
			}
			seenEmail[email] = s.Email.Span()
			m := ir.Member{Email: email, Weight: 1, Pos: pos(f, s.Span())}
			names := map[string]bool{}
			for _, a := range s.Attrs {
				if names[a.Name.Name] {
					c.errorf(f, a.Name.Span(), CodeDuplicate, "attribute `%s` is given twice", a.Name.Name)
					continue
				}
				names[a.Name.Name] = true
				if a.Name.Name == "weight" {
					n, err := strconv.Atoi(literalText(a.Value))
					if err != nil || n < 1 {
						c.errorf(f, a.Value.Span(), CodeMemberAttrs, "weight must be a whole number, at least 1")
						continue
					}
					m.Weight = n
					continue
				}
				if a.Name.Name == "capacity" {
					n, err := strconv.Atoi(literalText(a.Value))
					if err != nil || n < 1 {
						c.errorf(f, a.Value.Span(), CodeCapacity, "a member's capacity must be a whole number of leads, at least 1")
						continue
					}
					m.Capacity = n
					continue
				}
				if a.Name.Name == "email" {
					c.errorf(f, a.Name.Span(), CodeMemberAttrs, "`member.email` is built in: it is the member's name")
					continue
				}
				if a.Name.Name == "manager" {
					// a role by its name, or a person by a string
					switch {
					case a.Value.Name != nil:
						if c.resolveRole(f, a.Value.Name, "manager") {
							m.Manager = a.Value.Name.Name
						}
					case a.Value.String != nil && strings.TrimSpace(a.Value.String.Value()) != "":
						m.Manager = strings.TrimSpace(a.Value.String.Value())
					default:
						c.errorf(f, a.Value.Span(), CodeMemberAttrs, "a manager is a role or a person: `manager sales_director` or `manager \"dana@acme.example\"`")
					}
					continue
				}
				if a.Name.Name == "load" {
					c.errorf(f, a.Name.Span(), CodeMemberAttrs, "`member.load` is built in: it is the member's count of open leads")
					continue
				}
				typ, v, ok := c.literalType(f, a.Value)
				if !ok {
					continue
				}
				if m.Attrs == nil {
					m.Attrs = map[string]any{}
				}
				m.Attrs[a.Name.Name] = ir.Export(v)
				if prevT, ok := attrTypes[a.Name.Name]; ok && prevT.String() != typ.String() {
					c.errorf(f, a.Value.Span(), CodeMemberAttrs, "attribute `%s` is %s here but %s for the first member", a.Name.Name, typ, prevT)
				}
				if attrsFrom == nil {
					attrTypes[a.Name.Name] = typ
					out.Attrs = append(out.Attrs, ir.Field{Name: a.Name.Name, Type: typ})
				}
			}
			if attrsFrom == nil {
				attrsFrom = s
			} else {
				c.checkSameAttrs(f, attrsFrom, s)
			}
			out.Members = append(out.Members, m)
		}
	}
	if strategy == nil {
		c.errorf(f, d.Name.Span(), CodeStrategy, "team `%s` has no strategy", d.Name.Name).
			help("add `strategy round_robin` (or weighted, least_loaded, best_fit by EXPR)")
	}
	if len(out.Members) == 0 {
		c.errorf(f, d.Name.Span(), CodeStrategy, "team `%s` has no members", d.Name.Name).help("add `member \"name@example.com\"`")
	}
	if strategy != nil && strategy.By != nil && strategy.Kind.Name == ir.BestFit {
		out.By = c.queue(f, strategy.By, celenv.Context{Team: out.Name}, wantNumber, "the best_fit score", nil, nil).out
	}
	return out
}

// builtinMemberAttr are the member attributes the language defines: they
// need not be given for every member, and are not member.X attributes
// (`member.email` and `member.weight` are built into expressions, and
// `member.load` is the member's open leads; `manager` is whom escalations
// to manager_of(member) reach).
var builtinMemberAttr = map[string]bool{"email": true, "weight": true, "capacity": true, "load": true, "manager": true}

// checkSameAttrs reports a member whose attribute names differ from the
// first member's: `member.X` must mean the same for every member.
func (c *compilation) checkSameAttrs(f *lang.File, first, m *lang.Member) {
	set := func(x *lang.Member) map[string]bool {
		s := map[string]bool{}
		for _, a := range x.Attrs {
			if !builtinMemberAttr[a.Name.Name] {
				s[a.Name.Name] = true
			}
		}
		return s
	}
	a, b := set(first), set(m)
	var missing, extra []string
	for k := range a {
		if !b[k] {
			missing = append(missing, k)
		}
	}
	for k := range b {
		if !a[k] {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) == 0 {
		return
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("lacks %s, which the first member has", strings.Join(sorted(missing), ", ")))
	}
	if len(extra) > 0 {
		parts = append(parts, fmt.Sprintf("has %s, which the first member lacks", strings.Join(sorted(extra), ", ")))
	}
	msg := "this member " + strings.Join(parts, ", and ")
	c.errorf(f, m.Email.Span(), CodeMemberAttrs, "%s", msg).related(f, first.Email.Span(), "the first member").
		help("all members of a team declare the same attributes (weight, capacity and manager aside), so member.X is defined for everyone")
}

func (c *compilation) buildRouting(r at[*lang.Routing]) ir.Routing {
	f, d := r.file, r.node
	out := ir.Routing{Name: r.qual + d.Name.Name, Pos: pos(f, d.Span())}
	for i, rule := range d.Rules {
		rl := ir.Rule{Pos: pos(f, rule.Span())}
		if rule.Else && i != len(d.Rules)-1 {
			c.errorf(f, lang.Span{Start: rule.Span().Start, End: rule.Span().Start + len("else")}, CodeMisplaced,
				"`else` must be the last rule: the rules after it never apply")
		}
		var guard *exprJob
		if rule.When != nil {
			guard = c.queue(f, rule.When, celenv.Context{}, wantBool, "a routing condition", nil, nil)
			rl.When = guard.out
		}
		if rule.Target.Kind == "route" {
			c.errorf(f, rule.Target.Span(), CodeOwnerKind, "a routing rule cannot route to another routing").
				help("name a team, a role or a user")
			continue
		}
		if a, ok := c.assignee(f, rule.Target, celenv.Context{}, guard); ok {
			rl.Target = *a
		}
		out.Rules = append(out.Rules, rl)
	}
	if len(d.Rules) == 0 {
		c.errorf(f, d.Name.Span(), CodeNotExhaustve, "routing `%s` has no rules", d.Name.Name).
			help("add `when CONDITION -> TARGET` rules and end with `else -> TARGET`")
	}
	return out
}

// assignee resolves `route R`, `team T`, `role R` or `user EXPR`.
func (c *compilation) assignee(f *lang.File, a *lang.Assignee, ctx celenv.Context, guard *exprJob) (*ir.Assignee, bool) {
	out := &ir.Assignee{Kind: a.Kind, Pos: pos(f, a.Span())}
	if a.User != nil {
		out.Kind = ir.AssignUser
		out.User = c.queue(f, a.User, ctx, wantString, "a user target", nil, guard).out
		return out, true
	}
	out.Name = a.Name.Name
	switch a.Kind {
	case ir.AssignRoute:
		return out, c.resolveRouting(f, a.Name)
	case ir.AssignTeam:
		return out, c.resolveTeam(f, a.Name)
	case ir.AssignRole:
		return out, c.resolveRole(f, a.Name, "a role target")
	}
	return out, false
}

func (c *compilation) resolveRouting(f *lang.File, id *lang.Ident) bool {
	if _, ok := c.routingByName[id.Name]; ok {
		return true
	}
	c.errorf(f, id.Span(), CodeUnknownRouting, "unknown routing `%s`", id.Name).suggest(id.Name, names(c.routingByName))
	return false
}

func (c *compilation) resolveTeam(f *lang.File, id *lang.Ident) bool {
	if _, ok := c.teamByName[id.Name]; ok {
		return true
	}
	c.errorf(f, id.Span(), CodeUnknownTeam, "unknown team `%s`", id.Name).suggest(id.Name, names(c.teamByName))
	return false
}

// resolveRole resolves a role named where only a role fits; use says
// where, for the message ("accountable", "notify", "a responsible role").
func (c *compilation) resolveRole(f *lang.File, id *lang.Ident, use string) bool {
	if _, ok := c.roleByName[id.Name]; ok {
		return true
	}
	if _, ok := c.teamByName[id.Name]; ok {
		c.errorf(f, id.Span(), CodeOwnerKind, "%s takes a role, but `%s` is a team", use, id.Name).
			help("declare a role for the person who answers for this, e.g. `role %s_manager`", id.Name)
		return false
	}
	if _, ok := c.routingByName[id.Name]; ok {
		c.errorf(f, id.Span(), CodeOwnerKind, "%s takes a role, but `%s` is a routing", use, id.Name).
			help("only `responsible` can be a routing: `responsible route %s`", id.Name)
		return false
	}
	d := c.errorf(f, id.Span(), CodeUnknownRole, "unknown role `%s`", id.Name)
	roles := names(c.roleByName)
	switch {
	case suggest.Nearest(id.Name, roles) != "":
		d.suggest(id.Name, roles)
	case abbreviates(id.Name, roles) != "":
		// Role names are long and written short (`sales_mgr`): farther
		// than the usual edit distance, but plain to a reader.
		r := abbreviates(id.Name, roles)
		d.d.Fixes = append(d.d.Fixes, lang.Fix{Message: fmt.Sprintf("did you mean `%s`?", r), Replace: r})
	default:
		d.help("declare it: `role %s`", id.Name)
	}
	return false
}

// abbreviates returns the one candidate that name abbreviates word by
// word (`sales_mgr` → `sales_manager`, `ism` → no): as many `_`-separated
// words, each starting with the candidate's word's letter and its letters
// found in it in order. "" if none, or several.
func abbreviates(name string, candidates []string) string {
	words := strings.Split(name, "_")
	found := ""
	for _, c := range candidates {
		cw := strings.Split(c, "_")
		if len(cw) != len(words) || c == name {
			continue
		}
		ok := true
		for i, w := range words {
			if w == "" || cw[i] == "" || w[0] != cw[i][0] || !subsequence(w, cw[i]) {
				ok = false
				break
			}
		}
		if ok {
			if found != "" {
				return ""
			}
			found = c
		}
	}
	return found
}

// subsequence reports whether the letters of a appear in b in order.
func subsequence(a, b string) bool {
	for i := 0; i < len(b) && a != ""; i++ {
		if b[i] == a[0] {
			a = a[1:]
		}
	}
	return a == ""
}

func (c *compilation) resolveEvent(f *lang.File, id *lang.Ident) bool {
	if id.Name == ir.EventCaptured || id.Name == ir.EventUpdated {
		return true
	}
	if _, ok := c.eventByName[id.Name]; ok {
		return true
	}
	candidates := append(names(c.eventByName), ir.EventCaptured, ir.EventUpdated)
	d := c.errorf(f, id.Span(), CodeUnknownEvent, "unknown event `%s`", id.Name)
	if suggest.Nearest(id.Name, candidates) != "" {
		d.suggest(id.Name, candidates)
	} else {
		d.help("declare it: `event %s`", id.Name)
	}
	return false
}

// calendarRef resolves `on CAL`; std calendars are written std.NAME.
func (c *compilation) calendarRef(f *lang.File, r *lang.Ref) string {
	name := r.String()
	if _, ok := c.calByName[name]; ok {
		return name
	}
	d := c.errorf(f, r.Span(), CodeUnknownCal, "unknown calendar `%s`", name).suggest(name, names(c.calByName))
	if strings.HasPrefix(name, "std.") {
		d.help("std calendars need `use std.calendars`")
	}
	return ""
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
