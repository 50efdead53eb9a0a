package store

// Badger's own tests: what the contract suite (storetest, run on Badger by
// contract_test.go) cannot see from outside: the keys written, the timer
// floor, the codec and format, group commit, transaction splits, the
// value log, and the lead-store/1 upgrade.

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/leadlang/lead/runtime/engine"
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

// capture is the step creating l.
func capture(l Lead) StepWrite {
	l.Seq = 1
	return StepWrite{Lead: l, Entry: []byte("captured " + l.ID)}
}

// next is step seq of l.
func next(l Lead, seq uint64) StepWrite {
	l.Seq = seq
	return StepWrite{Lead: l, Entry: fmt.Appendf(nil, "step %d of %s", seq, l.ID)}
}

func commit(t testing.TB, s *Badger, steps ...StepWrite) {
	t.Helper()
	if err := commitRows(s, nil, steps...); err != nil {
		t.Fatal(err)
	}
}

func commitRows(s *Badger, routing map[string][]byte, steps ...StepWrite) error {
	ps := make([]Prepared, len(steps))
	for i, sw := range steps {
		p, err := s.Prepare(sw)
		if err != nil {
			return err
		}
		ps[i] = p
	}
	return s.Commit(ctx, ps, RoutingChange{Set: routing})
}

// rawKeys lists the keys under prefix, rendering the separator as "|".
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

func equalLead(a, b *Lead) bool {
	return a.ID == b.ID && a.Workflow == b.Workflow && a.Version == b.Version && a.Stage == b.Stage &&
		a.Owner == b.Owner && a.Terminal == b.Terminal && a.Stuck == b.Stuck && a.Seq == b.Seq &&
		bytes.Equal(a.Data, b.Data) && maps.EqualFunc(a.Timers, b.Timers, time.Time.Equal)
}

