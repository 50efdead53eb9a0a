package storetest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/store"
)

// The two halves of a crash test for a store whose process can be killed:
// CrashWriter runs in the process that is killed, CheckCrashed on the
// store afterwards.

const (
	// CrashWriters is how many goroutines CrashWriter commits from, as
	// the runtime's per-lead writers.
	CrashWriters = 8
	// crashLeads is how many leads each writer steps in every batch.
	crashLeads = 4
)

// crashStep is step n of lead i of writer w, in the writer's batch n.
func crashStep(w, i, n int) store.StepWrite {
	l := store.Lead{
		ID: fmt.Sprintf("w%d-l%d", w, i), Workflow: "crash", Version: "v1",
		Stage:  fmt.Sprint("s", n%3),
		Owner:  fmt.Sprint("o", n%2),
		Stuck:  n%5 == 0,
		Seq:    uint64(n),
		Timers: map[string]time.Time{"t": T0.Add(time.Duration(n) * time.Minute)},
		Data:   fmt.Appendf(nil, "%d", n),
	}
	return store.StepWrite{
		Lead: l, Entry: fmt.Appendf(nil, "%d", n),
		Notifications: [][]byte{fmt.Appendf(nil, "%d %d %d", w, i, n)},
		EventID:       fmt.Sprint("e", n), Result: fmt.Appendf(nil, "%d", n),
	}
}

