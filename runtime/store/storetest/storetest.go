// Package storetest is the contract every store.Store keeps, as a test
// suite each implementation runs on itself (Run): atomic and conditional
// steps, event-id results, the timer index with its claims, the outbox's
// order, reads after writes, lookups and paging, concurrent commits,
// routing rows, meta and versions, the limits on what a step may hold,
// and, for a store that keeps its data, all of it across a reopen.
// CrashWriter and CheckCrashed are the two halves of a crash test for a
// store whose process can be killed (runtime/store's kill -9 and
// power-loss tests use them).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/store"
)

// Config describes the store under test.
type Config struct {
	// Open returns a new, empty store. The suite closes it.
	Open func(t *testing.T) store.Store
	// Reopen closes s and opens the same store again, for a store that
	// keeps its data; nil for one that does not.
	Reopen func(t *testing.T, s store.Store) store.Store
	// Share opens a second handle on s's data, as another node that
	// shares the store would (the suite closes it); nil for a store only
	// one process opens, whose handle is then shared.
	Share func(t *testing.T, s store.Store) store.Store
}

var ctx = context.Background()

// T0 is the suite's epoch.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Run runs the contract on the store c opens.
func Run(t *testing.T, c Config) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Config)
	}{
		{"GetLead", testGetLead},
		{"Lookups", testLookups},
		{"NamesDoNotCollide", testNamesDoNotCollide},
		{"AtomicSteps", testAtomicSteps},
		{"ConditionalSteps", testConditionalSteps},
		{"ChainedSteps", testChainedSteps},
		{"EventResults", testEventResults},
		{"TimerIndex", testTimerIndex},
		{"TimerClaims", testTimerClaims},
		{"ClaimAfterRemoval", testClaimAfterRemoval},
		{"History", testHistory},
		{"Paging", testPaging},
		{"Outbox", testOutbox},
		{"OutboxWhileCommitting", testOutboxWhileCommitting},
		{"ConcurrentCommits", testConcurrentCommits},
		{"RoutingMetaVersions", testRoutingMetaVersions},
		{"RoutingChange", testRoutingChange},
		{"ConcurrentRouting", testConcurrentRouting},
		{"LockedCommits", testLockedCommits},
		{"Counters", testCounters},
		{"StepStream", testStepStream},
		{"Limits", testLimits},
		{"Reopen", testReopen},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, c) })
	}
}

func open(t *testing.T, c Config) store.Store {
	t.Helper()
	s := c.Open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

// Lead is a lead in workflow wf, version v1, at step 1.
func Lead(id, wf, stage, owner string) store.Lead {
	return store.Lead{ID: id, Workflow: wf, Version: "v1", Stage: stage, Owner: owner, Seq: 1, Data: []byte("data of " + id)}
}

// Capture is the step creating l.
func Capture(l store.Lead) store.StepWrite {
	l.Seq = 1
	return store.StepWrite{Lead: l, Entry: []byte("captured " + l.ID)}
}

// Next is step seq of l.
func Next(l store.Lead, seq uint64) store.StepWrite {
	l.Seq = seq
	return store.StepWrite{Lead: l, Entry: fmt.Appendf(nil, "step %d of %s", seq, l.ID)}
}

// Commit prepares and commits steps, failing t on any error.
func Commit(t testing.TB, s store.Store, steps ...store.StepWrite) {
	t.Helper()
	if err := commit(s, store.RoutingChange{}, steps...); err != nil {
		t.Fatal(err)
	}
}

func commit(s store.Store, routing store.RoutingChange, steps ...store.StepWrite) error {
	ps := make([]store.Prepared, len(steps))
	for i, sw := range steps {
		p, err := s.Prepare(sw)
		if err != nil {
			return fmt.Errorf("prepare step %d (lead %s): %w", i+1, sw.Lead.ID, err)
		}
		ps[i] = p
	}
	return s.Commit(ctx, ps, routing)
}

// Equal reports whether two leads hold the same.
func Equal(a, b *store.Lead) bool {
	return a.ID == b.ID && a.Workflow == b.Workflow && a.Version == b.Version && a.Stage == b.Stage &&
		a.Owner == b.Owner && a.Terminal == b.Terminal && a.Stuck == b.Stuck && a.Seq == b.Seq &&
		bytes.Equal(a.Data, b.Data) && maps.EqualFunc(a.Timers, b.Timers, time.Time.Equal)
}

func ids(ls []store.Lead) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

// leadsOf returns the ids of every lead q matches, following cursors.
func leadsOf(t testing.TB, s store.Store, q store.Query) []string {
	t.Helper()
	var out []string
	for {
		page, cursor, err := s.Leads(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ids(page)...)
		if cursor == "" {
			return out
		}
		q.Cursor = cursor
	}
}

// snapshot is what a reader sees of the store, for "nothing changed".
func snapshot(t testing.TB, s store.Store) string {
	t.Helper()
	var b strings.Builder
	ls, _, err := s.Leads(ctx, store.Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		fmt.Fprintf(&b, "%+v\n", l)
		h, _ := s.History(ctx, l.ID, 0, 0)
		fmt.Fprintf(&b, "  history %q\n", h)
	}
	items, _ := s.Outbox(ctx, 0, 0)
	for _, it := range items {
		fmt.Fprintf(&b, "outbox %d %s\n", it.Seq, it.Data)
	}
	rows, _ := s.Routing(ctx)
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		fmt.Fprintf(&b, "routing %s=%s\n", k, rows[k])
	}
	counts, _ := store.CounterMap(ctx, s, "", "")
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "counter %s=%d\n", k, counts[k])
	}
	steps, _ := s.Steps(ctx, 0, 0)
	for _, st := range steps {
		fmt.Fprintf(&b, "step %d %s %s\n", st.Seq, st.LeadID, st.Entry)
	}
	next, ok, _ := s.NextDue(ctx, T0.Add(-1000*time.Hour))
	fmt.Fprintf(&b, "next due %v %v\n", next, ok)
	return b.String()
}

func testGetLead(t *testing.T, c Config) {
	s := open(t, c)
	if _, err := s.GetLead(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetLead of a missing lead: %v, want ErrNotFound", err)
	}
	l := Lead("acme-1", "sales", "new", "alice")
	l.Timers = map[string]time.Time{"sla:first_touch": T0.Add(time.Hour), "nurture": T0.Add(72 * time.Hour)}
	l.Stuck = true
	sw := Capture(l)
	Commit(t, s, sw)
	got, err := s.GetLead(ctx, "acme-1")
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(got, &sw.Lead) {
		t.Fatalf("GetLead = %+v\nwant %+v", got, sw.Lead)
	}
	// The store keeps its own copy.
	l.Data[0] = 'X'
	if got, _ := s.GetLead(ctx, "acme-1"); got.Data[0] == 'X' {
		t.Fatal("the store aliases the caller's Data")
	}
	got.Data[1] = 'Y'
	if again, _ := s.GetLead(ctx, "acme-1"); again.Data[1] == 'Y' {
		t.Fatal("GetLead hands out the store's own Data")
	}
}

