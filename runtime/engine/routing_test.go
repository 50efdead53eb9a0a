package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// routeWorkflow routes captured leads to team t (declared by team) in its
// stage `work`; `close` ends a lead, `bump` reassigns it.
func routeWorkflow(team string) string {
	return `
workflow route
start work
lead {
  email   string
  product string = ""
  owner_hint string?
}
event close
event bump
role ops
owner { accountable ops }
` + calendars + team + `
on exception no_owner -> triage
stage work {
  owner { responsible team t }
  on close -> done
  on bump { reassign }
  after 30d -> done
}
stage triage {
  owner { responsible role ops }
  on close -> done
  after 30d -> done
}
stage done terminal
`
}

func owners(w *world, ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, w.lead(id).Owner)
	}
	return out
}

func captureN(w *world, n int, data map[string]any) []string {
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("L%d", len(w.order)+1)
		w.capture(id, data)
		ids = append(ids, id)
	}
	return ids
}

func TestStrategies(t *testing.T) {
	cases := []struct {
		name string
		team string
		n    int
		want string
	}{
		{"round_robin in member order", `team t {
  strategy round_robin
  member "ana"
  member "ben"
  member "cy"
}`, 5, "ana ben cy ana ben"},
		// Smooth weighted: current weights (ana, raj) after each pick:
		// +w (1,2) raj -3 (1,-1); +w (2,1) ana -3 (-1,1); +w (0,3) raj
		// (0,0); then the cycle repeats.
		{"weighted, smooth", `team t {
  strategy weighted
  member "ana"
  member "raj" { weight 2 }
}`, 6, "raj ana raj raj ana raj"},
		{"weighted 3:1", `team t {
  strategy weighted
  member "big" { weight 3 }
  member "small"
}`, 8, "big big small big big big small big"},
		// All start at 0 open leads: ties go round-robin, so least_loaded
		// spreads evenly.
		{"least_loaded", `team t {
  strategy least_loaded
  member "eva"
  member "tom"
}`, 4, "eva tom eva tom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(t, routeWorkflow(tc.team))
			w := newWorld(t, m, "2026-03-02T15:00:00Z")
			ids := captureN(w, tc.n, map[string]any{"email": "x@y.example"})
			eq(t, "owners", strings.Join(owners(w, ids...), " "), tc.want)
		})
	}
}

// TestLeastLoaded: the member with the fewest open leads wins; closing
// leads (a terminal stage) releases them.
func TestLeastLoaded(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy least_loaded
  member "eva"
  member "tom"
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	ids := captureN(w, 4, map[string]any{"email": "x@y.example"}) // eva tom eva tom
	w.send(ids[0], "close", nil)
	w.send(ids[2], "close", nil) // eva: 0 open, tom: 2
	eq(t, "open", fmt.Sprint(w.rot.Open), "map[tom:2]")
	more := captureN(w, 3, map[string]any{"email": "x@y.example"})
	eq(t, "owners", strings.Join(owners(w, more...), " "), "eva eva tom")
}

// TestBestFit: the highest score wins; ties go round-robin in member order.
func TestBestFit(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy best_fit by (lead.product in member.products ? 10 : 0) + member.tenure
  member "kim" { products ["storage", "backup"], tenure 6 }
  member "lou" { products ["compute"], tenure 2 }
  member "max" { products ["storage"], tenure 6 }
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	var got []string
	for _, p := range []string{"storage", "storage", "compute", "storage", "backup", "other", "other"} {
		id := captureN(w, 1, map[string]any{"email": "x@y.example", "product": p})[0]
		got = append(got, p+":"+w.lead(id).Owner)
	}
	// storage: kim 16, lou 2, max 16: a tie, broken from the team's
	// cursor (the member after the last pick): kim, then max. compute: lou
	// 12, cursor now at max, so the next storage tie goes to max. backup:
	// kim 16 alone. other: kim 6 = max 6, from the cursor at lou: max, kim.
	eq(t, "picks", strings.Join(got, " "), "storage:kim storage:max compute:lou storage:max backup:kim other:max other:kim")
}