// CrashWriter commits batches into s from CrashWriters goroutines, each
// batch a step of each of the writer's leads with a routing change (a row
// compared and set, a count added to), and writes
// "acked W N" to out once batch N of writer W is durable, until it is
// killed or a commit fails (its error is returned). On a store that holds
// batches already (a crash image), each writer goes on after the last
// batch it finds there, and writes "start W N" first.
func CrashWriter(s store.Store, out io.Writer) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, CrashWriters)
	for w := range CrashWriters {
		first := 1
		if l, err := s.GetLead(ctx, fmt.Sprintf("w%d-l0", w)); err == nil {
			first = int(l.Seq) + 1
			fmt.Fprintf(out, "start %d %d\n", w, l.Seq)
		}
		wg.Go(func() {
			for n := first; ; n++ {
				var batch []store.StepWrite
				for i := range crashLeads {
					batch = append(batch, crashStep(w, i, n))
				}
				// The team row was left at n-1 (no row before batch 1); the
				// count row goes up by one a batch.
				var was []byte
				if n > 1 {
					was = fmt.Appendf(nil, "%d", n-1)
				}
				ch := store.RoutingChange{
					Expect: map[string][]byte{fmt.Sprint("team/", w): was},
					Set:    map[string][]byte{fmt.Sprint("team/", w): fmt.Appendf(nil, "%d", n)},
					Add:    map[string]int64{fmt.Sprint("open/", w): 1},
				}
				if err := commit(s, ch, batch...); err != nil {
					errs <- fmt.Errorf("writer %d, batch %d: %w", w, n, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "acked %d %d\n", w, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return <-errs
}

// CheckCrashed checks a store CrashWriter was killed on: every batch
// writer w acknowledged (acked[w]) is there, and at most one more, every
// batch completely (lead, history, event result, timers, lookups,
// notifications in order, routing row), none half applied; and the store
// takes new commits, numbering the outbox after what survived.
func CheckCrashed(t *testing.T, s store.Store, acked []int) {
	t.Helper()
	notes := map[string][]int{} // "w i" → batches, in outbox order
	items, err := s.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := uint64(0)
	for _, it := range items {
		if it.Seq <= lastSeq {
			t.Fatalf("outbox seq %d after %d", it.Seq, lastSeq)
		}
		lastSeq = it.Seq
		var w, i, n int
		fmt.Sscanf(string(it.Data), "%d %d %d", &w, &i, &n)
		k := fmt.Sprint(w, " ", i)
		notes[k] = append(notes[k], n)
	}
	timers, err := s.ClaimDue(ctx, T0.Add(100000*time.Hour), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	timerOf := map[string][]time.Duration{}
	for _, d := range timers {
		timerOf[d.LeadID] = append(timerOf[d.LeadID], d.Due.Sub(T0))
	}
	stageOf := map[string][]string{}
	for i := range 3 {
		stage := fmt.Sprint("s", i)
		for _, id := range leadsOf(t, s, store.Query{Workflow: "crash", Stage: stage}) {
			stageOf[id] = append(stageOf[id], stage)
		}
	}
	rows, err := s.Routing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for w := range CrashWriters {
		applied := -1
		for i := range crashLeads {
			id := fmt.Sprintf("w%d-l%d", w, i)
			m := 0
			if l, err := s.GetLead(ctx, id); err == nil {
				m = int(l.Seq)
				want := crashStep(w, i, m).Lead
				if !Equal(l, &want) {
					t.Errorf("%s: %+v, want %+v", id, l, want)
				}
			}
			if applied >= 0 && m != applied {
				t.Fatalf("writer %d: batch half applied: lead 0 at %d, lead %d at %d", w, applied, i, m)
			}
			applied = m
			if m < acked[w] || m > acked[w]+1 {
				t.Fatalf("%s at batch %d; writer %d's last acknowledged batch was %d", id, m, w, acked[w])
			}
			h, _ := s.History(ctx, id, 0, 0)
			if len(h) != m {
				t.Errorf("%s at batch %d has %d history entries", id, m, len(h))
			}
			for n, e := range h {
				if string(e) != fmt.Sprint(n+1) {
					t.Errorf("%s: history entry %d is %q", id, n+1, e)
				}
			}
			wantNotes := make([]int, m)
			for n := range wantNotes {
				wantNotes[n] = n + 1
			}
			if got := notes[fmt.Sprint(w, " ", i)]; !slices.Equal(got, wantNotes) {
				t.Errorf("%s at batch %d: notifications of batches %v", id, m, got)
			}
			if m > 0 {
				if got := timerOf[id]; !slices.Equal(got, []time.Duration{time.Duration(m) * time.Minute}) {
					t.Errorf("%s at batch %d: timers %v", id, m, got)
				}
				if got := stageOf[id]; !slices.Equal(got, []string{fmt.Sprint("s", m%3)}) {
					t.Errorf("%s at batch %d: in stages %v", id, m, got)
				}
				if r, ok, _ := s.EventResult(ctx, id, fmt.Sprint("e", m)); !ok || string(r) != fmt.Sprint(m) {
					t.Errorf("%s: no result for event e%d", id, m)
				}
			}
			if _, ok, _ := s.EventResult(ctx, id, fmt.Sprint("e", m+1)); ok {
				t.Errorf("%s at batch %d has a result for event e%d", id, m, m+1)
			}
		}
		if applied > 0 && string(rows[fmt.Sprint("team/", w)]) != fmt.Sprint(applied) {
			t.Errorf("writer %d at batch %d: routing row %q", w, applied, rows[fmt.Sprint("team/", w)])
		}
		if applied > 0 && string(rows[fmt.Sprint("open/", w)]) != fmt.Sprint(applied) {
			t.Errorf("writer %d at batch %d: count row %q", w, applied, rows[fmt.Sprint("open/", w)])
		}
	}
	// The outbox goes on after the highest seq that survived.
	after := store.Lead{ID: "after", Workflow: "crash", Stage: "s", Seq: 1}
	sw := store.StepWrite{Lead: after, Entry: []byte("after"), Notifications: [][]byte{[]byte("after")}}
	Commit(t, s, sw)
	if items, _ := s.Outbox(ctx, lastSeq, 0); len(items) != 1 || string(items[0].Data) != "after" {
		t.Errorf("outbox after the crash: %v (last seq before %d)", items, lastSeq)
	}
}

// KillCrashWriter starts cmd, a child process running CrashWriter on a
// store, reads what it acknowledges and kills it with SIGKILL (no
// deferred Close, no flush) at the first acknowledgement after the given
// time. It returns the last batch each writer acknowledged: lines the
// child wrote to the pipe before it died are still read.
func KillCrashWriter(t testing.TB, cmd *exec.Cmd, after time.Duration) []int {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make([]int, CrashWriters)
	total := 0
	deadline := time.Now().Add(after)
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var w, n int
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %d", &w, &n); err != nil || w < 0 || w >= CrashWriters {
			t.Errorf("child: %s", sc.Text())
			continue
		}
		if n != acked[w]+1 {
			t.Errorf("writer %d acknowledged batch %d after %d", w, n, acked[w])
		}
		acked[w] = n
		total++
		if !killed && time.Now().After(deadline) {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child exited on its own: %v", err)
	}
	t.Logf("child killed after %d acknowledged batches %v", total, acked)
	return acked
}
