package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashDirEnv tells a re-executed test binary to be the crash test's
// child: commit batches into the store in that directory until killed.
// crashMemEnv, if set, is the child's MemTableSize.
const (
	crashDirEnv = "LEAD_STORE_CRASH_DIR"
	crashMemEnv = "LEAD_STORE_CRASH_MEMTABLE"
)

const (
	crashWriters = 8 // concurrent writers, as the runtime's per-lead writers
	crashLeads   = 4 // leads per writer, all stepped by every batch
)

// crashStep is step n of lead i of writer w, in the child's batch n.
func crashStep(w, i, n int) StepWrite {
	l := Lead{
		ID: fmt.Sprintf("w%d-l%d", w, i), Workflow: "crash", Version: "v1",
		Stage:  fmt.Sprint("s", n%3),
		Owner:  fmt.Sprint("o", n%2),
		Stuck:  n%5 == 0,
		Timers: map[string]time.Time{"t": t0.Add(time.Duration(n) * time.Minute)},
		Data:   fmt.Appendf(nil, "%d", n),
	}
	sw := StepWrite{
		Lead: l, Seq: uint64(n), Entry: fmt.Appendf(nil, "%d", n),
		Notifications: [][]byte{fmt.Appendf(nil, "%d %d %d", w, i, n)},
		EventID:       fmt.Sprint("e", n), Result: fmt.Appendf(nil, "%d", n),
	}
	if n > 1 {
		prev := crashStep(w, i, n-1).Lead
		sw.Prev = &prev
	}
	return sw
}

// crashChild commits batches from crashWriters goroutines, printing
// "acked W N" once batch N of writer W is committed, until it is killed.
// On a store that holds batches already (a crash image), each writer
// goes on after the last batch it finds there.
func crashChild(dir string) {
	opts := Options{Logger: quiet()}
	opts.MemTableSize, _ = strconv.ParseInt(os.Getenv(crashMemEnv), 10, 64)
	s, err := Open(dir, opts)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		first := 1
		if l, err := s.GetLead(ctx, fmt.Sprintf("w%d-l0", w)); err == nil {
			fmt.Sscan(string(l.Data), &first)
			fmt.Printf("start %d %d\n", w, first)
			first++
		}
		wg.Go(func() {
			for n := first; ; n++ {
				var batch []StepWrite
				for i := range crashLeads {
					batch = append(batch, crashStep(w, i, n))
				}
				if err := s.Commit(ctx, batch, fmt.Appendf(nil, "%d %d", w, n)); err != nil {
					fmt.Println("commit:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("acked %d %d\n", w, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a committing child process with SIGKILL and checks that
// every batch it acknowledged is in the store, completely, and that no
// batch is half applied.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	rounds := []struct {
		after    time.Duration
		memtable int64
	}{
		{300 * time.Millisecond, 0},
		{1500 * time.Millisecond, 0},
		// 1 MiB memtables: killed while Badger rotates logs and flushes
		// tables.
		{1500 * time.Millisecond, 1 << 20},
	}
	if testing.Short() {
		rounds = rounds[:1]
	}
	for _, r := range rounds {
		t.Run(fmt.Sprintf("kill after %v memtable %d", r.after, r.memtable), func(t *testing.T) {
			dir := t.TempDir()
			acked := runCrashChild(t, dir, r.after, r.memtable)
			checkCrashed(t, dir, acked)
		})
	}
}

// runCrashChild runs the child on dir, kills it after the given time (once
// it has acknowledged something) and returns the last batch acknowledged
// by each writer.
func runCrashChild(t *testing.T, dir string, after time.Duration, memtable int64) []int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprint(crashMemEnv, "=", memtable))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make([]int, crashWriters)
	total := 0
	deadline := time.Now().Add(after)
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var w, n int
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %d", &w, &n); err != nil {
			t.Errorf("child: %s", sc.Text())
			continue
		}
		if n != acked[w]+1 {
			t.Errorf("writer %d acknowledged batch %d after %d", w, n, acked[w])
		}
		acked[w] = n
		total++
		if !killed && time.Now().After(deadline) {
			// SIGKILL: no deferred Close, no flush; lines already written
			// to the pipe are still read below.
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

func checkCrashed(t *testing.T, dir string, acked []int) {
	s := openAt(t, dir, Options{})
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
	timers, err := s.DueTimers(ctx, t0.Add(1000*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	timerOf := map[string][]time.Duration{}
	for _, d := range timers {
		timerOf[d.LeadID] = append(timerOf[d.LeadID], d.Due.Sub(t0))
	}
	stageKeys := rawKeys(t, s, pStage)

	for w := range crashWriters {
		applied := -1
		for i := range crashLeads {
			id := fmt.Sprintf("w%d-l%d", w, i)
			m := 0
			if l, err := s.GetLead(ctx, id); err == nil {
				fmt.Sscan(string(l.Data), &m)
				want := crashStep(w, i, m).Lead
				if !equalLead(l, &want) {
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
				want := fmt.Sprintf("i/s/crash|s%d|%s", m%3, id)
				if n := slices.Index(stageKeys, want); n < 0 || slices.ContainsFunc(stageKeys, func(k string) bool { return k != want && strings.HasSuffix(k, "|"+id) }) {
					t.Errorf("%s at batch %d: stage keys %q", id, m, stageKeys)
				}
				if r, ok, _ := s.EventResult(ctx, id, fmt.Sprint("e", m)); !ok || string(r) != fmt.Sprint(m) {
					t.Errorf("%s: no result for event e%d", id, m)
				}
			}
			if _, ok, _ := s.EventResult(ctx, id, fmt.Sprint("e", m+1)); ok {
				t.Errorf("%s at batch %d has a result for event e%d", id, m, m+1)
			}
		}
	}

	// The outbox continues after the highest seq that survived.
	commit(t, s, capture(mkLead("after", "crash", "s", "")))
	sw := next(mkLead("after", "crash", "s", ""), mkLead("after", "crash", "s", ""), 2)
	sw.Notifications = [][]byte{[]byte("after")}
	commit(t, s, sw)
	if items, _ := s.Outbox(ctx, lastSeq, 0); len(items) != 1 || string(items[0].Data) != "after" {
		t.Errorf("outbox after the crash: %v (last seq before %d)", items, lastSeq)
	}
}