func testLookups(t *testing.T, c Config) {
	s := open(t, c)
	a := Lead("a", "sales", "new", "alice")
	b := Lead("b", "sales", "new", "")
	cl := Lead("c", "support", "new", "alice")
	Commit(t, s, Capture(a), Capture(b), Capture(cl))
	yes, no := true, false
	check := func(q store.Query, want ...string) {
		t.Helper()
		if got := leadsOf(t, s, q); !slices.Equal(got, want) {
			t.Errorf("Leads(%+v) = %v, want %v", q, got, want)
		}
	}
	check(store.Query{}, "a", "b", "c")
	check(store.Query{Workflow: "sales"}, "a", "b")
	check(store.Query{Workflow: "sales", Stage: "new"}, "a", "b")
	check(store.Query{Stage: "new"}, "a", "b", "c")
	check(store.Query{Owner: "alice"}, "a", "c")
	check(store.Query{Owner: "alice", Workflow: "support"}, "c")
	check(store.Query{Stuck: &yes})
	check(store.Query{Stuck: &no}, "a", "b", "c")

	// a: new → qualified, owner alice → bob, stuck. b: terminal, owned.
	a2 := a
	a2.Stage, a2.Owner, a2.Stuck = "qualified", "bob", true
	b2 := b
	b2.Stage, b2.Terminal, b2.Owner = "won", true, "carol"
	Commit(t, s, Next(a2, 2), Next(b2, 2))
	check(store.Query{Workflow: "sales", Stage: "new"})
	check(store.Query{Workflow: "sales", Stage: "qualified"}, "a")
	check(store.Query{Workflow: "sales", Stage: "won"}, "b")
	check(store.Query{Owner: "alice"}, "c")
	check(store.Query{Owner: "bob"}, "a")
	check(store.Query{Owner: "carol"}, "b")
	check(store.Query{Stuck: &yes}, "a")
	check(store.Query{Stuck: &yes, Owner: "bob"}, "a")
	check(store.Query{Stuck: &yes, Owner: "alice"})
	check(store.Query{Stuck: &no}, "b", "c")
	check(store.Query{Stuck: &no, Workflow: "sales"}, "b")
	inFlight := func(wf string, want map[string]int) {
		t.Helper()
		got, err := s.InFlight(ctx, wf)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("InFlight(%s) = %v %v, want %v", wf, got, err, want)
		}
	}
	inFlight("sales", map[string]int{"v1": 1})

	// a unstuck, unowned, migrated to v2.
	a3 := a2
	a3.Stuck, a3.Owner, a3.Version = false, "", "v2"
	Commit(t, s, Next(a3, 3))
	check(store.Query{Stuck: &yes})
	check(store.Query{Owner: "bob"})
	inFlight("sales", map[string]int{"v2": 1})
	inFlight("nothing", map[string]int{})
	// A terminal lead that leaves its terminal stage (an override) is
	// in flight again.
	b3 := b2
	b3.Stage, b3.Terminal = "new", false
	Commit(t, s, Next(b3, 3))
	inFlight("sales", map[string]int{"v1": 1, "v2": 1})
}

// testNamesDoNotCollide: a name that is another's prefix, or that holds
// the characters a human would use as a separator, never leaks into
// another's lookups.
func testNamesDoNotCollide(t *testing.T, c Config) {
	s := open(t, c)
	Commit(t, s,
		Capture(Lead("x", "a", "b/c", "o")),
		Capture(Lead("y", "a/b", "c", "o/p")),
		Capture(Lead("z", "ab", "c", "op")),
		Capture(Lead("x/y", "a", "b", "o")),
	)
	for q, want := range map[store.Query][]string{
		{Workflow: "a"}:               {"x", "x/y"},
		{Workflow: "a/b"}:             {"y"},
		{Workflow: "a", Stage: "b"}:   {"x/y"},
		{Workflow: "a/b", Stage: "c"}: {"y"},
		{Owner: "o"}:                  {"x", "x/y"},
		{Owner: "o/p"}:                {"y"},
	} {
		if got := leadsOf(t, s, q); !slices.Equal(got, want) {
			t.Errorf("Leads(%+v) = %v, want %v", q, got, want)
		}
	}
	Commit(t, s, Next(Lead("x", "a", "b/c", "o"), 2))
	h, _ := s.History(ctx, "x", 0, 0)
	hxy, _ := s.History(ctx, "x/y", 0, 0)
	if len(h) != 2 || len(hxy) != 1 {
		t.Errorf("history of x: %d entries, of x/y: %d; want 2 and 1", len(h), len(hxy))
	}
	if _, ok, _ := s.EventResult(ctx, "x", "y"); ok {
		t.Error("an event result out of nothing")
	}
}

// testAtomicSteps: a Commit with an invalid step is refused as a whole,
// by Prepare; every step of a Commit lands, or none does.
func testAtomicSteps(t *testing.T, c Config) {
	s := open(t, c)
	good := Lead("good", "w", "s", "")
	Commit(t, s, Capture(good))
	before := snapshot(t, s)
	first := Capture(Lead("first", "w", "s", ""))
	first.Notifications = [][]byte{[]byte("note")}
	second := Next(good, 2)
	second.Lead.Stage = "moved"
	second.Lead.Timers = map[string]time.Time{"t": T0}
	third := Capture(Lead("third", "w", "s", ""))
	third.Lead.ID = "a\x00b"
	if err := commit(s, store.RoutingChange{Set: map[string][]byte{"team/x": []byte("1")}}, first, second, third); err == nil {
		t.Fatal("a Commit with an invalid step was accepted")
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("a refused Commit changed the store:\nbefore %s\nafter %s", before, after)
	}
}

// testConditionalSteps: a step whose lead is not where the step was
// computed from conflicts, and its whole Commit writes nothing.
func testConditionalSteps(t *testing.T, c Config) {
	s := open(t, c)
	a := Lead("a", "w", "s", "")
	Commit(t, s, Capture(a), Next(a, 2))
	before := snapshot(t, s)
	for name, steps := range map[string][]store.StepWrite{
		"a capture of an existing lead":    {Capture(Lead("b", "w", "s", "")), Capture(a)},
		"a step behind":                    {Capture(Lead("b", "w", "s", "")), Next(a, 2)},
		"a step ahead":                     {Next(a, 4)},
		"a step of a missing lead":         {Next(Lead("nobody", "w", "s", ""), 2)},
		"a chain with a gap":               {Next(a, 3), Next(a, 5)},
		"a chain that repeats a step":      {Next(a, 3), Next(a, 3)},
		"a good step before a conflicting": {Next(a, 3), Capture(Lead("b", "w", "s", "")), Next(Lead("c", "w", "s", ""), 7)},
	} {
		err := commit(s, store.RoutingChange{Set: map[string][]byte{"team/x": []byte("1")}}, steps...)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
		if after := snapshot(t, s); after != before {
			t.Errorf("%s changed the store:\nbefore %s\nafter %s", name, before, after)
		}
	}
	// A conflict fails its own Commit only, not those committed
	// alongside it.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			l := Lead(fmt.Sprint("side-", w), "w", "s", "")
			for seq := uint64(1); seq <= 10; seq++ {
				if err := commit(s, store.RoutingChange{}, Next(l, seq)); err != nil {
					t.Errorf("a Commit beside a conflicting one: %v", err)
					return
				}
			}
		})
	}
	for range 20 {
		if err := commit(s, store.RoutingChange{}, Next(a, 7)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("conflicting Commit: %v", err)
		}
	}
	wg.Wait()
	// The store goes on.
	Commit(t, s, Next(a, 3))
	if l, _ := s.GetLead(ctx, "a"); l.Seq != 3 {
		t.Errorf("a at step %d, want 3", l.Seq)
	}
}

