package store

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/cputime"
)

// The commit benchmarks step 64 active leads. Every step writes a
// ~400-byte lead, a ~300-byte history entry, a rescheduled timer and a
// stage change: six keys (lead, history, timer deleted and set, stage
// index deleted and set).
const benchLeads = 64

var (
	benchBlob  = randomBytes(400)
	benchEntry = randomBytes(300)
)

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return b
}

// benchLead is lead i after step n.
func benchLead(i, n int) Lead {
	data := make([]byte, len(benchBlob))
	copy(data, benchBlob)
	copy(data, fmt.Sprint(n))
	return Lead{
		ID: fmt.Sprintf("lead-%06d", i), Workflow: "sales", Version: "3f9a1c", Owner: "alice",
		Stage:  fmt.Sprint("stage-", n%4),
		Seq:    uint64(n),
		Timers: map[string]time.Time{"sla": t0.Add(time.Duration(n) * time.Minute)},
		Data:   data,
	}
}

// benchStep is step n of lead i, prepared.
func benchStep(b *testing.B, s *Badger, i, n int) Prepared {
	p, err := s.Prepare(StepWrite{Lead: benchLead(i, n), Entry: benchEntry})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchSetup opens a store with benchLeads captured leads.
func benchSetup(b *testing.B, opts Options) (*Badger, []Lead) {
	s := openAt(b, b.TempDir(), opts)
	leads := make([]Lead, benchLeads)
	var steps []StepWrite
	for i := range leads {
		leads[i] = benchLead(i, 1)
		steps = append(steps, StepWrite{Lead: leads[i], Entry: benchEntry})
	}
	commit(b, s, steps...)
	return s, leads
}

var syncModes = []struct {
	name string
	opts Options
}{
	{"default", Options{}},
	{"uncompressed", Options{NoCompression: true}},
}

// meter measures steps per second, CPU time per step (all of the
// process's threads: the store's goroutines, Badger's flushes and
// compactions, the kernel's work in fsync) and the grouping achieved.
type meter struct {
	s     *Badger
	start time.Time
	cpu   time.Duration
	txns  int64
}

func startMeter(b *testing.B, s *Badger) *meter {
	b.ResetTimer()
	return &meter{s: s, start: time.Now(), cpu: cputime.Process(), txns: s.stats.txns.Load()}
}

func (m *meter) report(b *testing.B, steps int) {
	elapsed, cpu := time.Since(m.start), cputime.Process()-m.cpu
	b.ReportMetric(float64(steps)/elapsed.Seconds(), "steps/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(steps), "cpu-µs/step")
	}
	if txns := m.s.stats.txns.Load() - m.txns; txns > 0 {
		b.ReportMetric(float64(steps)/float64(txns), "steps/fsync") // a sync per transaction
	}
}

// BenchmarkCommitGroup commits batches of one step of each of the 64
// leads: one Commit, one transaction and one fsync per batch. An op is a
// batch.
func BenchmarkCommitGroup(b *testing.B) {
	for _, m := range syncModes {
		b.Run(m.name, func(b *testing.B) {
			s, leads := benchSetup(b, m.opts)
			batch := make([]Prepared, benchLeads)
			m := startMeter(b, s)
			for n := 2; n < b.N+2; n++ {
				for i := range leads {
					batch[i] = benchStep(b, s, i, n)
				}
				if err := s.Commit(ctx, batch, RoutingChange{}); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b, b.N*benchLeads)
		})
	}
}

// BenchmarkCommitConcurrent runs the runtime's pattern: 64 writers, one
// per lead, each committing its lead's steps one at a time; the store
// groups whatever is queued into one transaction and one fsync. An op is
// a step.
func BenchmarkCommitConcurrent(b *testing.B) {
	for _, m := range syncModes {
		b.Run(m.name, func(b *testing.B) {
			s, leads := benchSetup(b, m.opts)
			per := (b.N + benchLeads - 1) / benchLeads
			m := startMeter(b, s)
			var wg sync.WaitGroup
			for i := range leads {
				wg.Go(func() {
					for n := 2; n < per+2; n++ {
						if err := s.Commit(ctx, []Prepared{benchStep(b, s, i, n)}, RoutingChange{}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			m.report(b, per*benchLeads)
		})
	}
}

// BenchmarkCommitNaive is the baseline: one Commit, transaction and fsync
// per step, from one goroutine. An op is a step.
func BenchmarkCommitNaive(b *testing.B) {
	for _, m := range syncModes {
		b.Run(m.name, func(b *testing.B) {
			s, _ := benchSetup(b, m.opts)
			m := startMeter(b, s)
			for k := range b.N {
				i, n := k%benchLeads, k/benchLeads+2
				if err := s.Commit(ctx, []Prepared{benchStep(b, s, i, n)}, RoutingChange{}); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b, b.N)
		})
	}
}

// BenchmarkDueTimers scans the timer index of 1,000,000 pending timers
// (100,000 leads with 10 timers each, due one second apart).
func BenchmarkDueTimers(b *testing.B) {
	const leads, perLead = 100_000, 10
	s := openAt(b, b.TempDir(), Options{})
	due := func(k int) time.Time { return t0.Add(time.Duration(k) * time.Second) }
	state := make([]Lead, leads)
	var batch []StepWrite
	for i := range leads {
		l := Lead{ID: fmt.Sprintf("lead-%06d", i), Workflow: "w", Version: "v", Stage: "s", Seq: 1, Data: benchBlob[:100], Timers: map[string]time.Time{}}
		for j := range perLead {
			l.Timers[fmt.Sprint("timer-", j)] = due(j*leads + i)
		}
		state[i] = l
		batch = append(batch, StepWrite{Lead: l, Entry: benchEntry})
		if len(batch) == 1000 {
			commit(b, s, batch...)
			batch = batch[:0]
		}
	}
	b.ResetTimer()

	b.Run("NextDue", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := s.NextDue(ctx, t0); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	// Claims without a lease, so that each finds what the one before did.
	b.Run("ClaimDue-1000", func(b *testing.B) {
		for b.Loop() {
			if ts, err := s.ClaimDue(ctx, due(leads*perLead), 1000, 0); err != nil || len(ts) != 1000 {
				b.Fatal(len(ts), err)
			}
		}
	})
	b.Run("ClaimDue-all", func(b *testing.B) {
		for b.Loop() {
			if ts, err := s.ClaimDue(ctx, due(leads*perLead), 0, 0); err != nil || len(ts) != leads*perLead {
				b.Fatal(len(ts), err)
			}
		}
		b.ReportMetric(float64(b.N*leads*perLead)/b.Elapsed().Seconds(), "timers/s")
	})

	// Fire the first 100,000 timers (the first timer of every lead): their
	// deletion markers stay at the front of the index until compaction.
	batch = batch[:0]
	for i := range state {
		prev := state[i]
		l := prev
		l.Seq = 2
		l.Timers = map[string]time.Time{}
		for name, at := range prev.Timers {
			if name != "timer-0" {
				l.Timers[name] = at
			}
		}
		state[i] = l
		batch = append(batch, StepWrite{Lead: l, Entry: benchEntry})
		if len(batch) == 1000 {
			commit(b, s, batch...)
			batch = batch[:0]
		}
	}
	b.Run("NextDue-after-100k-fired", func(b *testing.B) {
		for b.Loop() {
			if at, _, err := s.NextDue(ctx, t0); err != nil || !at.Equal(due(leads)) {
				b.Fatal(at, err)
			}
		}
	})
	b.Run("NextDue-after-100k-fired-no-floor", func(b *testing.B) {
		for b.Loop() {
			s.timers.mu.Lock()
			s.timers.floor = 0
			s.timers.mu.Unlock()
			if at, _, err := s.NextDue(ctx, t0); err != nil || !at.Equal(due(leads)) {
				b.Fatal(at, err)
			}
		}
	})
}
