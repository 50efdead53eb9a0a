package leadtest

import (
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
)

// suite compiles a workflow with its test blocks written inline.
func suite(t testing.TB, name, src string) *Suite {
	t.Helper()
	f, diags := lang.Parse(name, src)
	r := compiler.Compile(f, diags, compiler.Options{ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist }})
	if r.Diags.HasErrors() {
		var b strings.Builder
		for _, d := range r.Diags {
			fmt.Fprintf(&b, "%s\n", d)
		}
		t.Fatalf("compile:\n%s", b.String())
	}
	s, err := NewSuite(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const workflowSrc = `workflow w
start inbox

lead {
  email string
  company string = ""
  n int = 0
  tags list<string> = []
}

event poke
event go
event close

role ops
role mgr

owner { accountable ops }

team sales {
  strategy round_robin
  member "ana@acme.example"
  member "ben@acme.example"
}

on poke { set lead.n = lead.n + 1 }

stage inbox {
  owner { responsible team sales }
  on go -> working
  on close -> lost
  sla first within 1h {
    warn at 50% { notify responsible "soon" }
    breach { escalate mgr }
  }
  after 2d -> lost
}

stage working {
  owner { responsible team sales }
  enter { notify mgr "working on " + lead.email }
  on close -> won
  after 30d -> lost
}

stage won terminal
stage lost terminal
`

// lineOf returns the 1-based line of the first line containing s.
func lineOf(src, s string) int {
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}

// TestExpectations: the test helpers, passing and failing, and the shape
// of a failure: file:line: expect failed: <expr>, the values involved and
// the last steps of the lead's history.
func TestExpectations(t *testing.T) {
	src := workflowSrc + `
test "helpers" {
  at "2026-03-02T09:00:00Z"
  capture { email = "a@x.example", company = "Big Co" }
  expect lead.owner == "ana@acme.example"
  expect !stuck()
  expect !escalated("mgr") && !notified("mgr")
  wait 31m
  expect notified("responsible") && notified("ana@acme.example")
  wait 30m
  expect escalated("mgr") && notified("mgr")
  send poke
  send go
  expect lead.stage == "working" && lead.n == 1
  expect history.size() == 5 && history[4].to == "working" && history[4].event == "go"
  expect history[0].cause == "capture" && history[2].cause == "timer"
  expect history.filter(s, s.cause == "timer").size() == 2
  expect history.filter(s, s.cause == "event")[0].event == "poke"
  expect history.map(s, s.to).exists(t, t == "working")
  expect history.exists_one(s, s.event == "go") && history.all(s, s.at <= now)
}

test "fails" {
  at "2026-03-02T09:00:00Z"
  capture { email = "b@x.example", company = "Small Co" }
  send poke
  send poke
  expect lead.stage == "nowhere" || lead.n == 3 || lead.company == "Big Co"
}

test "fails on escalation" {
  capture { email = "c@x.example" }
  expect escalated("mgr")
}
`
	s := suite(t, "x.lead", src)
	results, _ := Run([]*Suite{s}, nil)
	if len(results) != 3 {
		t.Fatalf("results: %+v", results)
	}
	if results[0].Status != Pass {
		t.Errorf("helpers: %s", results[0].Message)
	}
	f := results[1]
	eq(t, "status", f.Status, Fail)
	eq(t, "line", f.Line, lineOf(src, `test "fails"`))
	want := fmt.Sprintf(`x.lead:%d: expect failed: lead.stage == "nowhere" || lead.n == 3 || lead.company == "Big Co"`, lineOf(src, `expect lead.stage == "nowhere"`))
	lines := strings.Split(f.Message, "\n")
	eq(t, "first line", lines[0], want)
	for _, s := range []string{
		`lead lead-1: stage "inbox", owner "ana@acme.example"`,
		`lead.n = 2`,
		`lead.company = "Small Co"`,
		`clock: 2026-03-02T09:00:00Z`,
		`last steps:`,
		`2026-03-02T09:00:00Z capture captured: (new) -> inbox, owner "ana@acme.example"`,
		`2026-03-02T09:00:00Z event poke: in inbox, owner "ana@acme.example", did set n`,
	} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("failure message lacks %q:\n%s", s, f.Message)
		}
	}
	t.Logf("failure message:\n%s", f.Message)
	g := results[2]
	eq(t, "status", g.Status, Fail)
	if !strings.Contains(g.Message, "expect failed: escalated(\"mgr\")") || !strings.Contains(g.Message, "escalated: []") {
		t.Errorf("message:\n%s", g.Message)
	}
	if !strings.Contains(g.Message, "clock: 2026-01-05T09:00:00Z") {
		t.Errorf("a test without `at` runs at the default time:\n%s", g.Message)
	}
}