// TestBestFitFloor: with `min`, a best score under the floor means nobody
// fits: no_owner is raised, with the score and the floor in its reason.
// member.load is the member's open leads, so a load-aware score spreads
// leads until everyone is too busy.
func TestBestFitFloor(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy best_fit by (lead.product in member.products ? 3 : 0) - member.load min 1
  member "kim" { products ["storage"] }
  member "lou" { products ["storage", "compute"] }
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	var got []string
	for _, p := range []string{"storage", "storage", "compute", "storage", "storage", "other"} {
		id := captureN(w, 1, map[string]any{"email": "x@y.example", "product": p})[0]
		got = append(got, p+":"+w.lead(id).Owner)
	}
	// storage: kim 3, lou 3 (tie: kim); then kim 2, lou 3: lou; compute:
	// lou 2; storage: kim 2, lou 1: kim; storage: kim 1, lou 1: a tie at
	// the floor fits (lou, from the cursor); other: kim -2, lou -3: nobody.
	eq(t, "picks", strings.Join(got, " "), "storage:kim storage:lou compute:lou storage:kim storage:lou other:ops")
	last := w.order[len(w.order)-1]
	eqs(t, "exceptions", w.exceptions(last), []string{"no_owner/workflow"})
	if r := w.last(last).Exceptions[0].Reason; r != "team t: no member fits: the best score is -2, under the minimum 1" {
		t.Errorf("reason %q", r)
	}
}

// TestCapacity: members at capacity are skipped; when all are, no_owner is
// raised; a lead reaching a terminal stage frees its owner's capacity.
func TestCapacity(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy round_robin
  capacity 2
  member "ana"
  member "ben"
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	ids := captureN(w, 5, map[string]any{"email": "x@y.example"})
	eq(t, "owners", strings.Join(owners(w, ids...), " "), "ana ben ana ben ops")
	eq(t, "fifth lead", w.lead(ids[4]).Stage, "triage")
	eqs(t, "fifth lead's exceptions", w.exceptions(ids[4]), []string{"no_owner/workflow"})
	eq(t, "fifth lead's path", strings.Join(w.path(ids[4]), " "), "work triage")
	eq(t, "edge", w.last(ids[4]).Moves[1].Edge, "#exception:no_owner")
	eq(t, "open", fmt.Sprint(w.rot.Open), "map[ana:2 ben:2 ops:1]")

	w.send(ids[2], "close", nil) // ana's second lead is won: released
	eq(t, "open after close", fmt.Sprint(w.rot.Open), "map[ana:1 ben:2 ops:1]")
	id := captureN(w, 1, map[string]any{"email": "x@y.example"})[0]
	eq(t, "sixth owner", w.lead(id).Owner, "ana")
	eq(t, "lead in terminal keeps its owner", w.lead(ids[2]).Owner, "ana")
}

// TestShift: a team with a calendar takes leads only on shift.
func TestShift(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy round_robin
  calendar us_business
  member "ana"
}`))
	for _, tc := range []struct{ at, owner, stage string }{
		{"2026-03-07T12:00:00-05:00", "ops", "triage"}, // Saturday
		{"2026-03-09T08:59:00-04:00", "ops", "triage"}, // Monday, before opening
		{"2026-03-09T09:00:00-04:00", "ana", "work"},
		{"2026-11-26T10:00:00-05:00", "ops", "triage"}, // Thanksgiving
	} {
		w := newWorld(t, m, tc.at)
		w.capture("L", map[string]any{"email": "x@y.example"})
		eq(t, tc.at+" owner", w.lead("L").Owner, tc.owner)
		eq(t, tc.at+" stage", w.lead("L").Stage, tc.stage)
	}
}

// TestReassign excludes the current owner; with nobody else, no_owner.
func TestReassign(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy round_robin
  member "ana"
  member "ben"
  member "cy"
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L1", map[string]any{"email": "x@y.example"}) // ana, cursor at ben
	w.capture("L2", map[string]any{"email": "x@y.example"}) // ben, cursor at cy
	w.capture("L3", map[string]any{"email": "x@y.example"}) // cy, cursor at ana
	w.send("L1", "bump", nil)                               // ana excluded: ben
	eq(t, "L1", w.lead("L1").Owner, "ben")
	w.send("L1", "bump", nil) // ben excluded: cy
	eq(t, "L1 again", w.lead("L1").Owner, "cy")
	eq(t, "action", w.last("L1").Actions[0], "reassign cy")
	eq(t, "open", fmt.Sprint(w.rot.Open), "map[ben:1 cy:2]")

	m = compile(t, routeWorkflow(`team t {
  strategy round_robin
  member "solo"
}`))
	w = newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L", map[string]any{"email": "x@y.example"})
	w.send("L", "bump", nil)
	eq(t, "stage", w.lead("L").Stage, "triage")
	eq(t, "owner", w.lead("L").Owner, "ops")
	eqs(t, "exceptions", w.exceptions("L"), []string{"no_owner/workflow"})
}

// TestTargets: user, role and routing targets; role and user targets
// ignore reassign's exclusion; an unusable user target raises no_owner or
// eval_error.
func TestTargets(t *testing.T) {
	m := compile(t, `
