package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/leadlang/lead/lang"
)

// TestIndex checks that the index finds every use of a name: in the
// syntax, in CEL expressions (lead.F, event.F, stage names compared with
// lead.stage, calendars of the business-hours functions) and in tests
// (captures, payloads, escalated("role")).
func TestIndex(t *testing.T) {
	src := `workflow w
start intake
lead {
  email string
  score_pts int = 0
}
event form { kind string }
role ops
calendar biz {
  timezone "Europe/London"
  hours mon-fri 09:00-17:00
}
score score_pts {
  on form when event.kind == "demo" add 5
}
cell intake {
  owner { accountable ops  responsible role ops }
  assess {
    qualify when lead.score_pts >= 10 && in_business_hours("biz", now)
  }
  advance -> done
  develop {
    reassess on form
    recycle after 90bd on biz -> intake.assess
  }
}
stage done terminal
test "t" {
  capture { email = "a@b.example" }
  send form { kind = "demo" }
  expect lead.stage == "intake.develop" && !escalated("ops")
}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	os.WriteFile(path, []byte(src), 0o644)
	r := CompileFile(path, Options{})
	for _, d := range r.Diags {
		t.Errorf("unexpected diagnostic: %s", d)
	}
	ix := r.Index
	uses := func(kind, name string) []string {
		s := ix.Find(kind, name)
		if s == nil {
			t.Fatalf("no %s %s", kind, name)
		}
		var out []string
		for _, u := range ix.Uses(s) {
			line := u.File.Position(u.Span.Start).Line
			out = append(out, fmt.Sprintf("%d:%s", line, u.File.Src[u.Span.Start:u.Span.End]))
		}
		return out
	}
	for _, tc := range []struct {
		kind, name string
		want       []string
	}{
		{SymField, "score_pts", []string{"13:score_pts", "19:score_pts"}},
		{SymField, "email", []string{"29:email"}},
		{SymEvent, "form", []string{"14:form", "23:form", "30:form"}},
		{SymEventField, "form.kind", []string{"14:kind", "30:kind"}},
		{SymRole, "ops", []string{"17:ops", "17:ops", "31:ops"}},
		{SymCalendar, "biz", []string{"19:biz", "24:biz"}},
		{SymCell, "intake", []string{"2:intake", "24:intake", "31:intake"}},
		{SymCellPart, "intake.assess", []string{"24:assess"}},
		{SymCellPart, "intake.develop", []string{"31:develop"}},
		{SymStage, "done", []string{"21:done"}},
	} {
		if got := uses(tc.kind, tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("uses of %s %s = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
	if s, span, ok := ix.At(path, strings.Index(src, "lead.score_pts")+6); !ok || s.Name != "score_pts" || src[span.Start:span.End] != "score_pts" {
		t.Errorf("At(lead.score_pts) = %v %v %v", s, span, ok)
	}
	var inTest []string
	for _, ref := range ix.Refs {
		if ref.InTest {
			inTest = append(inTest, ref.Symbol.Name)
		}
	}
	if want := []string{"email", "form", "form.kind", "intake", "intake.develop", "ops"}; !slices.Equal(sortedCopy(inTest), want) {
		t.Errorf("uses in tests = %v, want %v", inTest, want)
	}
}

// TestIndexOfBrokenFile: a file with a syntax error still indexes its
// declarations, the broken one included (its statements that parse).
func TestIndexOfBrokenFile(t *testing.T) {
	src := "workflow w\nstart a\nrole ops\nstage a {\n  owner { accountable ops }\n  after 30 -> b\n}\nstage b {\n  owner { accountable ops }\n}\n"
	f, ds := lang.Parse("w.lead", src)
	r := Compile(f, ds, Options{})
	if !r.Diags.HasErrors() || r.Index.Find(SymStage, "a") == nil || r.Index.Find(SymStage, "b") == nil || len(r.Index.Uses(r.Index.Find(SymRole, "ops"))) != 2 {
		t.Errorf("index of a broken file: %+v", r.Index.Symbols)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestIndexOfNewForms: a standard's vocabulary (its fields, events and
// rules, used by a conforming workflow), lifecycle strings compared with
// lead.lifecycle, roles in an escalation target, a team's manager and a
// waiver's stage are indexed.
func TestIndexOfNewForms(t *testing.T) {
	dir := t.TempDir()
	std := `standard acme {
  stages   mql
  terminal won
  require accountable on every stage
  lead {
    email string
  }
  event accepted
  rule business = !is_free_email(lead.email)
}
`
	src := `workflow w
start inbox
conforms acme
waive "accountable" "nobody answers for won" on won
role ops
role boss
team desk {
  strategy round_robin
  manager boss
  member "ana@acme.example"
}
stage inbox {
  lifecycle mql
  owner { accountable ops  responsible team desk }
  on accepted when business() && lead.lifecycle == "mql" -> won
  after 1d -> won {
    escalate (lead.email == "" ? "boss" : manager_of(lead.owner))
  }
}
stage won terminal { lifecycle won }
`
	os.WriteFile(filepath.Join(dir, "acme.lead"), []byte(std), 0o644)
	path := filepath.Join(dir, "w.lead")
	os.WriteFile(path, []byte(src), 0o644)
	r := CompileFile(path, Options{})
	for _, d := range r.Diags {
		if d.Severity == lang.Error {
			t.Errorf("unexpected diagnostic: %s", d)
		}
	}
	ix := r.Index
	for _, tc := range []struct {
		kind, name string
		want       []string
	}{
		{SymRule, "business", []string{"w.lead:15:business"}},
		{SymField, "email", []string{"acme.lead:9:email", "w.lead:17:email"}},
		{SymEvent, "accepted", []string{"w.lead:15:accepted"}},
		{SymLifecycle, "acme.mql", []string{"w.lead:13:mql", "w.lead:15:mql"}},
		{SymRole, "boss", []string{"w.lead:9:boss", "w.lead:17:boss"}},
		{SymStage, "won", []string{"w.lead:4:won", "w.lead:15:won", "w.lead:16:won"}},
	} {
		s := ix.Find(tc.kind, tc.name)
		if s == nil {
			t.Errorf("no %s %s", tc.kind, tc.name)
			continue
		}
		var got []string
		for _, u := range ix.Uses(s) {
			got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(u.File.Name), u.File.Position(u.Span.Start).Line, u.File.Src[u.Span.Start:u.Span.End]))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("uses of %s %s = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}