// testChainedSteps: several steps of one lead in one Commit, each from
// the one before; nothing stale is left of the earlier ones.
func testChainedSteps(t *testing.T, c Config) {
	s := open(t, c)
	l1 := Lead("a", "w", "new", "alice")
	l1.Timers = map[string]time.Time{"sla": T0.Add(time.Hour)}
	l2 := l1
	l2.Stage, l2.Timers = "working", map[string]time.Time{"sla": T0.Add(2 * time.Hour), "nag": T0.Add(3 * time.Hour)}
	l3 := l2
	l3.Stage, l3.Owner, l3.Terminal, l3.Timers = "won", "bob", true, nil
	Commit(t, s, Capture(l1), Next(l2, 2), Next(l3, 3), Capture(Lead("b", "w", "new", "alice")))
	if got := leadsOf(t, s, store.Query{Workflow: "w", Stage: "won"}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("won: %v", got)
	}
	for _, stage := range []string{"new", "working"} {
		if got := leadsOf(t, s, store.Query{Workflow: "w", Stage: stage}); slices.Contains(got, "a") {
			t.Errorf("a is still in %s: %v", stage, got)
		}
	}
	if got := leadsOf(t, s, store.Query{Owner: "alice"}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("alice's: %v", got)
	}
	if _, ok, _ := s.NextDue(ctx, T0); ok {
		t.Error("a timer of an earlier step is left")
	}
	if h, _ := s.History(ctx, "a", 0, 0); len(h) != 3 {
		t.Errorf("history: %d entries", len(h))
	}
	l3.Seq = 3
	if got, _ := s.GetLead(ctx, "a"); !Equal(got, &l3) {
		t.Errorf("lead = %+v, want %+v", got, l3)
	}
	if n, _ := s.InFlight(ctx, "w"); !maps.Equal(n, map[string]int{"v1": 1}) {
		t.Errorf("in flight: %v", n)
	}
}

func testEventResults(t *testing.T, c Config) {
	s := open(t, c)
	if _, ok, err := s.EventResult(ctx, "a", "evt-1"); ok || err != nil {
		t.Fatalf("EventResult before: %v %v", ok, err)
	}
	sw := Capture(Lead("a", "w", "s", ""))
	sw.EventID, sw.Result = "evt-1", []byte(`{"stage":"s"}`)
	Commit(t, s, sw)
	res, ok, err := s.EventResult(ctx, "a", "evt-1")
	if err != nil || !ok || string(res) != `{"stage":"s"}` {
		t.Fatalf("EventResult = %q %v %v", res, ok, err)
	}
	if _, ok, _ := s.EventResult(ctx, "b", "evt-1"); ok {
		t.Error("an event id of lead a answered for lead b")
	}
	if _, ok, _ := s.EventResult(ctx, "a", "evt"); ok {
		t.Error("a prefix of an event id matched")
	}
	if _, ok, err := s.EventResult(ctx, "a\x00", "evt-1"); ok || err != nil {
		t.Errorf("EventResult of an id no lead can have: %v %v", ok, err)
	}
}

// due renders claimed timers.
func due(ts []store.DueTimer) []string {
	var out []string
	for _, d := range ts {
		out = append(out, fmt.Sprintf("%s/%s@%s", d.LeadID, d.Name, d.Due.Sub(T0)))
	}
	return out
}

func testTimerIndex(t *testing.T, c Config) {
	s := open(t, c)
	if _, ok, err := s.NextDue(ctx, T0); ok || err != nil {
		t.Fatalf("NextDue of an empty store: %v %v", ok, err)
	}
	a := Lead("a", "sales", "new", "")
	a.Timers = map[string]time.Time{"sla": T0.Add(2 * time.Hour), "nurture": T0.Add(24 * time.Hour)}
	b := Lead("b", "sales", "new", "")
	b.Timers = map[string]time.Time{"sla": T0.Add(2 * time.Hour), "early": T0.Add(time.Hour)}
	Commit(t, s, Capture(a), Capture(b))
	// Claims with no lease: none holds a timer after its instant.
	claim := func(at time.Time, limit int) []string {
		t.Helper()
		ts, err := s.ClaimDue(ctx, at, limit, 0)
		if err != nil {
			t.Fatal(err)
		}
		return due(ts)
	}
	nextDue := func(now time.Time) time.Duration {
		t.Helper()
		at, ok, err := s.NextDue(ctx, now)
		if err != nil || !ok {
			t.Fatalf("NextDue: %v %v", ok, err)
		}
		return at.Sub(T0)
	}
	if got := nextDue(T0); got != time.Hour {
		t.Errorf("NextDue = %v", got)
	}
	if got := nextDue(T0.Add(90 * time.Minute)); got != 90*time.Minute {
		t.Errorf("NextDue with a timer due already = %v, want now", got)
	}
	if got, want := claim(T0.Add(2*time.Hour), 0), []string{"b/early@1h0m0s", "a/sla@2h0m0s", "b/sla@2h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDue = %v, want %v", got, want)
	}
	if got, want := claim(T0.Add(3*time.Hour-1), 0), []string{"b/early@1h0m0s", "a/sla@2h0m0s", "b/sla@2h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDue = %v, want %v", got, want)
	}
	if got, want := claim(T0.Add(2*time.Hour-1), 0), []string{"b/early@1h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDue just before 2h = %v, want %v", got, want)
	}
	if got, want := claim(T0.Add(100*time.Hour), 2), []string{"b/early@1h0m0s", "a/sla@2h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDue limit 2 = %v, want %v", got, want)
	}
	if got := claim(T0, 0); len(got) != 0 {
		t.Errorf("ClaimDue(T0) = %v", got)
	}

	// b: early fires (gone), sla rescheduled; a: nurture cancelled, a new
	// timer set.
	b2 := b
	b2.Timers = map[string]time.Time{"sla": T0.Add(3 * time.Hour)}
	a2 := a
	a2.Timers = map[string]time.Time{"sla": T0.Add(2 * time.Hour), "reminder": T0.Add(30 * time.Minute)}
	Commit(t, s, Next(b2, 2), Next(a2, 2))
	if got, want := claim(T0.Add(101*time.Hour), 0), []string{"a/reminder@30m0s", "a/sla@2h0m0s", "b/sla@3h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDue after changes = %v, want %v", got, want)
	}
	if got := nextDue(T0); got != 30*time.Minute {
		t.Errorf("NextDue = %v", got)
	}
	// An earlier timer than any before is found.
	a3 := a2
	a3.Timers = map[string]time.Time{"x": T0.Add(-time.Hour)}
	Commit(t, s, Next(a3, 3))
	if got := nextDue(T0.Add(-2 * time.Hour)); got != -time.Hour {
		t.Errorf("NextDue after an earlier timer = %v", got)
	}
	// Times before 1970 order correctly.
	cl := Lead("c", "sales", "new", "")
	cl.Timers = map[string]time.Time{"old": time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}
	Commit(t, s, Capture(cl))
	if at, _, _ := s.NextDue(ctx, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)); at.Year() != 1960 {
		t.Errorf("NextDue = %v, want 1960", at)
	}
	// Everything gone: no timer.
	a4, b3, c2 := a3, b2, cl
	a4.Timers, b3.Timers, c2.Timers = nil, nil, nil
	Commit(t, s, Next(a4, 4), Next(b3, 3), Next(c2, 2))
	if _, ok, _ := s.NextDue(ctx, T0); ok {
		t.Error("NextDue found a timer in an empty index")
	}
	if got := claim(T0.Add(1000*time.Hour), 0); len(got) != 0 {
		t.Errorf("ClaimDue of an empty index = %v", got)
	}
}