workflow targets
start inbox
lead {
  email string
  account_owner string?
  segment enum(big, small) = small
}
event go
event bump
role ops
role queue
owner { accountable ops }
team t {
  strategy round_robin
  member "ana"
  member "ben"
}
routing r {
  when has(lead.account_owner) -> user lead.account_owner
  when lead.segment == "big"   -> team t
  else                         -> role queue
}
stage inbox {
  owner { responsible route r }
  on go -> named
  on bump { reassign }
  sla s within 1h { breach { escalate ops } }
  after 30d -> done
}
stage named {
  owner { responsible user lead.account_owner }
  on exception eval_error -> held
  on exception no_owner -> held
  after 30d -> done
}
stage held {
  owner { responsible role ops }
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("A", map[string]any{"email": "a@x", "account_owner": "zed@acme.example"})
	w.capture("B", map[string]any{"email": "b@x", "segment": "big"})
	w.capture("C", map[string]any{"email": "c@x"})
	eqs(t, "owners", owners(w, "A", "B", "C"), []string{"zed@acme.example", "ana", "queue"})

	w.wait(30 * time.Minute)
	w.send("A", "bump", nil) // a user target ignores the exclusion
	w.send("C", "bump", nil) // so does a role
	eqs(t, "after reassign", owners(w, "A", "C"), []string{"zed@acme.example", "queue"})
	eq(t, "SLA restarted", w.lead("C").SLAs[0].Deadline, ts(t, "2026-03-02T16:30:00Z"))

	w.send("A", "go", nil)
	eq(t, "A named", w.lead("A").Owner, "zed@acme.example")
	w.send("C", "go", nil) // absent optional field: eval_error
	eq(t, "C", w.lead("C").Stage, "held")
	eqs(t, "C exceptions", w.exceptions("C"), []string{"eval_error/stage"})

	w.capture("D", map[string]any{"email": "d@x", "account_owner": " "})
	eq(t, "blank user", w.lead("D").Stage, "inbox")
	eqs(t, "D exceptions", w.exceptions("D"), []string{"no_owner/stuck"})
	if st := w.lead("D").Stuck; st == nil || st.Kind != "no_owner" {
		t.Errorf("D stuck = %+v", st)
	}
}

