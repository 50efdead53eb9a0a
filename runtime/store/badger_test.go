package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

var ctx = context.Background()

// t0 is the tests' epoch.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openAt opens a store in dir and closes it when the test ends (if the
// test did not).
func openAt(t testing.TB, dir string, opts Options) *Badger {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return s
}

func openTest(t testing.TB) *Badger { return openAt(t, t.TempDir(), Options{}) }

// mkLead is a lead in workflow wf, version v1.
func mkLead(id, wf, stage, owner string) Lead {
	return Lead{ID: id, Workflow: wf, Version: "v1", Stage: stage, Owner: owner, Data: []byte("data of " + id)}
}

// capture is the StepWrite creating l.
func capture(l Lead) StepWrite {
	return StepWrite{Lead: l, Seq: 1, Entry: []byte("captured " + l.ID)}
}

// next is the StepWrite taking prev to l.
func next(prev Lead, l Lead, seq uint64) StepWrite {
	return StepWrite{Lead: l, Prev: &prev, Seq: seq, Entry: fmt.Appendf(nil, "step %d of %s", seq, l.ID)}
}

func commit(t testing.TB, s *Badger, steps ...StepWrite) {
	t.Helper()
	if err := s.Commit(ctx, steps, nil); err != nil {
		t.Fatal(err)
	}
}