// TestRejectedSteps: a capture or send the engine rejects fails the test at
// that statement, with the engine's message.
func TestRejectedSteps(t *testing.T) {
	src := workflowSrc + `
test "duplicate id" {
  capture { id = "A", email = "a@x.example" }
  capture { id = "A", email = "b@x.example" }
}
`
	s := suite(t, "x.lead", src)
	// Steps the compiler would refuse, as a hand-built test: the engine
	// still rejects them cleanly.
	pos := s.Tests[0].Steps[0].Pos
	s.Tests = append(s.Tests, &compiler.Test{Name: "bad capture", Pos: pos, Steps: []compiler.TestStep{
		{Kind: compiler.StepCapture, Pos: pos, Fields: map[string]any{"company": 3, "stage": "won"}},
	}}, &compiler.Test{Name: "bad send", Pos: pos, Steps: []compiler.TestStep{
		{Kind: compiler.StepSend, Pos: pos, Event: "poke"},
		{Kind: compiler.StepCapture, Pos: pos, Fields: map[string]any{"email": "a@x"}},
		{Kind: compiler.StepSend, Pos: pos, Event: "poke", Fields: map[string]any{"extra": 1}},
		{Kind: compiler.StepSend, Pos: pos, Event: "nope"},
	}})
	results, _ := Run([]*Suite{s}, nil)
	wants := []string{
		fmt.Sprintf("x.lead:%d: capture: lead A already exists", lineOf(src, `capture { id = "A", email = "b`)),
		"capture rejected: invalid lead fields: company: expected a string, got the number 3; email: is required; stage: is a built-in attribute",
		"send: no lead captured yet",
	}
	for i, want := range wants {
		if results[i].Status != Fail || !strings.Contains(results[i].Message, want) {
			t.Errorf("%s: %s, want %q", results[i].Name, results[i].Message, want)
		}
	}
	// The bad send stops the test at the first failure, so patch the test to
	// begin with a capture and look at the payload error.
	s.Tests[2].Steps = s.Tests[2].Steps[1:]
	results, _ = Run([]*Suite{s}, regexp.MustCompile("^bad send$"))
	if len(results) != 1 || !strings.Contains(results[0].Message, "send poke rejected: invalid payload for event poke: extra: event poke has no such field") {
		t.Errorf("bad send: %+v", results)
	}
}

// TestFilterAndCoverage: Run's filter selects tests by name; coverage
// counts the graph's edges the selected tests took and lists the others
// with their positions.
func TestFilterAndCoverage(t *testing.T) {
	src := workflowSrc + `
test "go to work" {
  capture { email = "a@x.example" }
  send go
  expect lead.stage == "working"
}

test "close at once" {
  capture { email = "a@x.example" }
  send close
  expect lead.stage == "lost"
}

test "time out" {
  capture { email = "a@x.example" }
  wait 49h
  expect lead.stage == "lost"
}
`
	s := suite(t, "x.lead", src)
	results, cov := Run([]*Suite{s}, regexp.MustCompile("work|once"))
	var names []string
	for _, r := range results {
		names = append(names, r.Name+":"+r.Status)
	}
	eq(t, "selected", strings.Join(names, ", "), "go to work:pass, close at once:pass")
	eq(t, "coverage", fmt.Sprintf("%s %d/%d", cov[0].Workflow, cov[0].Covered, cov[0].Edges), "w 2/5")
	var missing []string
	for _, e := range cov[0].Missing {
		missing = append(missing, fmt.Sprintf("%s:%d %s -> %s (%s)", e.Pos.File, e.Pos.Line, e.From, e.To, e.Label))
	}
	eqs(t, "missing", missing, []string{
		fmt.Sprintf("x.lead:%d inbox -> lost (after 2d)", lineOf(src, "after 2d -> lost")),
		fmt.Sprintf("x.lead:%d working -> won (close)", lineOf(src, "on close -> won")),
		fmt.Sprintf("x.lead:%d working -> lost (after 30d)", lineOf(src, "after 30d -> lost")),
	})

	_, cov = Run([]*Suite{s}, nil)
	eq(t, "all tests", fmt.Sprintf("%d/%d", cov[0].Covered, cov[0].Edges), "3/5")
	_, cov = Run([]*Suite{s}, regexp.MustCompile("no such test"))
	eq(t, "no tests", fmt.Sprintf("%d/%d %d", cov[0].Covered, cov[0].Edges, len(cov[0].Missing)), "0/5 5")
}