// TestSticky: entering a stage whose team the owner belongs to keeps the
// owner and leaves the rotation alone; another team routes anew.
func TestSticky(t *testing.T) {
	m := compile(t, `
workflow sticky
start a
lead { email string }
event next
role ops
owner { accountable ops }
team sales {
  strategy round_robin
  member "ana"
  member "ben"
}
team field {
  strategy round_robin
  member "kim"
  member "ana"
}
routing to_sales {
  else -> team sales
}
stage a {
  owner { responsible team sales }
  on next -> b
  after 30d -> done
}
stage b {
  owner { responsible route to_sales }
  on next -> c
  after 30d -> done
}
stage c {
  owner { responsible team field }
  on next -> d
  after 30d -> done
}
stage d {
  owner { responsible team sales }
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L1", map[string]any{"email": "x"})
	w.capture("L2", map[string]any{"email": "x"})
	eqs(t, "owners", owners(w, "L1", "L2"), []string{"ana", "ben"})
	rot := rotJSON(t, w.rot)
	w.send("L1", "next", nil)
	eq(t, "kept through a routing", w.lead("L1").Owner, "ana")
	eq(t, "rotation untouched", rotJSON(t, w.rot), rot)
	w.send("L1", "next", nil)
	eq(t, "ana is also in field", w.lead("L1").Owner, "ana")
	w.send("L2", "next", nil)
	w.send("L2", "next", nil)
	eq(t, "ben is not in field", w.lead("L2").Owner, "kim")
	w.send("L2", "next", nil)
	eq(t, "back in sales, kim is not", w.lead("L2").Owner, "ana")
}

// TestAssign: `assign` routes anew (no stickiness) to a team, user or role.
func TestAssign(t *testing.T) {
	m := compile(t, `
workflow assign
start a
lead { email string }
event to_team
event to_user
event to_role
role ops
owner { accountable ops }
team t {
  strategy round_robin
  member "ana"
  member "ben"
}
stage a {
  owner { responsible team t }
  on to_team { assign team t }
  on to_user { assign user "zed" }
  on to_role { assign role ops }
  after 30d -> done
}
stage done terminal
`)
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	w.capture("L", map[string]any{"email": "x"})
	var got []string
	for _, e := range []string{"to_team", "to_user", "to_role", "to_team"} {
		w.send("L", e, nil)
		got = append(got, w.lead("L").Owner)
	}
	eq(t, "owners", strings.Join(got, " "), "ben zed ops ana")
	eq(t, "open", fmt.Sprint(w.rot.Open), "map[ana:1]")
}

// TestMemberCapacity: a member's own `capacity` replaces the team's for
// that member (smaller or larger), and a member with one in a team without
// any is the only one limited.
func TestMemberCapacity(t *testing.T) {
	m := compile(t, routeWorkflow(`team t {
  strategy round_robin
  capacity 2
  member "ana" { capacity 1 }
  member "ben" { capacity 3 }
  member "cy"
}`))
	w := newWorld(t, m, "2026-03-02T15:00:00Z")
	ids := captureN(w, 7, map[string]any{"email": "x@y.example"})
	eq(t, "owners", strings.Join(owners(w, ids...), " "), "ana ben cy ben cy ben ops")
	eq(t, "open", fmt.Sprint(w.rot.Open), "map[ana:1 ben:3 cy:2 ops:1]")
	eq(t, "reason", w.last(ids[6]).Exceptions[0].Reason, "team t: every available member is at capacity")

	m = compile(t, routeWorkflow(`team t {
  strategy round_robin
  member "ana" { capacity 1 }
  member "ben"
}`))
	w = newWorld(t, m, "2026-03-02T15:00:00Z")
	ids = captureN(w, 4, map[string]any{"email": "x@y.example"})
	eq(t, "owners without a team capacity", strings.Join(owners(w, ids...), " "), "ana ben ben ben")
}

// TestRoutingReads: a step names the routing rows its decision read, the
// rows a node sharing its store must find unchanged at commit: the team's
// row always, and each member's open-lead count only where the strategy
// or a capacity weighs it. A step that routes nothing reads nothing.
func TestRoutingReads(t *testing.T) {
	for _, tc := range []struct{ name, team, want string }{
		{"round_robin", `team t {
  strategy round_robin
  member "ana"
  member "ben"
}`, "team/route/t"},
		{"round_robin with a capacity", `team t {
  strategy round_robin
  capacity 3
  member "ana"
  member "ben"
}`, "open/ana open/ben team/route/t"},
		{"least_loaded", `team t {
  strategy least_loaded
  member "eva"
  member "tom"
}`, "open/eva open/tom team/route/t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, compile(t, routeWorkflow(tc.team)), "2026-03-02T15:00:00Z")
			res := w.capture("L1", map[string]any{"email": "x@y.example"})
			read := slices.Sorted(slices.Values(res.Routing.Read))
			eq(t, "rows read", strings.Join(read, " "), tc.want)
			eq(t, "rows read by a step that routes nothing", fmt.Sprint(w.send("L1", "close", nil).Routing.Read), "[]")
		})
	}
}

// TestRotationRows: a row read from a store is given back as stored
// until a step changes it; counts are decimal, and zero is no row.
func TestRotationRows(t *testing.T) {
	r := NewRotation()
	stored := []byte(`{ "next": 2 }`) // not as json.Marshal writes it
	if err := r.SetRow("team/w/t", stored); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRow("open/ana", []byte("3")); err != nil {
		t.Fatal(err)
	}
	eq(t, "team row as stored", string(r.Row("team/w/t")), string(stored))
	eq(t, "count row", string(r.Row("open/ana")), "3")
	eq(t, "missing row is nil", fmt.Sprint(r.Row("open/bob") == nil, r.Row("team/w/u") == nil), "true true")
	r.Apply(RoutingDelta{Teams: []TeamDelta{{Key: "w/t", State: TeamState{Next: 0}}}, Open: []OpenDelta{{Owner: "ana", Change: -3}}})
	eq(t, "team row after a step", string(r.Row("team/w/t")), `{"next":0}`)
	eq(t, "count at zero is no row", fmt.Sprint(r.Row("open/ana") == nil), "true")
	for _, bad := range []struct{ name, v string }{{"team/w/t", "{"}, {"open/ana", "x"}, {"other/row", "1"}} {
		if err := r.SetRow(bad.name, []byte(bad.v)); err == nil {
			t.Errorf("SetRow(%s, %q) accepted", bad.name, bad.v)
		}
	}
}