// TestIndexKeys: a step writes the index entries and timers of its new
// state, and deletes exactly those of the stored lead that changed.
func TestIndexKeys(t *testing.T) {
	s := openTest(t)
	a := mkLead("a", "sales", "new", "alice")
	b := mkLead("b", "sales", "new", "")
	commit(t, s, capture(a), capture(b))
	a.Stage, a.Owner, a.Stuck = "qualified", "bob", true
	b.Stage, b.Terminal, b.Owner = "won", true, "carol"
	commit(t, s, next(a, 2), next(b, 2))
	if got := indexOf(t, s, "a"); !slices.Equal(got, []string{"i/o/bob|a", "i/s/sales|qualified|a", "i/v/sales|v1|a", "i/w/sales|a", "i/x/a"}) {
		t.Errorf("index keys of a: %q", got)
	}
	if got := indexOf(t, s, "b"); !slices.Equal(got, []string{"i/o/carol|b", "i/s/sales|won|b", "i/w/sales|b"}) {
		t.Errorf("index keys of b (terminal): %q", got)
	}
	a.Stuck, a.Owner, a.Version = false, "", "v2"
	a.Timers = map[string]time.Time{"sla": t0, "nag": t0.Add(time.Hour)}
	commit(t, s, next(a, 3))
	a.Timers = map[string]time.Time{"sla": t0, "nag": t0.Add(2 * time.Hour)}
	commit(t, s, next(a, 4))
	if got := indexOf(t, s, "a"); !slices.Equal(got, []string{"i/s/sales|qualified|a", "i/v/sales|v2|a", "i/w/sales|a"}) {
		t.Errorf("index keys of a: %q", got)
	}
	if got := len(rawKeys(t, s, pTimer)); got != 2 {
		t.Errorf("%d timer keys, want 2", got)
	}
	// In one Commit, the second step reads the first's write.
	c := mkLead("c", "w", "one", "x")
	c.Timers = map[string]time.Time{"t": t0}
	c2 := mkLead("c", "w", "two", "y")
	commit(t, s, capture(c), next(c2, 2))
	if got := indexOf(t, s, "c"); !slices.Equal(got, []string{"i/o/y|c", "i/s/w|two|c", "i/v/w|v1|c", "i/w/w|c"}) {
		t.Errorf("index keys of c: %q", got)
	}
	if got := len(rawKeys(t, s, pTimer)); got != 2 {
		t.Errorf("%d timer keys, want a's 2", got)
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
				if _, _, err := s.NextDue(ctx, t0); err != nil {
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
		if err := commitRows(s, nil, capture(l)); err != nil {
			t.Error(err)
			break
		}
		if got, _, _ := s.NextDue(ctx, t0); !got.Equal(want) {
			t.Errorf("after commit %d NextDue = %v, want %v", i, got, want)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// TestGroupCommit: 64 writers' steps share transactions (and syncs).
func TestGroupCommit(t *testing.T) {
	s := openTest(t)
	const writers, steps = 64, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			l := mkLead(fmt.Sprint("lead-", w), "w", "s0", "")
			for seq := uint64(1); seq <= steps; seq++ {
				if err := commitRows(s, nil, next(l, seq)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
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
		{ID: "x", Workflow: "w", Seq: 1},
		{ID: "x", Workflow: "w", Version: "v", Stage: "s", Owner: "o", Terminal: true, Stuck: true, Seq: 1 << 40, Data: []byte{0, 1, 2}},
		{ID: "x", Workflow: "w", Seq: 7, Timers: map[string]time.Time{"a": t0, "b": t0.Add(-time.Hour * 24 * 365 * 60)}},
	} {
		got, err := decodeLead(l.ID, encodeLead(&l), true)
		if err != nil || !equalLead(got, &l) {
			t.Errorf("round trip of %+v: %+v %v", l, got, err)
		}
	}
	b := encodeLead(&Lead{ID: "x", Workflow: "w", Seq: 3, Timers: map[string]time.Time{"a": t0}})
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
	p, err := s.Prepare(capture(mkLead("a", "w", "s", "")))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(cctx, []Prepared{p}, RoutingChange{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with a cancelled context: %v", err)
	}
	if _, err := s.GetLead(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a cancelled Commit wrote: %v", err)
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

// encodeLeadV1 is a lead record as lead-store/1 wrote it: no sequence
// number.
func encodeLeadV1(l *Lead) []byte {
	var flags byte
	if l.Terminal {
		flags |= flagTerminal
	}
	if l.Stuck {
		flags |= flagStuck
	}
	b := []byte{flags}
	for _, s := range []string{l.Workflow, l.Version, l.Stage, l.Owner} {
		b = appendString(b, s)
	}
	b = append(b, 0) // no timers
	return append(b, l.Data...)
}

// TestUpgradeV1 opens a store in the lead-store/1 layout: its lead
// records gain the sequence number of their last history entry, and its
// routing state becomes rows that the engine reads back as it was.
func TestUpgradeV1(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(Options{}.withDefaults().badger(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	rot := engine.NewRotation()
	rot.Teams["w/sales"] = engine.TeamState{Next: 3, Current: map[string]int{"ana": 2}}
	rot.Open["ana"], rot.Open["ben"] = 4, 1
	rotJSON, _ := json.Marshal(rot)
	const leads = 3000 // more than one transaction's worth
	err = db.Update(func(txn *badger.Txn) error {
		txn.Set(kFormat, []byte("lead-store/1"))
		return txn.Set(kRotation, rotJSON)
	})
	if err != nil {
		t.Fatal(err)
	}
	wb := db.NewWriteBatch()
	for i := range leads {
		l := mkLead(fmt.Sprintf("l%04d", i), "w", "s", "ana")
		l.Data = bytes.Repeat([]byte{'d'}, 500)
		wb.Set(leadKey(l.ID), encodeLeadV1(&l))
		for seq := range uint64(i%4 + 1) {
			wb.Set(historyKey(l.ID, seq+1), []byte("h"))
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openAt(t, dir, Options{})
	for i := range leads {
		l, err := s.GetLead(ctx, fmt.Sprintf("l%04d", i))
		if err != nil || l.Seq != uint64(i%4+1) || len(l.Data) != 500 || l.Owner != "ana" {
			t.Fatalf("lead %d after the upgrade: %+v %v", i, l, err)
		}
	}
	rows, err := s.Routing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	back, err := engine.RotationFromRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(back); string(b) != string(rotJSON) {
		t.Errorf("routing state after the upgrade %s, want %s", b, rotJSON)
	}
	if got := rawKeys(t, s, "r"); slices.Contains(got, "r") {
		t.Errorf("the old routing key is left: %q", got)
	}
	// A step of an upgraded lead follows its history.
	commit(t, s, next(mkLead("l0003", "w", "s", "ana"), 5))
	s.Close()
	if s := openAt(t, dir, Options{}); s != nil {
		if l, _ := s.GetLead(ctx, "l0003"); l.Seq != 5 {
			t.Errorf("after a reopen, l0003 at step %d", l.Seq)
		}
	}
}

// TestRecentLeads: a step's check and index diff see the stored lead
// whether the committer still holds it (recent) or has let it go, and a
// stale step conflicts either way.
func TestRecentLeads(t *testing.T) {
	s := openTest(t)
	old := mkLead("old", "sales", "new", "alice")
	commit(t, s, capture(old))
	// More leads than both generations hold push "old" out.
	var batch []StepWrite
	for i := range 2*recentSize + 1 {
		batch = append(batch, capture(mkLead(fmt.Sprintf("l%d", i), "sales", "new", "")))
		if len(batch) == 1000 {
			commit(t, s, batch...)
			batch = batch[:0]
		}
	}
	commit(t, s, batch...)
	if _, ok := s.recentLeads.get("old"); ok {
		t.Fatal("old is still held: the test does not reach the read path")
	}
	if _, ok := s.recentLeads.get(fmt.Sprintf("l%d", 2*recentSize)); !ok {
		t.Fatal("the last lead committed is not held")
	}
	for _, id := range []string{"old", fmt.Sprintf("l%d", 2*recentSize)} {
		l := mkLead(id, "sales", "won", "bob")
		commit(t, s, next(l, 2))
		if err := commitRows(s, nil, next(l, 2)); !errors.Is(err, ErrConflict) {
			t.Errorf("%s: step 2 again: %v, want ErrConflict", id, err)
		}
		want := []string{pOwner + "bob|" + id, pStage + "sales|won|" + id, pWorkflow + "sales|" + id, pInFlight + "sales|v1|" + id}
		slices.Sort(want)
		got := indexOf(t, s, id)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: index %q, want %q", id, got, want)
		}
	}
}

// TestRecentCounters: a counter's increments add to its stored value
// whether the committer still holds it, has let it go, or a
// ReplaceCounters wrote it past the group commit.
func TestRecentCounters(t *testing.T) {
	s := openTest(t)
	step := func(id string, counts map[string]int64) {
		w := capture(mkLead(id, "sales", "new", ""))
		w.Counts = counts
		commit(t, s, w)
	}
	step("a", map[string]int64{"x": 1, "gone": 1})
	if err := s.ReplaceCounters(ctx, "", map[string]int64{"x": 10}); err != nil {
		t.Fatal(err)
	}
	step("b", map[string]int64{"x": 1, "gone": 1})
	// More counters than both generations hold push "x" out.
	for part := range 3 {
		many := map[string]int64{}
		for i := part * recentSize; i < (part+1)*recentSize; i++ {
			many[fmt.Sprintf("c%d", i)] = 1
		}
		step(fmt.Sprintf("c%d", part), many)
	}
	if _, ok := s.recentCounts.get("x"); ok {
		t.Fatal("x is still held: the test does not reach the read path")
	}
	step("d", map[string]int64{"x": 1, "c0": -1})
	got, err := CounterMap(ctx, s, "", "\xff")
	if err != nil {
		t.Fatal(err)
	}
	if got["x"] != 12 || got["gone"] != 1 || got["c1"] != 1 {
		t.Errorf("x=%d gone=%d c1=%d, want 12, 1, 1", got["x"], got["gone"], got["c1"])
	}
	if _, ok := got["c0"]; ok {
		t.Errorf("c0 back at zero is still stored")
	}
}