// TestDeterministic: many tests run in parallel give the same results,
// in source order, every time.
func TestDeterministic(t *testing.T) {
	var b strings.Builder
	b.WriteString(workflowSrc)
	for i := range 200 {
		fmt.Fprintf(&b, `
test "t%d" {
  at "2026-03-02T09:00:00Z"
  capture { email = "a%d@x.example" }
  capture { email = "b%d@x.example" }
  send poke
  wait %dm
  expect lead.owner == "ben@acme.example" && lead.n == %d
}
`, i, i, i, 20+i%70, i%2)
	}
	s := suite(t, "many.lead", b.String())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	first, firstCov := Run([]*Suite{s}, nil)
	for i, r := range first {
		if want := fmt.Sprintf("t%d", i); r.Name != want {
			t.Fatalf("result %d is %s, want %s", i, r.Name, want)
		}
		if pass := i%2 == 1; (r.Status == Pass) != pass {
			t.Fatalf("%s: %s %s", r.Name, r.Status, r.Message)
		}
	}
	for range 5 {
		again, cov := Run([]*Suite{s}, nil)
		if !reflect.DeepEqual(first, again) || !reflect.DeepEqual(firstCov, cov) {
			t.Fatal("results differ between runs")
		}
	}
}

func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqs[T comparable](t testing.TB, what string, got, want []T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s =\n  %v\nwant\n  %v", what, got, want)
	}
}

// TestSendUpdated: `send updated { ... }` changes fields as PATCH does and
// runs the `updated` handlers.
func TestSendUpdated(t *testing.T) {
	src := `workflow u
start a
lead {
  email string
  n     int = 0
  tier  enum(free, paid) = free
}
role r
on updated {
  set lead.n = lead.n + 1
}
stage a {
  owner { accountable r  responsible role r }
  when lead.tier == "paid" -> b
  after 1d -> b
}
stage b terminal
test "updated runs the handler and the automatic transitions" {
  capture { email = "a@b.example" }
  send updated { tier = "paid" }
  expect lead.n == 1 && lead.tier == "paid" && lead.stage == "b"
}
`
	results, _ := Run([]*Suite{suite(t, "u.lead", src)}, nil)
	if len(results) != 1 || results[0].Status != Pass {
		t.Fatalf("%+v", results)
	}
}

// TestLifecycleOverrideEscalations: lead.lifecycle follows the stage
// (including a cell's), `override` moves the lead as an operator does (an
// override into the stage it is in restarts its SLAs), and escalated(r)
// compared with a number counts the escalations to r.
func TestLifecycleOverrideEscalations(t *testing.T) {
	src := `workflow lc
start inbox
lead {
  email string
}
event accepted
role ops
role boss
stage inbox {
  lifecycle mql
  owner { accountable ops  responsible role ops }
  on accepted when lead.lifecycle == "mql" -> sales
  sla touch within 1h {
    breach { escalate boss }
  }
  after 5h -> lost
}
cell sales {
  owner { accountable ops  responsible role ops }
  assess {
    lifecycle sal
    qualify when lead.email != ""
  }
  advance -> won {
    accept on accepted
  }
  develop {
    nurture every 30d
  }
}
stage won terminal {
  lifecycle won
}
stage lost terminal
test "counts" {
  capture { email = "a@b.example" }
  expect lead.lifecycle == "mql" && escalated("boss") == 0
  wait 1h
  expect escalated("boss") == 1
  override inbox "the boss asked for another hour"
  wait 1h
  expect escalated("boss") == 2 && escalated("boss") && escalated("ops") == 0
  expect history[2].cause == "override"
  override sales.assess
  expect lead.stage == "sales.advance" && lead.lifecycle == ""
  override lost "gone"
  expect lead.lifecycle == "" && lead.stage == "lost"
}
test "fails with the count" {
  capture { email = "a@b.example" }
  wait 1h
  expect escalated("boss") == 2
}
`
	results, _ := Run([]*Suite{suite(t, "lc.lead", src)}, nil)
	if len(results) != 2 {
		t.Fatalf("%+v", results)
	}
	if results[0].Status != Pass {
		t.Errorf("counts: %s", results[0].Message)
	}
	if f := results[1]; f.Status != Fail || !strings.Contains(f.Message, `escalated: ["boss"]`) {
		t.Errorf("fails with the count: %+v", f)
	}
}