// testTimerClaims: a claimed timer is not claimed again until its claim
// ends; Hold extends a claim; a commit that removes a timer ends its
// claim; NextDue looks past claims to the first timer free to claim.
func testTimerClaims(t *testing.T, c Config) {
	s := open(t, c)
	var steps []store.StepWrite
	for i := range 5 {
		l := Lead(fmt.Sprint("l", i), "w", "s", "")
		l.Timers = map[string]time.Time{"t": T0.Add(time.Duration(i) * time.Minute)}
		steps = append(steps, Capture(l))
	}
	Commit(t, s, steps...)
	now := T0.Add(10 * time.Minute)
	first, err := s.ClaimDue(ctx, now, 3, time.Minute)
	if err != nil || !slices.Equal(due(first), []string{"l0/t@0s", "l1/t@1m0s", "l2/t@2m0s"}) {
		t.Fatalf("first claim: %v %v", due(first), err)
	}
	second, _ := s.ClaimDue(ctx, now, 0, time.Minute)
	if !slices.Equal(due(second), []string{"l3/t@3m0s", "l4/t@4m0s"}) {
		t.Errorf("second claim: %v, want the ones the first left", due(second))
	}
	if third, _ := s.ClaimDue(ctx, now.Add(30*time.Second), 0, time.Minute); len(third) != 0 {
		t.Errorf("a claim within the lease got %v", due(third))
	}
	// The earliest any comes free is the end of the first claims.
	if at, ok, _ := s.NextDue(ctx, now); !ok || !at.Equal(now.Add(time.Minute)) {
		t.Errorf("NextDue while all are claimed = %v %v, want %v", at, ok, now.Add(time.Minute))
	}
	// l0 fails and is held for a backoff; l1's step removes its timer; the
	// others' claims run out.
	if err := s.Hold(ctx, first[:1], now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l1 := Lead("l1", "w", "s", "")
	Commit(t, s, Next(l1, 2))
	later, _ := s.ClaimDue(ctx, now.Add(2*time.Minute), 0, time.Minute)
	if !slices.Equal(due(later), []string{"l2/t@2m0s", "l3/t@3m0s", "l4/t@4m0s"}) {
		t.Errorf("claim after the lease: %v", due(later))
	}
	if at, ok, _ := s.NextDue(ctx, now.Add(2*time.Minute)); !ok || !at.Equal(now.Add(3*time.Minute)) {
		t.Errorf("NextDue = %v %v, want the end of the latest claims", at, ok)
	}
	if held, _ := s.ClaimDue(ctx, now.Add(59*time.Minute), 0, time.Minute); slices.Contains(due(held), "l0/t@0s") {
		t.Errorf("a held timer was claimed within its hold: %v", due(held))
	}
	if free, _ := s.ClaimDue(ctx, now.Add(61*time.Minute), 0, time.Minute); !slices.Contains(due(free), "l0/t@0s") {
		t.Errorf("a hold did not end: %v", due(free))
	}
	// A timer moved by a step is a new timer: free to claim at its time.
	l2 := Lead("l2", "w", "s", "")
	l2.Timers = map[string]time.Time{"t": now.Add(2 * time.Hour)}
	Commit(t, s, Next(l2, 2))
	if moved, _ := s.ClaimDue(ctx, now.Add(2*time.Hour), 0, time.Minute); !slices.Contains(due(moved), "l2/t@2h10m0s") {
		t.Errorf("a moved timer was not claimed: %v", due(moved))
	}
}

// testClaimAfterRemoval: a timer whose step removed it is never claimed
// again, even by a claim that began before that step committed (a scan of
// a snapshot that still holds it). Four claimers (the schedulers of
// several nodes, or one scheduler's successive looks) claim while eight
// goroutines step the claimed leads, so that claims look past timers
// whose steps are committing.
func testClaimAfterRemoval(t *testing.T, c Config) {
	s := open(t, c)
	const n = 3000
	leads := map[string]store.Lead{}
	var batch []store.StepWrite
	for i := range n {
		l := Lead(fmt.Sprintf("l%04d", i), "w", "s", "")
		l.Timers = map[string]time.Time{"t": T0.Add(-time.Duration(i) * time.Millisecond)}
		leads[l.ID] = l
		batch = append(batch, Capture(l))
		if len(batch) == 500 {
			Commit(t, s, batch...)
			batch = batch[:0]
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	steps := make(chan store.DueTimer, n)
	var steppers, claimers sync.WaitGroup
	for range 8 {
		steppers.Go(func() {
			for dt := range steps {
				l := leads[dt.LeadID]
				l.Timers = nil // the step removes its timer
				if err := commit(s, store.RoutingChange{}, Next(l, 2)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for range 4 {
		claimers.Go(func() {
			for time.Now().Before(deadline) {
				due, err := s.ClaimDue(ctx, T0, 16, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, dt := range due {
					if claimed[dt.LeadID]++; claimed[dt.LeadID] == 1 {
						steps <- dt
					}
				}
				done := len(claimed) == n
				mu.Unlock()
				if done {
					return
				}
			}
		})
	}
	claimers.Wait()
	close(steps)
	steppers.Wait()
	if len(claimed) != n {
		t.Errorf("%d of %d timers claimed", len(claimed), n)
	}
	for id, k := range claimed {
		if k > 1 {
			t.Errorf("timer of %s claimed %d times", id, k)
		}
	}
}

func testHistory(t *testing.T, c Config) {
	s := open(t, c)
	l := Lead("a", "w", "s", "")
	Commit(t, s, Capture(l))
	for seq := uint64(2); seq <= 25; seq++ {
		Commit(t, s, Next(l, seq))
	}
	var all []string
	for after := uint64(0); ; {
		page, err := s.History(ctx, "a", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			all = append(all, string(e))
		}
		after += uint64(len(page))
	}
	if len(all) != 25 || all[0] != "captured a" || all[24] != "step 25 of a" {
		t.Fatalf("history: %d entries %q ... %q", len(all), all[0], all[len(all)-1])
	}
	if h, _ := s.History(ctx, "a", 20, 0); len(h) != 5 || string(h[0]) != "step 21 of a" {
		t.Errorf("History(after 20, no limit) = %q", h)
	}
	if h, _ := s.History(ctx, "nobody", 0, 0); len(h) != 0 {
		t.Errorf("History of nobody = %q", h)
	}
	if h, _ := s.History(ctx, "a", ^uint64(0), 0); len(h) != 0 {
		t.Errorf("History after the last seq = %q", h)
	}
}

func testPaging(t *testing.T, c Config) {
	s := open(t, c)
	var steps []store.StepWrite
	for i := range 250 {
		owner := "alice"
		if i%3 == 0 {
			owner = "bob"
		}
		steps = append(steps, Capture(Lead(fmt.Sprintf("lead-%03d", i), "w", "s", owner)))
	}
	Commit(t, s, steps...)
	for _, q := range []store.Query{{}, {Workflow: "w"}, {Owner: "alice"}, {Workflow: "w", Stage: "s", Owner: "bob"}} {
		var got []string
		pages := 0
		for {
			page, cursor, err := s.Leads(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			got = append(got, ids(page)...)
			if cursor == "" {
				break
			}
			q.Cursor = cursor
		}
		var want []string
		for _, st := range steps {
			if q.Owner == "" || st.Lead.Owner == q.Owner {
				want = append(want, st.Lead.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Leads(%+v) paged: %d leads, want %d", q, len(got), len(want))
		}
		if wantPages := (len(want) + 99) / 100; pages != wantPages {
			t.Errorf("Leads(%+v): %d pages of the default 100, want %d", q, pages, wantPages)
		}
	}
	// An exact page boundary ends with an empty cursor, not an empty page.
	page, cursor, err := s.Leads(ctx, store.Query{Limit: 125})
	if err != nil || len(page) != 125 || cursor == "" {
		t.Fatalf("first page: %d %q %v", len(page), cursor, err)
	}
	page, cursor, err = s.Leads(ctx, store.Query{Limit: 125, Cursor: cursor})
	if err != nil || len(page) != 125 || cursor != "" {
		t.Fatalf("second page: %d %q %v", len(page), cursor, err)
	}
	if _, _, err := s.Leads(ctx, store.Query{Cursor: "!!"}); err == nil {
		t.Error("Leads accepted a bad cursor")
	}
	if _, _, err := s.Leads(ctx, store.Query{Owner: "a\x00b"}); err == nil {
		t.Error("Leads accepted a query name with a NUL")
	}
}

func testOutbox(t *testing.T, c Config) {
	s := open(t, c)
	a := Lead("a", "w", "s", "")
	sw := Capture(a)
	sw.Notifications = [][]byte{[]byte("n1"), []byte("n2")}
	b := Capture(Lead("b", "w", "s", ""))
	b.Notifications = [][]byte{[]byte("n3")}
	Commit(t, s, sw, b)
	sw2 := Next(a, 2)
	sw2.Notifications = [][]byte{[]byte("n4")}
	Commit(t, s, sw2)
	items, err := s.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%d:%s", it.Seq, it.Data))
	}
	if want := []string{"1:n1", "2:n2", "3:n3", "4:n4"}; !slices.Equal(got, want) {
		t.Fatalf("Outbox = %v, want %v", got, want)
	}
	if items, _ := s.Outbox(ctx, 1, 2); len(items) != 2 || items[0].Seq != 2 || items[1].Seq != 3 {
		t.Errorf("Outbox(after 1, limit 2) = %v", items)
	}
	if items, _ := s.Outbox(ctx, 4, 0); len(items) != 0 {
		t.Errorf("Outbox(after 4) = %v", items)
	}
	if items, _ := s.Outbox(ctx, ^uint64(0), 0); len(items) != 0 {
		t.Errorf("Outbox(after the last possible) = %v", items)
	}
}

// testOutboxWhileCommitting: readers that page through the outbox while
// writers commit never skip an entry, and see each writer's in its order.
func testOutboxWhileCommitting(t *testing.T, c Config) {
	s := open(t, c)
	const writers, steps = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			l := Lead(fmt.Sprint("w", w), "w", "s", "")
			for seq := uint64(1); seq <= steps; seq++ {
				sw := Next(l, seq)
				sw.Notifications = [][]byte{fmt.Appendf(nil, "%d:%d", w, seq)}
				if err := commit(s, store.RoutingChange{}, sw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []store.OutboxItem
	after := uint64(0)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		items, err := s.Outbox(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, items...)
		if len(items) > 0 {
			after = items[len(items)-1].Seq
		}
		if finished {
			rest, _ := s.Outbox(ctx, after, 0)
			seen = append(seen, rest...)
		}
	}
	if len(seen) != writers*steps {
		t.Fatalf("a reader saw %d notifications of %d", len(seen), writers*steps)
	}
	last := map[string]int{}
	for i, it := range seen {
		if i > 0 && it.Seq <= seen[i-1].Seq {
			t.Fatalf("seq %d after %d", it.Seq, seen[i-1].Seq)
		}
		w, n, _ := strings.Cut(string(it.Data), ":")
		var k int
		fmt.Sscan(n, &k)
		if k != last[w]+1 {
			t.Fatalf("writer %s: notification %d after %d", w, k, last[w])
		}
		last[w] = k
	}
}

// testConcurrentCommits: 64 writers, one lead each: every step applied,
// in each writer's order.
func testConcurrentCommits(t *testing.T, c Config) {
	s := open(t, c)
	const writers, steps = 64, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			l := Lead(fmt.Sprint("lead-", w), "w", "s0", "")
			for seq := uint64(1); seq <= steps; seq++ {
				l.Stage = fmt.Sprint("s", seq%3)
				l.Timers = map[string]time.Time{"t": T0.Add(time.Duration(seq) * time.Minute)}
				l.Data = fmt.Appendf(nil, "%d", seq)
				if err := commit(s, store.RoutingChange{}, Next(l, seq)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range writers {
		id := fmt.Sprint("lead-", w)
		l, err := s.GetLead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(l.Data) != fmt.Sprint(steps) || l.Seq != steps {
			t.Errorf("%s: data %q at step %d", id, l.Data, l.Seq)
		}
		if h, _ := s.History(ctx, id, 0, 0); len(h) != steps {
			t.Errorf("%s: %d history entries", id, len(h))
		}
	}
	timers, _ := s.ClaimDue(ctx, T0.Add(time.Hour), 0, 0)
	if len(timers) != writers {
		t.Errorf("%d timers, want %d", len(timers), writers)
	}
	// The step stream holds every step, each lead's in its order.
	stream, err := s.Steps(ctx, 0, 0)
	if err != nil || len(stream) != writers*steps {
		t.Fatalf("the step stream has %d steps, %v; want %d", len(stream), err, writers*steps)
	}
	next := map[string]int{}
	for _, st := range stream {
		next[st.LeadID]++
		if want := fmt.Sprintf("step %d of %s", next[st.LeadID], st.LeadID); string(st.Entry) != want && next[st.LeadID] > 1 {
			t.Fatalf("stream: %q, want %q", st.Entry, want)
		}
	}
	n := 0
	for i := range 3 {
		n += len(leadsOf(t, s, store.Query{Workflow: "w", Stage: fmt.Sprint("s", i)}))
	}
	if n != writers {
		t.Errorf("%d leads in the stage lookups, want %d", n, writers)
	}
}

// testRoutingChange: a routing change is a compare and set of the rows
// it expects, with count rows added to; a failed expectation writes
// nothing of the commit, steps included.
func testRoutingChange(t *testing.T, c Config) {
	s := open(t, c)
	set := store.RoutingChange{
		Expect: map[string][]byte{"team/a": nil},
		Set:    map[string][]byte{"team/a": []byte(`{"next":1}`)},
		Add:    map[string]int64{"open/x": 2, "open/y": 1},
	}
	if err := commit(s, set, Capture(Lead("a", "w", "s", "x"))); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"team/a": []byte(`{"next":1}`), "open/x": []byte("2"), "open/y": []byte("1")}
	if r, _ := s.Routing(ctx); !maps.EqualFunc(r, want, bytes.Equal) {
		t.Fatalf("Routing = %q, want %q", r, want)
	}
	if r, _ := s.Routing(ctx, "open/x", "team/a", "open/nobody"); !maps.EqualFunc(r, map[string][]byte{"team/a": []byte(`{"next":1}`), "open/x": []byte("2")}, bytes.Equal) {
		t.Errorf("Routing(open/x, team/a, open/nobody) = %q", r)
	}
	before := snapshot(t, s)
	for name, ch := range map[string]store.RoutingChange{
		"a row expected missing":   {Expect: map[string][]byte{"team/a": nil}, Set: map[string][]byte{"team/a": []byte(`{"next":2}`)}},
		"a row with another value": {Expect: map[string][]byte{"team/a": []byte(`{"next":0}`)}, Set: map[string][]byte{"team/a": []byte(`{"next":2}`)}},
		"a missing row expected":   {Expect: map[string][]byte{"open/z": []byte("1")}, Add: map[string]int64{"open/z": 1}},
		"a count read stale":       {Expect: map[string][]byte{"open/x": []byte("1"), "team/a": []byte(`{"next":1}`)}, Add: map[string]int64{"open/x": 1}},
		"one good, one stale":      {Expect: map[string][]byte{"open/y": []byte("1"), "open/x": []byte("3")}},
		"expected empty, not nil":  {Expect: map[string][]byte{"open/q": {}}, Add: map[string]int64{"open/q": 1}},
	} {
		err := commit(s, ch, Next(Lead("a", "w", "s", "x"), 2))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
		if after := snapshot(t, s); after != before {
			t.Errorf("%s: the refused commit changed the store:\nbefore %s\nafter %s", name, before, after)
		}
	}
	for name, ch := range map[string]store.RoutingChange{
		"a row both set and added to": {Set: map[string][]byte{"open/x": []byte("1")}, Add: map[string]int64{"open/x": 1}},
		"an empty value":              {Set: map[string][]byte{"team/b": {}}},
		"a bad row name":              {Add: map[string]int64{"open/\x00": 1}},
	} {
		if err := commit(s, ch); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: %v, want an invalid-change error", name, err)
		}
	}
	// Counts: added to (a missing row is 0), and gone at zero or under.
	ch := store.RoutingChange{
		Expect: map[string][]byte{"open/x": []byte("2"), "open/none": nil},
		Add:    map[string]int64{"open/x": -2, "open/y": 4, "open/none": -1, "open/new": 1},
		Set:    map[string][]byte{"team/a": nil},
	}
	if err := commit(s, ch, Next(Lead("a", "w", "s", "y"), 2)); err != nil {
		t.Fatal(err)
	}
	want = map[string][]byte{"open/y": []byte("5"), "open/new": []byte("1")}
	if r, _ := s.Routing(ctx); !maps.EqualFunc(r, want, bytes.Equal) {
		t.Errorf("Routing = %q, want %q", r, want)
	}
	if l, err := s.GetLead(ctx, "a"); err != nil || l.Seq != 2 {
		t.Errorf("the step committed with the change: %v %v", l, err)
	}
}

// twoHandles opens the store and a second handle on it (Config.Share),
// as two nodes have; a store without one gives its one handle twice.
func twoHandles(t *testing.T, c Config) [2]store.Store {
	s := open(t, c)
	if c.Share == nil {
		return [2]store.Store{s, s}
	}
	other := c.Share(t, s)
	t.Cleanup(func() { other.Close() })
	return [2]store.Store{s, other}
}

// routingAfter waits for the writers, fails on an error one of them
// sent, and returns the store's routing rows.
func routingAfter(t *testing.T, wg *sync.WaitGroup, errs chan error, s store.Store) map[string][]byte {
	t.Helper()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r, err := s.Routing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testConcurrentRouting: writers that share a store (through two
// handles, where the store has them) each keep their own copy of a row
// and commit compare-and-set changes of it, reading the row again after
// a conflict: no change is lost, and none is applied twice.
func testConcurrentRouting(t *testing.T, c Config) {
	handles := twoHandles(t, c)
	s := handles[0]
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			if err := casWriter(handles[w%2], each, fmt.Sprint("open/w", w)); err != nil {
				errs <- err
			}
		})
	}
	r := routingAfter(t, &wg, errs, s)
	if got := string(r["team/shared"]); got != fmt.Sprint(writers*each) {
		t.Errorf("the shared row is %q after %d changes", got, writers*each)
	}
	for w := range writers {
		if got := string(r[fmt.Sprint("open/w", w)]); got != fmt.Sprint(each) {
			t.Errorf("writer %d's count is %q, want %d", w, got, each)
		}
	}
}

// testLockedCommits: commits
// planned with their rows locked (CommitLocked) are never refused for
// those rows, however many optimistic writers race them, and no change
// is lost.
func testLockedCommits(t *testing.T, c Config) {
	handles := twoHandles(t, c)
	s := handles[0]
	const lockers, racers, each = 2, 2, 30
	var wg sync.WaitGroup
	errs := make(chan error, lockers+racers)
	for w := range lockers {
		lc := handles[w%2]
		wg.Go(func() {
			for range each {
				err := lc.CommitLocked(ctx, []string{"team/shared"}, func(rows map[string][]byte) ([]store.Prepared, store.RoutingChange, error) {
					next, err := store.AddCount(rows["team/shared"], 1)
					return nil, store.RoutingChange{
						Expect: map[string][]byte{"team/shared": rows["team/shared"]},
						Set:    map[string][]byte{"team/shared": next},
						Add:    map[string]int64{fmt.Sprint("open/l", w): 1},
					}, err
				})
				if err != nil {
					errs <- fmt.Errorf("a locked commit: %w", err)
					return
				}
			}
		})
	}
	for w := range racers {
		h := handles[w%2]
		wg.Go(func() {
			if err := casWriter(h, each, ""); err != nil {
				errs <- err
			}
		})
	}
	r := routingAfter(t, &wg, errs, s)
	if got, want := string(r["team/shared"]), fmt.Sprint((lockers+racers)*each); got != want {
		t.Errorf("the shared row is %q, want %s", got, want)
	}
	for w := range lockers {
		if got := string(r[fmt.Sprint("open/l", w)]); got != fmt.Sprint(each) {
			t.Errorf("locker %d's count is %q, want %d", w, got, each)
		}
	}
}

// casWriter makes n compare-and-set changes of the row team/shared, as a
// node with its own copy of it does (reading it again after a conflict),
// each adding 1 to the count row add too (if not "").
func casWriter(s store.Store, n int, add string) error {
	var seen []byte // this writer's copy of the row
	for i := 0; i < n; {
		next, _ := store.AddCount(seen, 1)
		ch := store.RoutingChange{
			Expect: map[string][]byte{"team/shared": seen},
			Set:    map[string][]byte{"team/shared": next},
		}
		if add != "" {
			ch.Add = map[string]int64{add: 1}
		}
		err := commit(s, ch)
		switch {
		case err == nil:
			seen, i = next, i+1
		case errors.Is(err, store.ErrConflict):
			r, err := s.Routing(ctx, "team/shared")
			if err != nil {
				return err
			}
			seen = r["team/shared"]
		default:
			return err
		}
	}
	return nil
}

func testRoutingMetaVersions(t *testing.T, c Config) {
	s := open(t, c)
	if r, err := s.Routing(ctx); len(r) != 0 || err != nil {
		t.Fatalf("Routing of a new store = %q %v", r, err)
	}
	if err := commit(s, store.RoutingChange{Set: map[string][]byte{"team/a": []byte("1"), "open/x": []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if err := commit(s, store.RoutingChange{Set: map[string][]byte{"team/a": []byte("3"), "open/x": nil, "open/y": []byte("1")}}, Capture(Lead("a", "w", "s", ""))); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Routing(ctx); !maps.EqualFunc(r, map[string][]byte{"team/a": []byte("3"), "open/y": []byte("1")}, bytes.Equal) {
		t.Errorf("Routing = %q", r)
	}
	if _, ok, _ := s.Meta(ctx, "webhook.cursor"); ok {
		t.Error("Meta found a key never put")
	}
	if err := s.PutMeta(ctx, "webhook.cursor", []byte("17")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := s.Meta(ctx, "webhook.cursor"); !ok || string(v) != "17" {
		t.Errorf("Meta = %q %v", v, ok)
	}
	if v, ok, _ := s.Meta(ctx, "empty"); !ok || len(v) != 0 {
		t.Errorf("Meta(empty) = %q %v", v, ok)
	}
	if err := s.PutMeta(ctx, "bad\nkey", nil); err == nil {
		t.Error("PutMeta accepted a key with a newline")
	}
	v1 := store.Version{Workflow: "sales", Version: "abc123", IR: []byte(`{"ir":1}`), SavedAt: T0}
	for range 2 {
		if err := s.SaveVersion(ctx, v1); err != nil {
			t.Fatal(err)
		}
	}
	again := v1
	again.SavedAt, again.IR = T0.Add(time.Hour), []byte("other")
	if err := s.SaveVersion(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, store.Version{Workflow: "sales", Version: "def456", IR: []byte(`{"ir":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, store.Version{Workflow: "s", Version: "x"}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Workflow+"@"+v.Version+"="+string(v.IR))
	}
	if want := []string{"s@x=", "sales@abc123={\"ir\":1}", "sales@def456={\"ir\":2}"}; !slices.Equal(got, want) {
		t.Errorf("Versions = %q, want %q", got, want)
	}
	if !vs[1].SavedAt.Equal(T0) || vs[2].SavedAt.IsZero() {
		t.Errorf("SavedAt: %v, %v", vs[1].SavedAt, vs[2].SavedAt)
	}
	if err := s.SaveVersion(ctx, store.Version{Workflow: "a\nb", Version: "x"}); err == nil {
		t.Error("SaveVersion accepted a workflow name with a newline")
	}
}

// testCounters: a step's counter increments land with it, summed across
// steps and commits, gone at zero, and not at all with a Commit that
// conflicts; ReplaceCounters replaces a prefix's.
func testCounters(t *testing.T, c Config) {
	s := open(t, c)
	a := Capture(Lead("a", "w", "s", ""))
	a.Counts = map[string]int64{"f/w/new": 1, "f/w/all": 1}
	b := Capture(Lead("b", "w", "s", ""))
	b.Counts = map[string]int64{"f/w/new": 1, "f/w/all": 1, "g/x": 5}
	Commit(t, s, a, b)
	a2 := Next(Lead("a", "w", "s", ""), 2)
	a2.Counts = map[string]int64{"f/w/new": -1, "f/w/won": 1}
	Commit(t, s, a2)
	check := func(prefix string, want map[string]int64) {
		t.Helper()
		got, err := store.CounterMap(ctx, s, prefix, store.PrefixEnd(prefix))
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("Counters(%q, %q) = %v %v, want %v", prefix, store.PrefixEnd(prefix), got, err, want)
		}
	}
	check("f/", map[string]int64{"f/w/new": 1, "f/w/all": 2, "f/w/won": 1})
	check("", map[string]int64{"f/w/new": 1, "f/w/all": 2, "f/w/won": 1, "g/x": 5})
	check("nothing", map[string]int64{})
	// A range: from included, to excluded.
	if got, err := store.CounterMap(ctx, s, "f/w/b", "f/w/won"); err != nil || !maps.Equal(got, map[string]int64{"f/w/new": 1}) {
		t.Errorf(`Counters("f/w/b", "f/w/won") = %v %v, want f/w/new only`, got, err)
	}
	if got, err := store.CounterMap(ctx, s, "f/w/new", ""); err != nil || !maps.Equal(got, map[string]int64{"f/w/new": 1, "f/w/won": 1, "g/x": 5}) {
		t.Errorf(`Counters("f/w/new", "") = %v %v, want every counter from f/w/new on`, got, err)
	}
	// A conflicting Commit counts nothing.
	bad := Next(Lead("a", "w", "s", ""), 9)
	bad.Counts = map[string]int64{"f/w/won": 100}
	if err := commit(s, store.RoutingChange{}, bad); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conflicting commit: %v", err)
	}
	check("f/w/won", map[string]int64{"f/w/won": 1})
	// Back to zero: gone.
	b2 := Next(Lead("b", "w", "s", ""), 2)
	b2.Counts = map[string]int64{"g/x": -5}
	Commit(t, s, b2)
	check("g/", map[string]int64{})
	if err := s.ReplaceCounters(ctx, "f/", map[string]int64{"f/w/all": 7, "f/w/zero": 0}); err != nil {
		t.Fatal(err)
	}
	check("", map[string]int64{"f/w/all": 7})
	bad = Capture(Lead("c", "w", "s", ""))
	bad.Counts = map[string]int64{"a\x00b": 1}
	if _, err := s.Prepare(bad); err == nil {
		t.Error("Prepare accepted a counter name with a NUL")
	}
}

// testStepStream: every committed step is in the stream, in commit
// order, with its lead and history entry; a conflicting Commit adds none.
func testStepStream(t *testing.T, c Config) {
	s := open(t, c)
	a := Lead("a", "w", "s", "")
	Commit(t, s, Capture(a), Capture(Lead("b", "w", "s", "")))
	Commit(t, s, Next(a, 2))
	if err := commit(s, store.RoutingChange{}, Next(a, 5)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conflicting commit: %v", err)
	}
	Commit(t, s, Next(a, 3))
	steps, err := s.Steps(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range steps {
		got = append(got, fmt.Sprintf("%d %s %s", st.Seq, st.LeadID, st.Entry))
	}
	want := []string{"1 a captured a", "2 b captured b", "3 a step 2 of a", "4 a step 3 of a"}
	if len(got) != len(want) {
		t.Fatalf("Steps = %q, want %q", got, want)
	}
	for i := range want {
		// Sequence numbers increase; gaps are allowed where a commit failed.
		_, rest, _ := strings.Cut(got[i], " ")
		_, wrest, _ := strings.Cut(want[i], " ")
		if rest != wrest || (i > 0 && steps[i].Seq <= steps[i-1].Seq) {
			t.Errorf("Steps = %q, want %q", got, want)
			break
		}
	}
	if page, _ := s.Steps(ctx, steps[1].Seq, 1); len(page) != 1 || page[0].Seq != steps[2].Seq {
		t.Errorf("Steps(after the second, limit 1) = %v", page)
	}
	if page, _ := s.Steps(ctx, steps[3].Seq, 0); len(page) != 0 {
		t.Errorf("Steps after the last = %v", page)
	}
}

// testLimits: what no store can hold is refused by Prepare, naming it,
// and the store goes on.
func testLimits(t *testing.T, c Config) {
	s := open(t, c)
	for name, spoil := range map[string]func(*store.StepWrite){
		"empty id":         func(sw *store.StepWrite) { sw.Lead.ID = "" },
		"NUL in id":        func(sw *store.StepWrite) { sw.Lead.ID = "a\x00b" },
		"newline in id":    func(sw *store.StepWrite) { sw.Lead.ID = "a\nb" },
		"DEL in id":        func(sw *store.StepWrite) { sw.Lead.ID = "a\x7fb" },
		"invalid UTF-8":    func(sw *store.StepWrite) { sw.Lead.ID = "a\xffb" },
		"long id":          func(sw *store.StepWrite) { sw.Lead.ID = strings.Repeat("x", 2000) },
		"empty workflow":   func(sw *store.StepWrite) { sw.Lead.Workflow = "" },
		"NUL in stage":     func(sw *store.StepWrite) { sw.Lead.Stage = "a\x00" },
		"tab in owner":     func(sw *store.StepWrite) { sw.Lead.Owner = "a\tb" },
		"NUL in event id":  func(sw *store.StepWrite) { sw.EventID = "e\x00" },
		"empty timer name": func(sw *store.StepWrite) { sw.Lead.Timers = map[string]time.Time{"": T0} },
		"zero due":         func(sw *store.StepWrite) { sw.Lead.Timers = map[string]time.Time{"t": {}} },
		"year 3000 due":    func(sw *store.StepWrite) { sw.Lead.Timers = map[string]time.Time{"t": T0.AddDate(974, 0, 0)} },
		"seq 0":            func(sw *store.StepWrite) { sw.Lead.Seq = 0 },
		"huge step":        func(sw *store.StepWrite) { sw.Lead.Data = make([]byte, 8<<20) },
	} {
		sw := Capture(Lead("ok", "w", "s", ""))
		spoil(&sw)
		if _, err := s.Prepare(sw); err == nil {
			t.Errorf("%s: Prepare accepted it", name)
		}
	}
	Commit(t, s, Capture(Lead("ok", "w", "s", "")))
}

// testReopen: everything survives a Close and an Open of a store that
// keeps its data, and its outbox numbers go on.
func testReopen(t *testing.T, c Config) {
	if c.Reopen == nil {
		t.Skip("the store keeps nothing across a reopen")
	}
	s := c.Open(t)
	a := Lead("a", "w", "s", "alice")
	a.Timers = map[string]time.Time{"t": T0}
	a.Stuck = true
	sw := Capture(a)
	sw.EventID, sw.Result = "e1", []byte("r1")
	sw.Notifications = [][]byte{[]byte("n1")}
	if err := commit(s, store.RoutingChange{Set: map[string][]byte{"team/a": []byte("1")}}, sw); err != nil {
		t.Fatal(err)
	}
	s.PutMeta(ctx, "k", []byte("v"))
	s.SaveVersion(ctx, store.Version{Workflow: "w", Version: "v1", IR: []byte("ir"), SavedAt: T0})
	before := snapshot(t, s)
	s = c.Reopen(t, s)
	t.Cleanup(func() { s.Close() })
	if _, err := s.GetLead(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("after a reopen:\n%s\nbefore:\n%s", after, before)
	}
	if r, ok, _ := s.EventResult(ctx, "a", "e1"); !ok || string(r) != "r1" {
		t.Errorf("EventResult after reopen: %q %v", r, ok)
	}
	if v, ok, _ := s.Meta(ctx, "k"); !ok || string(v) != "v" {
		t.Errorf("Meta after reopen: %q %v", v, ok)
	}
	if vs, _ := s.Versions(ctx); len(vs) != 1 {
		t.Errorf("Versions after reopen: %v", vs)
	}
	sw2 := Next(a, 2)
	sw2.Notifications = [][]byte{[]byte("n2")}
	Commit(t, s, sw2)
	if items, _ := s.Outbox(ctx, 1, 0); len(items) != 1 || items[0].Seq != 2 || string(items[0].Data) != "n2" {
		t.Errorf("Outbox after reopen = %v", items)
	}
}