// rawKeys lists the keys under prefix, rendering the separator as "|" and
// 8-byte numbers as "#n".
func rawKeys(t testing.TB, s *Badger, prefix string) []string {
	t.Helper()
	var ks []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ks = append(ks, strings.ReplaceAll(string(it.Item().KeyCopy(nil)), "\x00", "|"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// indexOf lists the index keys naming id (timers excluded).
func indexOf(t testing.TB, s *Badger, id string) []string {
	var out []string
	for _, k := range rawKeys(t, s, "i/") {
		if strings.HasSuffix(k, "|"+id) || k == pStuck+id {
			out = append(out, k)
		}
	}
	return out
}

func ids(ls []Lead) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

func leadsOf(t testing.TB, s *Badger, q Query) []string {
	t.Helper()
	ls, cursor, err := s.Leads(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if cursor != "" {
		t.Fatalf("Leads(%+v): unexpected next page", q)
	}
	return ids(ls)
}

func equalLead(a, b *Lead) bool {
	return a.ID == b.ID && a.Workflow == b.Workflow && a.Version == b.Version && a.Stage == b.Stage &&
		a.Owner == b.Owner && a.Terminal == b.Terminal && a.Stuck == b.Stuck && bytes.Equal(a.Data, b.Data) &&
		maps.EqualFunc(a.Timers, b.Timers, time.Time.Equal)
}

func TestGetLead(t *testing.T) {
	s := openTest(t)
	if _, err := s.GetLead(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetLead of a missing lead: %v, want ErrNotFound", err)
	}
	l := mkLead("acme-1", "sales", "new", "alice")
	l.Timers = map[string]time.Time{"sla:first_touch": t0.Add(time.Hour), "nurture": t0.Add(72 * time.Hour)}
	l.Stuck = true
	commit(t, s, capture(l))
	got, err := s.GetLead(ctx, "acme-1")
	if err != nil {
		t.Fatal(err)
	}
	if !equalLead(got, &l) {
		t.Fatalf("GetLead = %+v\nwant %+v", got, l)
	}
	// The store keeps its own copy.
	l.Data[0] = 'X'
	if got, _ := s.GetLead(ctx, "acme-1"); got.Data[0] == 'X' {
		t.Fatal("the store aliases the caller's Data")
	}
}

func TestIndexes(t *testing.T) {
	s := openTest(t)
	a := mkLead("a", "sales", "new", "alice")
	b := mkLead("b", "sales", "new", "")
	c := mkLead("c", "support", "new", "alice")
	commit(t, s, capture(a), capture(b), capture(c))
	yes, no := true, false

	check := func(q Query, want ...string) {
		t.Helper()
		if got := leadsOf(t, s, q); !slices.Equal(got, want) {
			t.Errorf("Leads(%+v) = %v, want %v", q, got, want)
		}
	}
	check(Query{}, "a", "b", "c")
	check(Query{Workflow: "sales"}, "a", "b")
	check(Query{Workflow: "sales", Stage: "new"}, "a", "b")
	check(Query{Stage: "new"}, "a", "b", "c")
	check(Query{Owner: "alice"}, "a", "c")
	check(Query{Owner: "alice", Workflow: "support"}, "c")
	check(Query{Stuck: &yes})
	check(Query{Stuck: &no}, "a", "b", "c")

	// a: new → qualified, owner alice → bob, stuck.
	a2 := a
	a2.Stage, a2.Owner, a2.Stuck = "qualified", "bob", true
	// b: terminal and owned.
	b2 := b
	b2.Stage, b2.Terminal, b2.Owner = "won", true, "carol"
	commit(t, s, next(a, a2, 2), next(b, b2, 2))
	check(Query{Workflow: "sales", Stage: "new"})
	check(Query{Workflow: "sales", Stage: "qualified"}, "a")
	check(Query{Workflow: "sales", Stage: "won"}, "b")
	check(Query{Owner: "alice"}, "c")
	check(Query{Owner: "bob"}, "a")
	check(Query{Owner: "carol"}, "b")
	check(Query{Stuck: &yes}, "a")
	check(Query{Stuck: &yes, Owner: "bob"}, "a")
	check(Query{Stuck: &yes, Owner: "alice"})
	check(Query{Stuck: &no}, "b", "c")
	check(Query{Stuck: &no, Workflow: "sales"}, "b")
	if got := indexOf(t, s, "a"); !slices.Equal(got, []string{"i/o/bob|a", "i/s/sales|qualified|a", "i/v/sales|v1|a", "i/w/sales|a", "i/x/a"}) {
		t.Errorf("index keys of a: %q", got)
	}
	if got := indexOf(t, s, "b"); !slices.Equal(got, []string{"i/o/carol|b", "i/s/sales|won|b", "i/w/sales|b"}) {
		t.Errorf("index keys of b (terminal): %q", got)
	}
	inflight, err := s.InFlight(ctx, "sales")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(inflight, map[string]int{"v1": 1}) {
		t.Errorf("InFlight(sales) = %v", inflight)
	}

	// a unstuck, unowned, migrated to v2.
	a3 := a2
	a3.Stuck, a3.Owner, a3.Version = false, "", "v2"
	commit(t, s, next(a2, a3, 3))
	check(Query{Stuck: &yes})
	check(Query{Owner: "bob"})
	if got := indexOf(t, s, "a"); !slices.Equal(got, []string{"i/s/sales|qualified|a", "i/v/sales|v2|a", "i/w/sales|a"}) {
		t.Errorf("index keys of a: %q", got)
	}
	inflight, _ = s.InFlight(ctx, "sales")
	if !maps.Equal(inflight, map[string]int{"v2": 1}) {
		t.Errorf("InFlight(sales) = %v", inflight)
	}
	inflight, _ = s.InFlight(ctx, "nothing")
	if len(inflight) != 0 {
		t.Errorf("InFlight(nothing) = %v", inflight)
	}
}

// TestNamesDoNotCollide checks that a name that is another's prefix, or
// that holds the characters a human would use as a separator, never leaks
// into another's index.
func TestNamesDoNotCollide(t *testing.T) {
	s := openTest(t)
	commit(t, s,
		capture(mkLead("x", "a", "b/c", "o")),
		capture(mkLead("y", "a/b", "c", "o/p")),
		capture(mkLead("z", "ab", "c", "op")),
		capture(mkLead("x/y", "a", "b", "o")),
	)
	for q, want := range map[Query][]string{
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
	commit(t, s, StepWrite{Lead: mkLead("x", "a", "b/c", "o"), Prev: ptr(mkLead("x", "a", "b/c", "o")), Seq: 2, Entry: []byte("x2")})
	h, _ := s.History(ctx, "x", 0, 0)
	hxy, _ := s.History(ctx, "x/y", 0, 0)
	if len(h) != 2 || len(hxy) != 1 {
		t.Errorf("history of x: %d entries, of x/y: %d; want 2 and 1", len(h), len(hxy))
	}
}

func ptr[T any](v T) *T { return &v }

func TestTimers(t *testing.T) {
	s := openTest(t)
	if _, ok, err := s.NextDue(ctx); ok || err != nil {
		t.Fatalf("NextDue of an empty store: %v %v", ok, err)
	}
	a := mkLead("a", "sales", "new", "")
	a.Timers = map[string]time.Time{"sla": t0.Add(2 * time.Hour), "nurture": t0.Add(24 * time.Hour)}
	b := mkLead("b", "sales", "new", "")
	b.Timers = map[string]time.Time{"sla": t0.Add(2 * time.Hour), "early": t0.Add(time.Hour)}
	commit(t, s, capture(a), capture(b))

	due := func(at time.Time, limit int) []string {
		t.Helper()
		ts, err := s.DueTimers(ctx, at, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ts {
			out = append(out, fmt.Sprintf("%s/%s@%s", d.LeadID, d.Name, d.Due.Sub(t0)))
		}
		return out
	}
	nextDue := func() time.Duration {
		t.Helper()
		at, ok, err := s.NextDue(ctx)
		if err != nil || !ok {
			t.Fatalf("NextDue: %v %v", ok, err)
		}
		return at.Sub(t0)
	}
	if got := nextDue(); got != time.Hour {
		t.Errorf("NextDue = %v", got)
	}
	if got, want := due(t0.Add(2*time.Hour), 0), []string{"b/early@1h0m0s", "a/sla@2h0m0s", "b/sla@2h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("DueTimers = %v, want %v", got, want)
	}
	if got, want := due(t0.Add(2*time.Hour-1), 0), []string{"b/early@1h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("DueTimers just before 2h = %v, want %v", got, want)
	}
	if got, want := due(t0.Add(100*time.Hour), 2), []string{"b/early@1h0m0s", "a/sla@2h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("DueTimers limit 2 = %v, want %v", got, want)
	}
	if got := due(t0, 0); len(got) != 0 {
		t.Errorf("DueTimers(t0) = %v", got)
	}

	// b: early fires (cancelled), sla rescheduled; a: nurture cancelled,
	// a new timer set.
	b2 := b
	b2.Timers = map[string]time.Time{"sla": t0.Add(3 * time.Hour)}
	a2 := a
	a2.Timers = map[string]time.Time{"sla": t0.Add(2 * time.Hour), "reminder": t0.Add(30 * time.Minute)}
	commit(t, s, next(b, b2, 2), next(a, a2, 2))
	if got, want := due(t0.Add(100*time.Hour), 0), []string{"a/reminder@30m0s", "a/sla@2h0m0s", "b/sla@3h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("DueTimers after changes = %v, want %v", got, want)
	}
	if got := nextDue(); got != 30*time.Minute {
		t.Errorf("NextDue = %v", got)
	}
	if got := len(rawKeys(t, s, pTimer)); got != 3 {
		t.Errorf("%d timer keys, want 3", got)
	}
	// A step with Prev nil (defensively) still removes the stale timers.
	a3 := a2
	a3.Timers = nil
	commit(t, s, StepWrite{Lead: a3, Seq: 3})
	if got, want := due(t0.Add(100*time.Hour), 0), []string{"b/sla@3h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("DueTimers after a Prev-less step = %v, want %v", got, want)
	}
	// The floor has risen to 3h; an earlier timer must still be found.
	a4 := a3
	a4.Timers = map[string]time.Time{"x": t0.Add(-time.Hour)}
	commit(t, s, next(a3, a4, 4))
	if got := nextDue(); got != -time.Hour {
		t.Errorf("NextDue after an earlier timer = %v", got)
	}
	// Times before 1970 order correctly.
	c := mkLead("c", "sales", "new", "")
	c.Timers = map[string]time.Time{"old": time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}
	commit(t, s, capture(c))
	if at, _, _ := s.NextDue(ctx); at.Year() != 1960 {
		t.Errorf("NextDue = %v, want 1960", at)
	}
	// Everything gone: no timer.
	a5, b3, c2 := a4, b2, c
	a5.Timers, b3.Timers, c2.Timers = nil, nil, nil
	commit(t, s, next(a4, a5, 5), next(b2, b3, 3), next(c, c2, 2))
	if _, ok, _ := s.NextDue(ctx); ok {
		t.Error("NextDue found a timer in an empty index")
	}
	if ks := rawKeys(t, s, pTimer); len(ks) != 0 {
		t.Errorf("timer keys left: %q", ks)
	}
}

// TestTimerFloorRace commits early timers while other goroutines read, and
// checks that every reader that starts after a commit sees its timer.
func TestTimerFloorRace(t *testing.T) {
	s := openTest(t)
	base := mkLead("base", "w", "s", "")
	base.Timers = map[string]time.Time{"t": t0.Add(1000 * time.Hour)}
	commit(t, s, capture(base))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.NextDue(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 300 {
		l := mkLead(fmt.Sprint("l", i), "w", "s", "")
		want := t0.Add(time.Duration(999-i) * time.Hour)
		l.Timers = map[string]time.Time{"t": want}
		if err := s.Commit(ctx, []StepWrite{capture(l)}, nil); err != nil {
			t.Error(err)
			break
		}
		if got, _, _ := s.NextDue(ctx); !got.Equal(want) {
			t.Errorf("after commit %d NextDue = %v, want %v", i, got, want)
			break
		}
	}
	close(stop)
	wg.Wait()
}

func TestHistoryPaging(t *testing.T) {
	s := openTest(t)
	l := mkLead("a", "w", "s", "")
	commit(t, s, capture(l))
	for seq := uint64(2); seq <= 25; seq++ {
		commit(t, s, next(l, l, seq))
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

func TestLeadsPaging(t *testing.T) {
	s := openTest(t)
	var steps []StepWrite
	for i := range 250 {
		owner := "alice"
		if i%3 == 0 {
			owner = "bob"
		}
		steps = append(steps, capture(mkLead(fmt.Sprintf("lead-%03d", i), "w", "s", owner)))
	}
	commit(t, s, steps...)
	for _, q := range []Query{{}, {Workflow: "w"}, {Owner: "alice"}, {Workflow: "w", Stage: "s", Owner: "bob"}} {
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
	page, cursor, err := s.Leads(ctx, Query{Limit: 125})
	if err != nil || len(page) != 125 || cursor == "" {
		t.Fatalf("first page: %d %q %v", len(page), cursor, err)
	}
	page, cursor, err = s.Leads(ctx, Query{Limit: 125, Cursor: cursor})
	if err != nil || len(page) != 125 || cursor != "" {
		t.Fatalf("second page: %d %q %v", len(page), cursor, err)
	}
	if _, _, err := s.Leads(ctx, Query{Cursor: "!!"}); err == nil {
		t.Error("Leads accepted a bad cursor")
	}
	if _, _, err := s.Leads(ctx, Query{Owner: "a\x00b"}); err == nil {
		t.Error("Leads accepted a query name with a NUL")
	}
}

func TestOutbox(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	a := mkLead("a", "w", "s", "")
	sw := capture(a)
	sw.Notifications = [][]byte{[]byte("n1"), []byte("n2")}
	b := capture(mkLead("b", "w", "s", ""))
	b.Notifications = [][]byte{[]byte("n3")}
	commit(t, s, sw, b)
	sw2 := next(a, a, 2)
	sw2.Notifications = [][]byte{[]byte("n4")}
	commit(t, s, sw2)

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

	// Sequence numbers continue after a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, Options{})
	sw3 := next(a, a, 3)
	sw3.Notifications = [][]byte{[]byte("n5")}
	commit(t, s, sw3)
	if items, _ := s.Outbox(ctx, 4, 0); len(items) != 1 || items[0].Seq != 5 || string(items[0].Data) != "n5" {
		t.Errorf("Outbox after reopen = %v", items)
	}
}

func TestEventResult(t *testing.T) {
	s := openTest(t)
	if _, ok, err := s.EventResult(ctx, "a", "evt-1"); ok || err != nil {
		t.Fatalf("EventResult before: %v %v", ok, err)
	}
	sw := capture(mkLead("a", "w", "s", ""))
	sw.EventID, sw.Result = "evt-1", []byte(`{"stage":"s"}`)
	commit(t, s, sw)
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
}

func TestRotationMetaVersions(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	if r, err := s.Rotation(ctx); r != nil || err != nil {
		t.Fatalf("Rotation of a new store = %q %v", r, err)
	}
	if err := s.Commit(ctx, nil, []byte("rot-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, []StepWrite{capture(mkLead("a", "w", "s", ""))}, []byte("rot-2")); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Rotation(ctx); string(r) != "rot-2" {
		t.Errorf("Rotation = %q", r)
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

	v1 := Version{Workflow: "sales", Version: "abc123", IR: []byte(`{"ir":1}`), SavedAt: t0}
	for range 2 {
		if err := s.SaveVersion(ctx, v1); err != nil {
			t.Fatal(err)
		}
	}
	again := v1
	again.SavedAt, again.IR = t0.Add(time.Hour), []byte("other")
	if err := s.SaveVersion(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, Version{Workflow: "sales", Version: "def456", IR: []byte(`{"ir":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, Version{Workflow: "s", Version: "x"}); err != nil {
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
	if !vs[1].SavedAt.Equal(t0) || vs[2].SavedAt.IsZero() {
		t.Errorf("SavedAt: %v, %v", vs[1].SavedAt, vs[2].SavedAt)
	}

	// All of it survives a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, Options{})
	if r, _ := s.Rotation(ctx); string(r) != "rot-2" {
		t.Errorf("Rotation after reopen = %q", r)
	}
	if v, ok, _ := s.Meta(ctx, "webhook.cursor"); !ok || string(v) != "17" {
		t.Errorf("Meta after reopen = %q %v", v, ok)
	}
	if vs, _ := s.Versions(ctx); len(vs) != 3 {
		t.Errorf("Versions after reopen: %d", len(vs))
	}
}

func TestCommitRejectsInvalidSteps(t *testing.T) {
	good := mkLead("good", "w", "s", "")
	bad := map[string]func(*StepWrite){
		"empty id":          func(sw *StepWrite) { sw.Lead.ID = "" },
		"NUL in id":         func(sw *StepWrite) { sw.Lead.ID = "a\x00b" },
		"newline in id":     func(sw *StepWrite) { sw.Lead.ID = "a\nb" },
		"DEL in id":         func(sw *StepWrite) { sw.Lead.ID = "a\x7fb" },
		"invalid UTF-8":     func(sw *StepWrite) { sw.Lead.ID = "a\xffb" },
		"long id":           func(sw *StepWrite) { sw.Lead.ID = strings.Repeat("x", 2000) },
		"empty workflow":    func(sw *StepWrite) { sw.Lead.Workflow = "" },
		"NUL in stage":      func(sw *StepWrite) { sw.Lead.Stage = "a\x00" },
		"tab in owner":      func(sw *StepWrite) { sw.Lead.Owner = "a\tb" },
		"NUL in event id":   func(sw *StepWrite) { sw.EventID = "e\x00" },
		"empty timer name":  func(sw *StepWrite) { sw.Lead.Timers = map[string]time.Time{"": t0} },
		"zero due":          func(sw *StepWrite) { sw.Lead.Timers = map[string]time.Time{"t": {}} },
		"year 3000 due":     func(sw *StepWrite) { sw.Lead.Timers = map[string]time.Time{"t": t0.AddDate(974, 0, 0)} },
		"Prev of another":   func(sw *StepWrite) { sw.Prev = ptr(mkLead("other", "w", "s", "")) },
		"entry without seq": func(sw *StepWrite) { sw.Seq = 0 },
		"huge step":         func(sw *StepWrite) { sw.Lead.Data = make([]byte, 8<<20) },
	}
	s := openTest(t)
	commit(t, s, capture(good))
	for name, spoil := range bad {
		t.Run(name, func(t *testing.T) {
			// Two good steps, then the bad one, then a good one.
			first := capture(mkLead("first-"+name, "w", "s", ""))
			first.Notifications = [][]byte{[]byte("note")}
			second := next(good, good, 2)
			second.Lead.Stage = "moved"
			second.Lead.Timers = map[string]time.Time{"t": t0}
			third := capture(mkLead("third-"+name, "w", "s", ""))
			spoil(&third)
			if name != "huge step" { // a limit of the transaction, not of the step
				if err := Prepare(&third); err == nil {
					t.Error("Prepare accepted an invalid step")
				}
			}
			fourth := capture(mkLead("fourth-"+name, "w", "s", ""))
			err := s.Commit(ctx, []StepWrite{first, second, third, fourth}, []byte("rotation"))
			if err == nil {
				t.Fatal("Commit accepted an invalid step")
			}
			if !strings.Contains(err.Error(), "step 3 of 4") || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("error %q does not name step 3 and say nothing was written", err)
			}
			if got := leadsOf(t, s, Query{}); !slices.Equal(got, []string{"good"}) {
				t.Errorf("leads after a rejected commit: %v", got)
			}
			if got, _ := s.GetLead(ctx, "good"); got.Stage != "s" {
				t.Errorf("good moved to %q by a rejected commit", got.Stage)
			}
			for _, p := range []string{pTimer, pOutbox, pHistory + "good\x00\x00\x00\x00\x00\x00\x00\x00\x02"} {
				if ks := rawKeys(t, s, p); len(ks) > 0 {
					t.Errorf("a rejected commit wrote %q", ks)
				}
			}
			if r, _ := s.Rotation(ctx); r != nil {
				t.Errorf("a rejected commit stored rotation %q", r)
			}
		})
	}
	t.Logf("example: %v", s.Commit(ctx, []StepWrite{{Lead: Lead{ID: "a\nb", Workflow: "w"}}}, nil))
}

// TestPreparedSteps: steps prepared ahead of Commit write exactly what
// the same steps write unprepared.
func TestPreparedSteps(t *testing.T) {
	steps := func() []StepWrite {
		a := mkLead("a", "w", "new", "ana")
		a.Timers = map[string]time.Time{"after": t0, "sla": t0.Add(time.Hour)}
		b := a
		b.Stage, b.Owner = "working", "ben"
		b.Timers = map[string]time.Time{"sla": t0.Add(time.Hour), "nurture": t0.Add(2 * time.Hour)}
		second := next(a, b, 2)
		second.EventID, second.Result = "e1", []byte("answer")
		second.Notifications = [][]byte{[]byte("note")}
		return []StepWrite{capture(a), second, capture(mkLead("c", "w", "new", ""))}
	}
	plain, prepared := openTest(t), openTest(t)
	commit(t, plain, steps()...)
	ps := steps()
	for i := range ps[:2] { // the last one is left to Commit
		if err := Prepare(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, prepared, ps...)
	for _, p := range []string{pLead, pHistory, pTimer, pStage, pOwner, pOutbox, pEvent} {
		if a, b := rawKeys(t, plain, p), rawKeys(t, prepared, p); !slices.Equal(a, b) {
			t.Errorf("keys %q: unprepared %q, prepared %q", p, a, b)
		}
	}
	for _, id := range []string{"a", "c"} {
		a, _ := plain.GetLead(ctx, id)
		b, _ := prepared.GetLead(ctx, id)
		if !equalLead(a, b) {
			t.Errorf("lead %s: unprepared %+v, prepared %+v", id, a, b)
		}
	}
}

// TestChainedSteps commits several steps of one lead in one batch, each
// with Prev the previous step's Lead, and checks nothing stale is left.
func TestChainedSteps(t *testing.T) {
	s := openTest(t)
	l1 := mkLead("a", "w", "new", "alice")
	l1.Timers = map[string]time.Time{"sla": t0.Add(time.Hour)}
	l2 := l1
	l2.Stage, l2.Timers = "working", map[string]time.Time{"sla": t0.Add(2 * time.Hour), "nag": t0.Add(3 * time.Hour)}
	l3 := l2
	l3.Stage, l3.Owner, l3.Terminal, l3.Timers = "won", "bob", true, nil
	commit(t, s, capture(l1), next(l1, l2, 2), next(l2, l3, 3), capture(mkLead("b", "w", "new", "alice")))
	if got := indexOf(t, s, "a"); !slices.Equal(got, []string{"i/o/bob|a", "i/s/w|won|a", "i/w/w|a"}) {
		t.Errorf("index keys of a: %q", got)
	}
	if ks := rawKeys(t, s, pTimer); len(ks) != 0 {
		t.Errorf("timer keys left: %q", ks)
	}
	if h, _ := s.History(ctx, "a", 0, 0); len(h) != 3 {
		t.Errorf("history: %d entries", len(h))
	}
	got, _ := s.GetLead(ctx, "a")
	if !equalLead(got, &l3) {
		t.Errorf("lead = %+v, want %+v", got, l3)
	}

	// A Prev-less step of an existing lead (a confused caller) reads the
	// stored lead and clears its stale entries.
	b2 := mkLead("b", "w", "lost", "carol")
	commit(t, s, StepWrite{Lead: b2, Seq: 2})
	if got := indexOf(t, s, "b"); !slices.Equal(got, []string{"i/o/carol|b", "i/s/w|lost|b", "i/v/w|v1|b", "i/w/w|b"}) {
		t.Errorf("index keys of b: %q", got)
	}
	// The same in one batch: the second step reads the first's write.
	c1 := mkLead("c", "w", "one", "x")
	c1.Timers = map[string]time.Time{"t": t0}
	c2 := mkLead("c", "w", "two", "y")
	commit(t, s, StepWrite{Lead: c1, Seq: 1}, StepWrite{Lead: c2, Seq: 2})
	if got := indexOf(t, s, "c"); !slices.Equal(got, []string{"i/o/y|c", "i/s/w|two|c", "i/v/w|v1|c", "i/w/w|c"}) {
		t.Errorf("index keys of c: %q", got)
	}
	if ks := rawKeys(t, s, pTimer); len(ks) != 0 {
		t.Errorf("timer keys left: %q", ks)
	}
}

// TestConcurrentCommits runs 64 writers, one per lead, and checks that the
// committer grouped their steps and applied every one in order.
func TestConcurrentCommits(t *testing.T) {
	s := openTest(t)
	const writers, steps = 64, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			l := mkLead(fmt.Sprint("lead-", w), "w", "s0", "")
			if err := s.Commit(ctx, []StepWrite{capture(l)}, nil); err != nil {
				t.Error(err)
				return
			}
			for seq := uint64(2); seq <= steps; seq++ {
				n := l
				n.Stage = fmt.Sprint("s", seq%3)
				n.Timers = map[string]time.Time{"t": t0.Add(time.Duration(seq) * time.Minute)}
				n.Data = fmt.Appendf(nil, "%d", seq)
				sw := next(l, n, seq)
				sw.Notifications = [][]byte{fmt.Appendf(nil, "%d:%d", w, seq)}
				if err := s.Commit(ctx, []StepWrite{sw}, nil); err != nil {
					t.Error(err)
					return
				}
				l = n
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
		if string(l.Data) != fmt.Sprint(steps) {
			t.Errorf("%s: data %q", id, l.Data)
		}
		if h, _ := s.History(ctx, id, 0, 0); len(h) != steps {
			t.Errorf("%s: %d history entries", id, len(h))
		}
	}
	if n := len(rawKeys(t, s, pTimer)); n != writers {
		t.Errorf("%d timer keys, want %d", n, writers)
	}
	if n := len(rawKeys(t, s, pStage)); n != writers {
		t.Errorf("%d stage index keys, want %d", n, writers)
	}
	// Each writer's notifications are in its commit order.
	items, _ := s.Outbox(ctx, 0, 0)
	last := map[string]int{}
	for i, it := range items {
		if it.Seq != uint64(i+1) {
			t.Fatalf("outbox seq %d at position %d", it.Seq, i)
		}
		w, seq, _ := strings.Cut(string(it.Data), ":")
		var n int
		fmt.Sscan(seq, &n)
		if n <= last[w] {
			t.Fatalf("writer %s: notification %d after %d", w, n, last[w])
		}
		last[w] = n
	}
	txns := s.stats.txns.Load() // one sync each
	t.Logf("%d steps in %d transactions", writers*steps, txns)
	if txns >= writers*steps {
		t.Errorf("no group commit: %d transactions for %d steps", txns, writers*steps)
	}
}

// TestSplitCommit commits more steps than one transaction holds.
func TestSplitCommit(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{MemTableSize: 1 << 20}) // transactions of ~140 KB
	var steps []StepWrite
	for i := range 2000 {
		l := mkLead(fmt.Sprintf("lead-%04d", i), "w", "s", "")
		l.Data = bytes.Repeat([]byte{'x'}, 400)
		sw := capture(l)
		sw.Notifications = [][]byte{fmt.Appendf(nil, "%d", i)}
		steps = append(steps, sw)
	}
	before := s.stats.txns.Load()
	commit(t, s, steps...)
	if txns := s.stats.txns.Load() - before; txns < 5 {
		t.Errorf("2000 steps of 1 KB in %d transactions of at most 140 KB", txns)
	}
	page, _, err := s.Leads(ctx, Query{Limit: 5000})
	if err != nil || len(page) != 2000 {
		t.Fatalf("%d leads, %v", len(page), err)
	}
	items, _ := s.Outbox(ctx, 0, 0)
	for i, it := range items {
		if it.Seq != uint64(i+1) || string(it.Data) != fmt.Sprint(i) {
			t.Fatalf("outbox[%d] = %d:%s", i, it.Seq, it.Data)
		}
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	a := mkLead("a", "w", "s", "alice")
	a.Timers = map[string]time.Time{"t": t0}
	a.Stuck = true
	sw := capture(a)
	sw.EventID, sw.Result = "e1", []byte("r1")
	commit(t, s, sw)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetLead(ctx, "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("GetLead after Close: %v", err)
	}
	if err := s.Commit(ctx, []StepWrite{capture(a)}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}

	s = openAt(t, dir, Options{})
	got, err := s.GetLead(ctx, "a")
	if err != nil || !equalLead(got, &a) {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	yes := true
	if ls := leadsOf(t, s, Query{Stuck: &yes, Owner: "alice"}); !slices.Equal(ls, []string{"a"}) {
		t.Errorf("stuck leads after reopen: %v", ls)
	}
	if at, ok, _ := s.NextDue(ctx); !ok || !at.Equal(t0) {
		t.Errorf("NextDue after reopen: %v %v", at, ok)
	}
	if r, ok, _ := s.EventResult(ctx, "a", "e1"); !ok || string(r) != "r1" {
		t.Errorf("EventResult after reopen: %q %v", r, ok)
	}
}

func TestOpenRefusesOtherFormat(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(kFormat, []byte("lead-store/0")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, Options{Logger: quiet()}); err == nil || !strings.Contains(err.Error(), "lead-store/0") {
		t.Fatalf("Open of another format: %v", err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, l := range []Lead{
		{ID: "x", Workflow: "w"},
		{ID: "x", Workflow: "w", Version: "v", Stage: "s", Owner: "o", Terminal: true, Stuck: true, Data: []byte{0, 1, 2}},
		{ID: "x", Workflow: "w", Timers: map[string]time.Time{"a": t0, "b": t0.Add(-time.Hour * 24 * 365 * 60)}},
	} {
		got, err := decodeLead(l.ID, encodeLead(&l), true)
		if err != nil || !equalLead(got, &l) {
			t.Errorf("round trip of %+v: %+v %v", l, got, err)
		}
	}
	b := encodeLead(&Lead{ID: "x", Workflow: "w", Timers: map[string]time.Time{"a": t0}})
	for i := range len(b) - 1 {
		if _, err := decodeLead("x", b[:i], false); err == nil {
			t.Errorf("decoding %d of %d bytes succeeded", i, len(b))
		}
	}
}

func TestCommitCancelled(t *testing.T) {
	s := openTest(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Commit(cctx, []StepWrite{capture(mkLead("a", "w", "s", ""))}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with a cancelled context: %v", err)
	}
	if _, err := s.GetLead(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a cancelled Commit wrote: %v", err)
	}
}

// TestReadsSeeEarlierGroups: a step without Prev reads the lead it
// replaces, and that read must see every earlier group; otherwise the
// index entries of a state it missed would stay behind.
func TestReadsSeeEarlierGroups(t *testing.T) {
	s := openTest(t)
	const writers, steps = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range steps {
				l := mkLead("x", "w", fmt.Sprintf("s%d-%d", w, i), fmt.Sprintf("o%d-%d", w, i))
				l.Timers = map[string]time.Time{"t": t0.Add(time.Duration(w*steps+i) * time.Minute)}
				if err := s.Commit(ctx, []StepWrite{capture(l)}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, prefix := range []string{pStage, pOwner, pTimer} {
		if ks := rawKeys(t, s, prefix); len(ks) != 1 {
			t.Errorf("%d keys under %s, want 1: %q", len(ks), prefix, ks)
		}
	}
}

// copyDir copies a directory, keeping sparse files sparse: an open
// store's logs are mostly holes.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-R", "--sparse=always", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

// TestValueLog: a value over the threshold goes to Badger's value log,
// which the same commit syncs; it is there after a clean reopen and in a
// copy of the directory taken while the store is open (a crash image).
func TestValueLog(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ValueThreshold: 64}
	s := openAt(t, dir, opts)
	l := mkLead("big", "w", "s", "")
	l.Data = bytes.Repeat([]byte("0123456789"), 100)
	commit(t, s, capture(l))
	img := t.TempDir()
	copyDir(t, dir, img)
	s.Close()
	for _, d := range []string{dir, img} {
		got, err := openAt(t, d, opts).GetLead(ctx, "big")
		if err != nil || !bytes.Equal(got.Data, l.Data) {
			t.Errorf("%s: lead %+v, %v", d, got, err)
		}
	}
}

// TestSaveBigVersion: a compiled workflow of 2 MiB (the compiler's
// limit, ir.MaxBytes) is stored, in a transaction of its own, and read
// back; one over the store's limit is refused, naming it.
func TestSaveBigVersion(t *testing.T) {
	s := openTest(t)
	ir := bytes.Repeat([]byte("i"), 2<<20)
	if err := s.SaveVersion(ctx, Version{Workflow: "w", Version: "big", IR: ir}); err != nil {
		t.Fatal(err)
	}
	commit(t, s, capture(mkLead("a", "w", "s", ""))) // the store goes on
	vs, err := s.Versions(ctx)
	if err != nil || len(vs) != 1 || !bytes.Equal(vs[0].IR, ir) {
		t.Fatalf("Versions: %d versions, %v", len(vs), err)
	}
	if err := s.SaveVersion(ctx, Version{Workflow: "w", Version: "huge", IR: bytes.Repeat([]byte("i"), 3<<20)}); err == nil || !strings.Contains(err.Error(), "the limit is") {
		t.Errorf("a 3 MiB version: %v", err)
	}
}
