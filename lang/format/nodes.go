package format

import (
	"fmt"
	"strings"

	"github.com/leadlang/lead/lang"
)

// Separators of the items of a one-line block.
const (
	sepStmt  = "; "
	sepList  = ", "
	sepOwner = "  "
)

// node prints one declaration, statement, clause, action, field or entry.
// Statements that align with their neighbours call mark at the alignment
// point, before any nested block.
func (p *printer) node(n any) {
	switch n := n.(type) {
	// Declarations.
	case *lang.Workflow:
		p.str("workflow ")
		p.ident(n.Name)
		if n.Title != nil {
			p.str(" ")
			p.stringLit(n.Title)
		}
	case *lang.Start:
		p.str("start ")
		p.ref(n.Target)
	case *lang.Conforms:
		p.str("conforms ")
		p.ref(n.Standard)
	case *lang.Use:
		p.str("use ")
		p.ref(n.Module)
	case *lang.Waive:
		p.str("waive ")
		p.stringLit(n.Requirement)
		p.str(" ")
		p.stringLit(n.Reason)
		if n.Stage != nil {
			p.str(" on ")
			p.ref(n.Stage)
		}
		if n.Until != nil {
			p.str(" until ")
			p.stringLit(n.Until)
		}
	case *lang.LeadSchema:
		p.str("lead ")
		block(p, n.Fields, p.findOpen(n.Pos.Offset+len("lead")), closeOf(&n.Node), sepList)
	case *lang.Event:
		p.str("event ")
		p.ident(n.Name)
		if n.Braces {
			p.mark()
			p.str(" ")
			block(p, n.Fields, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepList)
		}
	case *lang.Role:
		p.str("role ")
		p.ident(n.Name)
		if n.Title != nil {
			p.str(" ")
			p.stringLit(n.Title)
		}
	case *lang.Team:
		p.str("team ")
		p.ident(n.Name)
		p.str(" ")
		block(p, n.Stmts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.Calendar:
		p.str("calendar ")
		p.ident(n.Name)
		p.str(" ")
		block(p, n.Stmts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.Routing:
		p.str("routing ")
		p.ident(n.Name)
		p.str(" ")
		block(p, n.Rules, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.OwnerBlock:
		p.str("owner ")
		block(p, n.Entries, p.findOpen(n.Pos.Offset+len("owner")), closeOf(&n.Node), sepOwner)
	case *lang.Score:
		p.str("score ")
		p.ident(n.Field)
		p.str(" ")
		block(p, n.Stmts, p.findOpen(n.Field.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.Stage:
		p.str("stage ")
		p.ident(n.Name)
		if n.Terminal {
			p.str(" terminal")
		}
		if n.Braces {
			p.str(" ")
			block(p, n.Stmts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
		}
	case *lang.Cell:
		p.str("cell ")
		p.ident(n.Name)
		p.str(" ")
		block(p, n.Parts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.Standard:
		p.str("standard ")
		p.ident(n.Name)
		p.str(" ")
		block(p, n.Stmts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)
	case *lang.Test:
		p.str("test ")
		p.stringLit(n.Name)
		p.str(" ")
		block(p, n.Stmts, p.findOpen(n.Name.EndPos.Offset), closeOf(&n.Node), sepStmt)

	// Fields, teams, calendars, routing, owners, scores.
	case *lang.Field:
		p.ident(n.Name)
		p.mark()
		p.str(" ")
		p.typeExpr(n.Type)
		if n.Optional {
			p.str("?")
		}
		if n.Default != nil {
			p.str(" = ")
			p.literal(n.Default)
		}
	case *lang.Strategy:
		p.str("strategy ")
		p.ident(n.Kind)
		if n.By != nil {
			p.str(" by ")
			p.expr(n.By)
			if n.Min != nil {
				p.str(" min ")
				p.number(n.Min)
			}
		}
	case *lang.Capacity:
		p.str("capacity ")
		p.number(n.Max)
	case *lang.TeamCalendar:
		p.str("calendar ")
		p.ref(n.Calendar)
	case *lang.TeamManager:
		p.str("manager ")
		if n.Role != nil {
			p.ident(n.Role)
		} else {
			p.stringLit(n.Person)
		}
	case *lang.Member:
		p.str("member ")
		p.stringLit(n.Email)
		if n.Braces {
			p.str(" ")
			block(p, n.Attrs, p.findOpen(n.Email.EndPos.Offset), closeOf(&n.Node), sepList)
		}
	case *lang.MemberAttr:
		p.ident(n.Name)
		p.str(" ")
		p.literal(n.Value)
	case *lang.Timezone:
		p.str("timezone ")
		p.stringLit(n.Zone)
	case *lang.Hours:
		p.str("hours ")
		for i, d := range n.Days {
			if i > 0 {
				p.comma(n.Days[i-1].EndPos.Offset, d.Pos.Offset)
			}
			p.ident(d.From)
			if d.To != nil {
				p.str("-")
				p.ident(d.To)
			}
		}
		p.str(" ")
		p.token(&n.Start.Node, n.Start.Text)
		p.str("-")
		p.token(&n.End.Node, n.End.Text)
	case *lang.Holiday:
		p.str("holiday ")
		p.stringLit(n.Date)
	case *lang.Workday:
		p.str("workday ")
		p.stringLit(n.Date)
		for i, r := range n.Hours {
			if i > 0 {
				p.comma(n.Hours[i-1].EndPos.Offset, r.Pos.Offset)
			} else {
				p.str(" ")
			}
			p.token(&r.Start.Node, r.Start.Text)
			p.str("-")
			p.token(&r.End.Node, r.End.Text)
		}
	case *lang.RouteRule:
		if n.Else {
			p.str("else")
		} else {
			p.str("when ")
			p.expr(n.When)
		}
		p.mark()
		p.str(" -> ")
		p.assignee(n.Target)
	case *lang.OwnerEntry:
		p.str(n.Kind)
		p.mark()
		p.str(" ")
		if n.Assignee != nil {
			p.assignee(n.Assignee)
		} else {
			p.ident(n.Role)
		}
	case *lang.ScoreRule:
		p.str("on ")
		p.idents(n.Events)
		if n.When != nil {
			p.str(" when ")
			p.expr(n.When)
		}
		p.str(" add ")
		p.number(n.Add)
	case *lang.Decay:
		p.str("decay ")
		p.token(&n.Percent.Node, n.Percent.Text)
		p.str(" every ")
		p.duration(n.Every)
		p.onCalendar(n.Calendar)
	case *lang.Limit:
		p.str("limit ")
		p.number(n.Min)
		p.str("..")
		p.number(n.Max)

	// Cells and standards.
	case *lang.Assess:
		p.str("assess ")
		block(p, n.Stmts, p.findOpen(n.Pos.Offset+len("assess")), closeOf(&n.Node), sepStmt)
	case *lang.Advance:
		p.str("advance -> ")
		p.ref(n.Target)
		if n.Braces {
			p.str(" ")
			block(p, n.Stmts, p.findOpen(n.Target.EndPos.Offset), closeOf(&n.Node), sepStmt)
		}
	case *lang.Develop:
		p.str("develop ")
		block(p, n.Stmts, p.findOpen(n.Pos.Offset+len("develop")), closeOf(&n.Node), sepStmt)
	case *lang.StandardStages:
		if n.Terminal {
			p.str("terminal")
		} else {
			p.str("stages")
		}
		p.mark()
		p.str(" ")
		p.idents(n.Names)
	case *lang.Require:
		if n.Accountable {
			p.str("require accountable on every stage")
			break
		}
		p.str("require sla on ")
		p.ident(n.Lifecycle)
		p.str(" within ")
		p.duration(n.Within)
	case *lang.StandardRule:
		p.str("rule ")
		p.ident(n.Name)
		p.str(" = ")
		p.expr(n.Expr)

	// Tests.
	case *lang.At:
		p.str("at ")
		p.stringLit(n.Time)
	case *lang.Capture:
		p.str("capture ")
		p.objectLit(n.Fields)
	case *lang.Send:
		p.str("send ")
		p.ident(n.Event)
		if n.Data != nil {
			p.str(" ")
			p.objectLit(n.Data)
		}
	case *lang.Override:
		p.str("override ")
		p.ref(n.Stage)
		if n.Reason != nil {
			p.str(" ")
			p.stringLit(n.Reason)
		}
	case *lang.FieldValue:
		p.ident(n.Name)
		p.str(" = ")
		p.literal(n.Value)
	case *lang.Wait:
		p.str("wait ")
		p.duration(n.For)
	case *lang.Expect:
		p.str("expect ")
		p.expr(n.Cond)

	// Stage statements.
	case *lang.Lifecycle:
		p.str("lifecycle ")
		p.ident(n.Name)
	case *lang.EnterExit:
		p.str(n.Kind)
		p.str(" ")
		p.actions(n.Actions)
	case *lang.On:
		p.str("on ")
		if n.Exception != nil {
			p.str("exception ")
			p.ident(n.Exception)
		} else {
			p.idents(n.Events)
			if n.When != nil {
				p.str(" when ")
				p.expr(n.When)
			}
		}
		if n.Target != nil {
			p.mark()
			p.str(" -> ")
			p.ref(n.Target)
		}
		if n.Actions != nil {
			p.str(" ")
			p.actions(n.Actions)
		}
	case *lang.When:
		p.str("when ")
		p.expr(n.Cond)
		p.str(" -> ")
		p.ref(n.Target)
		if n.Actions != nil {
			p.str(" ")
			p.actions(n.Actions)
		}
	case *lang.After:
		p.str("after ")
		p.length(n.Duration, n.Choice)
		p.onCalendar(n.Calendar)
		p.str(" -> ")
		p.ref(n.Target)
		if n.Actions != nil {
			p.str(" ")
			p.actions(n.Actions)
		}
	case *lang.SLA:
		p.str("sla ")
		p.ident(n.Name)
		p.str(" within ")
		p.length(n.Within, n.Choice)
		p.onCalendar(n.Calendar)
		if n.Clock != "" {
			p.str(" from " + n.Clock)
		}
		if len(n.Until) > 0 {
			p.str(" until ")
			p.idents(n.Until)
		}
		if n.Braces {
			p.str(" ")
			from := n.Name.EndPos.Offset
			switch {
			case n.Choice != nil:
				from = n.Choice.EndPos.Offset
			case n.Within != nil:
				from = n.Within.EndPos.Offset
			}
			block(p, n.Clauses, p.findOpen(from), closeOf(&n.Node), sepStmt)
		}
	case *lang.Warn:
		p.str("warn at ")
		if n.Percent != nil {
			p.token(&n.Percent.Node, n.Percent.Text)
		} else {
			p.duration(n.Duration)
		}
		p.mark()
		p.str(" ")
		p.actions(n.Actions)
	case *lang.Breach:
		p.str("breach")
		p.mark()
		p.str(" ")
		p.actions(n.Actions)
	case *lang.Disqualify:
		p.str("disqualify")
		p.mark()
		p.str(" when ")
		p.expr(n.Cond)
		p.str(" -> ")
		p.ref(n.Target)
	case *lang.Qualify:
		p.str("qualify")
		p.mark()
		p.str(" when ")
		p.expr(n.Cond)
	case *lang.Undecided:
		p.str("undecided after ")
		p.duration(n.After)
		p.onCalendar(n.Calendar)
		if n.Target != nil {
			p.str(" -> ")
			p.ref(n.Target)
		}
	case *lang.Route:
		p.str("route ")
		p.ident(n.Routing)
	case *lang.Accept:
		p.str("accept on ")
		p.idents(n.Events)
	case *lang.Reject:
		p.str("reject on ")
		p.idents(n.Events)
		if n.Target != nil {
			p.str(" -> ")
			p.ref(n.Target)
		}
	case *lang.Nurture:
		p.str("nurture every ")
		p.duration(n.Every)
		p.onCalendar(n.Calendar)
		if n.Message != nil {
			p.str(" ")
			p.expr(n.Message)
		}
	case *lang.Reassess:
		p.str("reassess on ")
		p.idents(n.Events)
	case *lang.Recycle:
		p.str("recycle after ")
		p.duration(n.After)
		p.onCalendar(n.Calendar)
		p.str(" -> ")
		p.ref(n.Target)

	// Actions.
	case *lang.Set:
		p.str("set ")
		p.ref(n.Field)
		p.str(" = ")
		p.expr(n.Value)
	case *lang.Assign:
		p.str("assign ")
		p.assignee(n.To)
	case *lang.Reassign:
		p.str("reassign")
	case *lang.Notify:
		p.str("notify ")
		p.ident(n.Target)
		if n.Message != nil {
			p.str(" ")
			p.expr(n.Message)
		}
	case *lang.Escalate:
		p.str("escalate ")
		if n.Role != nil {
			p.ident(n.Role)
		} else {
			p.str("(")
			p.expr(n.To)
			end := n.EndPos.Offset
			if n.Message != nil {
				end = n.Message.Pos.Offset
			}
			if i := p.findByte(n.To.EndPos.Offset, end, ')'); i >= 0 {
				p.at(i) // comments before the `)`
			}
			p.tight()
			p.str(")")
		}
		if n.Message != nil {
			p.str(" ")
			p.expr(n.Message)
		}
	case *lang.Move:
		p.str("-> ")
		p.ref(n.Target)
	default:
		panic(fmt.Sprintf("format: unexpected AST node %T", n))
	}
}

// closeOf is the offset of the `}` that ends a node.
func closeOf(n *lang.Node) int { return n.EndPos.Offset - 1 }

func (p *printer) actions(b *lang.ActionBlock) {
	block(p, b.Actions, b.Pos.Offset, closeOf(&b.Node), sepStmt)
}

func (p *printer) objectLit(o *lang.ObjectLit) {
	block(p, o.Fields, o.Pos.Offset, closeOf(&o.Node), sepList)
}

// token prints a token whose node starts at its first byte.
func (p *printer) token(n *lang.Node, text string) {
	p.at(n.Pos.Offset)
	p.str(text)
}

func (p *printer) ident(id *lang.Ident)        { p.token(&id.Node, id.Name) }
func (p *printer) stringLit(s *lang.StringLit) { p.token(&s.Node, s.Raw) }
func (p *printer) duration(d *lang.Duration)   { p.token(&d.Node, d.Text) }

// length prints a duration, or a choice of one: on one line, `(when
// lead.tier == "hot" -> 15m, else -> 4h on us_business)`, or, if it was
// written on several, one rule a line, with the comments between them.
func (p *printer) length(d *lang.Duration, c *lang.Choice) {
	if c == nil {
		p.duration(d)
		return
	}
	multi := strings.IndexByte(p.src[c.Pos.Offset:c.EndPos.Offset], '\n') >= 0
	p.str("(")
	last := c.Pos.Offset + 1
	for i, r := range c.Rules {
		switch {
		case multi:
			if i > 0 {
				p.str(",")
			}
			p.trailing(&last, r.Pos.Offset)
			p.ownLines(r.Pos.Offset, p.indent+2)
			p.nl()
			p.spaces(p.indent + 2)
		case i > 0:
			p.str(", ")
		}
		last = r.EndPos.Offset
		if r.Else {
			p.str("else")
		} else {
			p.str("when ")
			p.expr(r.When)
		}
		p.str(" -> ")
		p.duration(r.Duration)
		p.onCalendar(r.Calendar)
	}
	if multi {
		p.trailing(&last, c.EndPos.Offset-1)
		p.ownLines(c.EndPos.Offset-1, p.indent+2)
		p.nl()
		p.spaces(p.indent)
	}
	p.str(")")
}

// ownLines prints the comments that start before off, each on a line of
// its own indented by indent.
func (p *printer) ownLines(off, indent int) {
	for p.ci < len(p.comments) && p.comments[p.ci].Span.Start < off {
		p.nl()
		p.spaces(indent)
		p.comment(p.comments[p.ci])
		p.ci++
	}
}

func (p *printer) idents(ids []*lang.Ident) {
	for i, id := range ids {
		if i > 0 {
			p.comma(ids[i-1].EndPos.Offset, id.Pos.Offset)
		}
		p.ident(id)
	}
}

// comma prints the `, ` between two list items, the first ending at from
// and the next starting at to, after the comments written before the comma.
func (p *printer) comma(from, to int) {
	if i := p.findByte(from, to, ','); i >= 0 {
		p.at(i)
	}
	p.tight()
	p.str(", ")
}

// tight drops the space after an inline comment before a token that takes
// no space before it: `a /* c */, b`, `enum(a /* c */)`.
func (p *printer) tight() {
	if n := len(p.out); n >= 3 && p.out[n-1] == ' ' && p.out[n-2] == '/' && p.out[n-3] == '*' {
		p.out = p.out[:n-1]
	}
}

func (p *printer) ref(r *lang.Ref) {
	p.at(r.Pos.Offset)
	p.str(r.Name)
	if r.Member != "" {
		p.str(".")
		p.str(r.Member)
	}
}

func (p *printer) number(n *lang.Number) {
	p.at(n.Pos.Offset)
	if n.Neg {
		p.str("-")
	}
	p.str(n.Text)
}

func (p *printer) onCalendar(r *lang.Ref) {
	if r != nil {
		p.str(" on ")
		p.ref(r)
	}
}

func (p *printer) assignee(a *lang.Assignee) {
	if a.User != nil {
		p.str("user ")
		p.expr(a.User)
		return
	}
	p.str(a.Kind)
	p.str(" ")
	p.ident(a.Name)
}

func (p *printer) typeExpr(t *lang.TypeExpr) {
	p.at(t.Pos.Offset)
	switch {
	case t.Enum != nil:
		p.str("enum(")
		p.idents(t.Enum)
		p.at(closeOf(&t.Node))
		p.tight()
		p.str(")")
	case t.List != nil:
		p.str("list<")
		p.typeExpr(t.List)
		p.str(">")
	case t.MapKey != nil:
		p.str("map<")
		p.typeExpr(t.MapKey)
		p.str(", ")
		p.typeExpr(t.MapVal)
		p.str(">")
	default:
		p.ident(t.Name)
	}
}

func (p *printer) literal(l *lang.Literal) {
	p.at(l.Pos.Offset)
	switch {
	case l.Number != nil:
		p.number(l.Number)
	case l.String != nil:
		p.stringLit(l.String)
	case l.Bool != "":
		p.str(l.Bool)
	case l.Duration != nil:
		p.duration(l.Duration)
	case l.Name != nil:
		p.ident(l.Name)
	case l.IsList:
		p.str("[")
		for i, v := range l.List {
			if i > 0 {
				p.comma(l.List[i-1].EndPos.Offset, v.Pos.Offset)
			}
			p.literal(v)
		}
		p.at(closeOf(&l.Node))
		p.tight()
		p.str("]")
	}
}