// TestEscalateByExpression: an escalation target chosen by the lead (a
// role by region) or the owner's manager (the member's own, else the
// team's); an empty target is an eval_error.
func TestEscalateByExpression(t *testing.T) {
	src := `workflow esc
start inbox
lead {
  email  string
  region enum(na, emea) = na
}
event poke
role ops
role na_director
role emea_director
team sdr {
  strategy round_robin
  manager na_director
  member "ana@acme.example" { manager "dana@acme.example" }
  member "ben@acme.example"
}
stage inbox {
  owner { accountable ops  responsible team sdr }
  on poke { escalate (lead.region == "emea" ? "emea_director" : "na_director") "slow" }
  sla touch within 1h {
    breach { escalate (manager_of(lead.owner)) "untouched" }
  }
  on exception eval_error -> done
  after 1d -> done
}
stage done terminal
test "by region and by manager" {
  capture { email = "a@b.example", region = "emea" }
  send poke
  expect escalated("emea_director") && !escalated("na_director")
  wait 1h
  expect lead.owner == "ana@acme.example" && escalated("dana@acme.example") && notified("dana@acme.example")
  capture { email = "c@d.example" }
  send poke
  expect escalated("na_director")
  wait 1h
  expect lead.owner == "ben@acme.example" && escalated("na_director") == 2
}
`
	results, _ := Run([]*Suite{suite(t, "esc.lead", src)}, nil)
	if len(results) != 1 || results[0].Status != Pass {
		t.Fatalf("%+v", results)
	}
}

// TestEscalateToNobody: a target that evaluates to "" raises eval_error,
// and the step's other actions are undone.
func TestEscalateToNobody(t *testing.T) {
	src := `workflow esc
start inbox
lead {
  email string
  rep   string = ""
  n     int = 0
}
event poke
role ops
stage inbox {
  owner { accountable ops  responsible role ops }
  on poke {
    set lead.n = 1
    escalate (lead.rep)
  }
  on exception eval_error -> done
  after 1d -> done
}
stage done terminal
test "nobody" {
  capture { email = "a@b.example" }
  send poke
  expect lead.stage == "done" && lead.n == 0 && escalated("") == 0
  expect history[1].cause == "event"
}
`
	results, _ := Run([]*Suite{suite(t, "esc.lead", src)}, nil)
	if len(results) != 1 || results[0].Status != Pass {
		t.Fatalf("%+v", results)
	}
}

// TestEscalatedCounts: escalated(r) compared with a number, on either side
// and negative, is the number of escalations to r; elsewhere, and compared
// with anything else, it is whether there was one.
func TestEscalatedCounts(t *testing.T) {
	src := workflowSrc + `
test "counts" {
  capture { email = "a@x.example" }
  expect escalated("mgr") == 0 && !escalated("mgr")
  wait 61m
  expect escalated("mgr") == 1 && 2 > escalated("mgr") && escalated("mgr") != -1 && escalated("mgr") >= 1.0
  expect escalated("mgr") && escalated("mgr") == true && [escalated("mgr") == 1].all(b, b)
}
`
	results, _ := Run([]*Suite{suite(t, "x.lead", src)}, nil)
	if len(results) != 1 || results[0].Status != Pass {
		t.Fatalf("%+v", results)
	}
}
