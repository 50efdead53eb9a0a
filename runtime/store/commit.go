package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Group commit.
//
// Commit validates its steps and turns them into key writes in the
// caller's goroutine (so that, with many callers, encoding runs on every
// core), then queues them. The committer goroutine takes everything
// queued, by any number of callers, and builds it into one Badger
// transaction (more if it is too big for one), which Badger writes to its
// log and syncs before Commit returns (SyncWrites): one sync for the whole
// group. Only then are the callers released.
//
// Durability rests on Badger's own log and recovery, nothing else: Badger
// replays its log on Open, whole transactions only, so an acknowledged
// step survives a crash or a power failure, and one that was not
// acknowledged is either there completely or not at all.
//
// Atomicity. Badger applies a transaction all or nothing, so a step, which
// never spans transactions, is atomic. A Commit is validated as a whole
// before anything is queued: an invalid step rejects the whole Commit and
// writes nothing, not even the valid steps before it (a rejected request
// changes nothing). So is a Commit one of whose steps conflicts: before
// any of its writes, the committer checks every step's sequence number
// against the stored lead's (and against the steps before it in the
// group). The steps of one Commit go into one transaction unless they
// exceed Badger's transaction limit (15% of MemTableSize: 2.4 MiB, some
// 2,000 typical steps, at the default); such a Commit is split between
// steps, and a crash in the middle may leave a prefix of its steps
// applied, each completely.
//
// Reads at commit. The stored lead is read in the transaction (which
// sees the group's own earlier writes) for the conditional check, and
// its attributes say which index entries and timers to delete: a step
// brings only the new state.
//
// Ordering. The queue is FIFO and the committer applies requests in queue
// order, so steps are applied in the order their Commit calls were made
// (the runtime's one writer per lead makes that per-lead order), and
// outbox sequence numbers follow commit order.
//
// Visibility. Badger makes a transaction visible to readers only after
// its Commit, which with SyncWrites returns after the sync: a reader never
// sees (or shows a client, or delivers to a webhook) a state that a power
// failure could take back.
//
// Failure. If Badger fails to take a transaction, what is on disk is no
// longer known to match what callers were told, so the store refuses
// every later write until it is reopened (as PostgreSQL does after a
// failed fsync); reopening recovers from Badger's log.

// request is a Commit (or PutMeta or SaveVersion) on its way to disk.
type request struct {
	steps   []*prepared
	routing RoutingChange
	replace *replacement // ReplaceCounters
	meta    *op          // PutMeta
	version *Version     // SaveVersion: written only if absent
	size    int64        // estimated transaction bytes, as Badger counts them
	count   int64        // entries
	err     error
	done    chan struct{}
}

// op is one key write.
type op struct {
	key, val []byte
	del      bool
}

// prepared is a StepWrite encoded into what does not depend on the stored
// lead: its record, history entry, event result and notifications, and
// the index and timer keys of its new state. Commit adds the deletions
// the stored lead calls for.
type prepared struct {
	sw     StepWrite
	record []byte
	index  [][]byte          // index keys of the new state
	timers map[string][]byte // timer name → key, of the new state
	lowest uint64            // encoded due of the earliest timer, ^0 if none
	size   int64             // an upper bound, as Badger counts
	count  int64
}

func (p *prepared) Step() *StepWrite { return &p.sw }

// entrySize is an upper bound on what Badger counts for an entry against
// its transaction limit (key, value, two meta bytes, the 8-byte version
// suffix, and slack).
func entrySize(k, v []byte) int64 { return int64(len(k)+len(v)) + 12 }

// staleTimers bounds, for the size estimate, the deletions of the stored
// lead's timers beyond as many as the step sets: 16 keys with names of up
// to 64 bytes. The estimate only places the splits between transactions,
// which Badger's own limit backs (with 10% to spare, maxTxnSize).
const staleTimers = int64(16 * (len(pTimer) + 8 + 64 + 1 + 64 + 12))

// Prepare validates sw and encodes it for Commit, in the caller's
// goroutine: with many steps in flight, that work runs on every core
// instead of on the goroutine that commits them (it was a tenth of each
// group commit's time).
func (s *Badger) Prepare(sw StepWrite) (Prepared, error) {
	p, err := prepare(sw)
	if err != nil {
		return nil, err
	}
	if p.size > s.maxTxnSize()/2 || p.count > s.maxTxnCount()/2 {
		return nil, fmt.Errorf("lead %q: the step writes %d bytes in %d entries; the limit per step is %d bytes in %d entries",
			sw.Lead.ID, p.size, p.count, s.maxTxnSize()/2, s.maxTxnCount()/2)
	}
	return p, nil
}

func prepare(sw StepWrite) (*prepared, error) {
	l := &sw.Lead
	if err := checkName("lead id", l.ID, true); err != nil {
		return nil, err
	}
	if err := checkName("workflow", l.Workflow, true); err != nil {
		return nil, err
	}
	for _, c := range []struct{ what, v string }{{"version", l.Version}, {"stage", l.Stage}, {"owner", l.Owner}, {"event id", sw.EventID}} {
		if err := checkName(c.what, c.v, false); err != nil {
			return nil, err
		}
	}
	if l.Seq == 0 {
		return nil, errors.New("the lead's sequence number (Seq) is 0: a step's is 1 or more")
	}
	p := &prepared{sw: sw, record: encodeLead(l), index: indexKeys(nil, l), lowest: ^uint64(0), timers: make(map[string][]byte, len(l.Timers))}
	for name, due := range l.Timers {
		if err := checkName("timer name", name, true); err != nil {
			return nil, err
		}
		if err := checkTime(due); err != nil {
			return nil, fmt.Errorf("timer %s: %w", name, err)
		}
		k := timerKey(due, l.ID, name)
		p.timers[name] = k
		p.lowest = min(p.lowest, binary.BigEndian.Uint64(k[len(pTimer):]))
	}
	add := func(k, v []byte, n int) {
		p.size += int64(n) * entrySize(k, v)
		p.count += int64(n)
	}
	add(leadKey(l.ID), p.record, 1)
	add(historyKey(l.ID, l.Seq), sw.Entry, 1)
	if sw.EventID != "" {
		add(eventKey(l.ID, sw.EventID), sw.Result, 1)
	}
	for _, k := range p.index {
		add(k, nil, 2) // set, and the delete of the stored one
	}
	for _, k := range p.timers {
		add(k, nil, 2)
	}
	p.size += staleTimers
	p.count += 16
	for _, n := range sw.Notifications {
		add(outboxKey(0), n, 1)
	}
	add(stepKey(0), append(binary.AppendUvarint(nil, l.Seq), l.ID...), 1)
	for name := range sw.Counts {
		if err := checkNameLen("counter", name, true, 2*maxName); err != nil {
			return nil, err
		}
		add(counterKey(name), make([]byte, 8), 1)
	}
	return p, nil
}

// Commit applies steps, each atomically and in order, and returns once
// they are durable. See the top of commit.go for what is atomic when.
func (s *Badger) Commit(ctx context.Context, steps []Prepared, routing RoutingChange) error {
	return s.rows.commit(routing, func() error { return s.commit(ctx, steps, routing) })
}

func (s *Badger) commit(ctx context.Context, steps []Prepared, routing RoutingChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(steps) == 0 && routing.Empty() {
		return nil
	}
	if err := CheckRouting(routing); err != nil {
		return fmt.Errorf("commit: %w; nothing was written", err)
	}
	r := &request{routing: routing, steps: make([]*prepared, len(steps))}
	for k, v := range routing.Set {
		r.size += entrySize(routingKey(k), v)
		r.count++
	}
	for k := range routing.Add {
		r.size += entrySize(routingKey(k), nil) + 20 // a decimal count
		r.count++
	}
	for i, st := range steps {
		p, ok := st.(*prepared)
		if !ok {
			return fmt.Errorf("commit: step %d of %d was not prepared by this store; nothing was written", i+1, len(steps))
		}
		r.steps[i] = p
		r.size += p.size
		r.count += p.count
	}
	return s.submit(r)
}

// PutMeta writes (durably) a small named value.
func (s *Badger) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName("meta key", key, true); err != nil {
		return fmt.Errorf("put meta: %w", err)
	}
	o := op{key: metaKey(key), val: value}
	if entrySize(o.key, o.val) > s.maxTxnSize()/2 {
		return fmt.Errorf("put meta %s: the value is %d bytes; the limit is %d", key, len(value), s.maxTxnSize()/2)
	}
	return s.submit(&request{meta: &o, size: entrySize(o.key, o.val), count: 1})
}

// SaveVersion stores a compiled workflow version, durably. It is
// idempotent: a version already stored is left as it is, SavedAt included.
// A zero SavedAt is taken as now.
func (s *Badger) SaveVersion(ctx context.Context, v Version) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkVersion(&v); err != nil {
		return err
	}
	// A version has a transaction to itself if need be (group.apply).
	size := entrySize(versionKey(v.Workflow, v.Version), v.IR) + 8
	if size > s.maxTxnSize() {
		return fmt.Errorf("save version %s of %s: the IR is %d bytes; the limit is %d", v.Version, v.Workflow, len(v.IR), s.maxTxnSize())
	}
	return s.submit(&request{version: &v, size: size, count: 1})
}

// checkVersion validates a version to save; a zero SavedAt becomes now.
func checkVersion(v *Version) error {
	if err := checkName("workflow", v.Workflow, true); err != nil {
		return fmt.Errorf("save version: %w", err)
	}
	if err := checkName("version", v.Version, true); err != nil {
		return fmt.Errorf("save version: %w", err)
	}
	if v.SavedAt.IsZero() {
		v.SavedAt = time.Now()
	}
	if err := checkTime(v.SavedAt); err != nil {
		return fmt.Errorf("save version: SavedAt: %w", err)
	}
	return nil
}

// maxTxnSize and maxTxnCount are what the committer puts in one Badger
// transaction: 90% of Badger's limits, which also count a marker entry.
func (s *Badger) maxTxnSize() int64  { return s.db.MaxBatchSize() / 10 * 9 }
func (s *Badger) maxTxnCount() int64 { return s.db.MaxBatchCount() / 10 * 9 }

// submit queues r and waits for it to be durable. Once queued a request
// is not abandoned, so that its caller learns whether it was applied.
func (s *Badger) submit(r *request) error {
	r.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	if err := s.broken.Load(); err != nil {
		s.mu.RUnlock()
		return *err
	}
	s.pending.Put(r)
	s.mu.RUnlock()
	<-r.done
	return r.err
}

// fail marks the store broken: a write or sync failed after the log or
// Badger may have taken part of it, so no later write is acknowledged.
func (s *Badger) fail(err error) error {
	err = fmt.Errorf("store %s: %w; writes are refused until the store is reopened", s.dir, err)
	s.broken.CompareAndSwap(nil, &err)
	return *s.broken.Load()
}

// commitLoop is the committer.
func (s *Badger) commitLoop() {
	defer s.done.Done()
	lone := true // the last group had one request: a lone caller
	for {
		reqs, ok := s.pending.Take()
		if !ok {
			return
		}
		// Callers released by the last sync wake one by one; let the
		// runnable ones queue their next steps so that they share this
		// transaction instead of each paying for one. Not for a lone
		// caller (the runtime's group committer): it waits for this very
		// request, and a yield delayed it behind every runnable goroutine,
		// some 100 µs of a 1 ms group commit (runtime/bench/http.sh:
		// 13.7k against 14.55k events/s, alternating runs).
		for i := 0; i < 4 && !(lone && len(reqs) == 1); i++ {
			runtime.Gosched()
			more := s.pending.Poll()
			if len(more) == 0 {
				break
			}
			reqs = append(reqs, more...)
		}
		lone = len(reqs) == 1
		if err := s.broken.Load(); err != nil {
			finish(reqs, *err)
			continue
		}
		g := group{s: s}
		g.apply(reqs)
		finish(reqs, nil)
	}
}

// finish releases the callers of reqs that have no error yet with err.
func finish(reqs []*request, err error) {
	for _, r := range reqs {
		if r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

// group is one turn of the committer: the requests it took, written in
// as few transactions as Badger allows. A request that fails sets its err.
type group struct {
	s    *Badger
	txn  *badger.Txn
	size int64
	n    int64
	in   []*request // requests with writes in txn
	// outbox says txn appends to the outbox, and so must store the counter.
	outbox bool
	// lowest is the earliest timer set in txn, for the timer floor.
	lowest uint64
	// leads are the leads txn has read or written, as it sees them.
	leads map[string]*Lead
	// released are the timer keys txn deletes: their claims end with it.
	released [][]byte
	// counts are the counter increments of txn's steps, summed: each
	// counter is read and written once per transaction.
	counts map[string]int64
	// steps says txn appends to the step stream.
	steps bool
	// counted are the counters txn writes, with their new values.
	counted map[string]int64
}

func (g *group) apply(reqs []*request) {
	for _, r := range reqs {
		if r.replace != nil {
			g.flush()
			if r.err = g.replaceCounters(r.replace); r.err != nil {
				r.err = g.s.fail(fmt.Errorf("replace counters: %w", r.err)) // some of it may be written
			}
			continue
		}
		if g.txn != nil && (r.size+g.size > g.s.maxTxnSize() || r.count+g.n > g.s.maxTxnCount()) {
			g.flush()
		}
		if err := g.applyRequest(r); err != nil {
			g.abort(err)
		}
	}
	g.flush()
}

func (g *group) begin(r *request) {
	if g.txn == nil {
		g.txn = g.s.db.NewTransaction(true)
		g.size, g.n, g.lowest, g.outbox, g.steps = 0, 0, ^uint64(0), false, false
		g.leads, g.released, g.counts, g.counted = map[string]*Lead{}, g.released[:0], map[string]int64{}, map[string]int64{}
	}
	if len(g.in) == 0 || g.in[len(g.in)-1] != r {
		g.in = append(g.in, r)
	}
}

// flush commits the open transaction: Badger writes it to its log and
// syncs the log before Commit returns.
func (g *group) flush() {
	if g.txn == nil {
		return
	}
	if err := g.writeCounts(); err != nil {
		g.abort(err)
		return
	}
	if g.outbox {
		if err := g.set(kOutboxNext, binary.BigEndian.AppendUint64(nil, g.s.nextOutbox)); err != nil {
			g.abort(err)
			return
		}
	}
	if g.steps {
		if err := g.set(kStepNext, binary.BigEndian.AppendUint64(nil, g.s.nextStep)); err != nil {
			g.abort(err)
			return
		}
	}
	txn, in, writes := g.txn, g.in, g.n
	g.txn, g.in = nil, nil
	var err error
	if writes == 0 {
		txn.Discard() // nothing to write (a version saved before)
	} else if err = txn.Commit(); err == nil {
		keepLeads(&g.s.recentLeads, g.leads)
		for name, n := range g.counted {
			g.s.recentCounts.put(name, n)
		}
		g.s.stats.txns.Add(1)
		g.s.stats.bytes.Add(g.size)
		g.s.claims.release(g.released)
	}
	if g.lowest != ^uint64(0) {
		g.s.timers.committed()
	}
	if err != nil {
		// Badger may have taken part of the transaction into its log or
		// memtable: what a reopen recovers is not known here.
		err = g.s.fail(fmt.Errorf("commit: %w", err))
		g.s.recentLeads.forget()
		g.s.recentCounts.forget()
		for _, r := range in {
			r.err = err
		}
	}
}

// abort drops the open transaction after a failure to build it (a read
// error, or a transaction limit the size estimates missed): none of it is
// written, so its requests fail but the store stays usable.
func (g *group) abort(err error) {
	if g.txn == nil {
		return // the failure was the commit's, and flush recorded it
	}
	g.txn.Discard()
	if g.lowest != ^uint64(0) {
		g.s.timers.committed() // no timer is pending any more
	}
	for _, r := range g.in {
		if r.err == nil {
			r.err = fmt.Errorf("commit: nothing written: %w", err)
		}
	}
	g.txn, g.in = nil, nil
}

func (g *group) set(k, v []byte) error {
	g.size += entrySize(k, v)
	g.n++
	return g.txn.SetEntry(badger.NewEntry(k, v))
}

func (g *group) del(k []byte) error {
	g.size += entrySize(k, nil)
	g.n++
	return g.txn.Delete(k)
}

func (g *group) applyRequest(r *request) error {
	g.begin(r)
	if err := g.check(r); err != nil {
		r.err = err // this request writes nothing; the group goes on
		return nil
	}
	for _, p := range r.steps {
		// A request too big for one transaction is split between steps.
		if g.n > 0 && (p.size+g.size > g.s.maxTxnSize() || p.count+g.n > g.s.maxTxnCount()) {
			g.flush()
			if r.err != nil {
				return r.err
			}
			g.begin(r)
		}
		if err := g.applyStep(p); err != nil {
			return err
		}
	}
	for k, v := range r.routing.Set {
		if err := g.setRow(k, v); err != nil {
			return err
		}
	}
	for k, d := range r.routing.Add {
		cur, err := g.row(k)
		if err != nil {
			return err
		}
		v, err := AddCount(cur, d)
		if err != nil {
			return err
		}
		if err := g.setRow(k, v); err != nil {
			return err
		}
	}
	if r.meta != nil {
		if err := g.set(r.meta.key, r.meta.val); err != nil {
			return err
		}
	}
	if v := r.version; v != nil {
		k := versionKey(v.Workflow, v.Version)
		if _, err := g.txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
			if err := g.set(k, encodeVersion(v)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// stored returns a lead's attributes as the group sees them: written by
// an earlier step of the group, or read in the transaction; nil if the
// lead does not exist.
func (g *group) stored(id string) (*Lead, error) {
	if l, ok := g.leads[id]; ok {
		return l, nil
	}
	if l, ok := g.s.recentLeads.get(id); ok {
		g.leads[id] = l
		return l, nil
	}
	l, err := readLead(g.txn, id, false)
	if err != nil {
		return nil, err
	}
	g.leads[id] = l
	return l, nil
}

// check makes sure each step of r follows the lead's stored state (or
// the step of r before it): its Seq one more than the lead's.
// row reads a routing row in the open transaction (nil: none), which
// sees the group's own earlier writes.
func (g *group) row(name string) ([]byte, error) {
	it, err := g.txn.Get(routingKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return it.ValueCopy(nil)
}

func (g *group) setRow(name string, v []byte) error {
	if v == nil {
		return g.del(routingKey(name))
	}
	return g.set(routingKey(name), v)
}

func (g *group) check(r *request) error {
	if err := checkExpect(r.routing, g.row); err != nil {
		return err
	}
	var chain map[string]uint64 // the steps of r so far
	for i, p := range r.steps {
		l := &p.sw.Lead
		at, ok := chain[l.ID]
		if !ok {
			cur, err := g.stored(l.ID)
			if err != nil {
				return fmt.Errorf("commit: read lead %s: %w; nothing was written", l.ID, err)
			}
			if cur != nil {
				at = cur.Seq
			}
		}
		if l.Seq != at+1 {
			return fmt.Errorf("commit: step %d of %d: %w: lead %s is at step %d, and this is step %d; nothing was written", i+1, len(r.steps), ErrConflict, l.ID, at, l.Seq)
		}
		if chain == nil {
			chain = map[string]uint64{}
		}
		chain[l.ID] = l.Seq
	}
	return nil
}

// applyStep writes a checked step: the lead, its history entry and event
// result, its index entries and timers where they changed from the
// stored lead's, and its notifications.
func (g *group) applyStep(p *prepared) error {
	l := &p.sw.Lead
	prev, err := g.stored(l.ID)
	if err != nil {
		return err
	}
	if err := g.set(leadKey(l.ID), p.record); err != nil {
		return err
	}
	if err := g.set(historyKey(l.ID, l.Seq), p.sw.Entry); err != nil {
		return err
	}
	if p.sw.EventID != "" {
		if err := g.set(eventKey(l.ID, p.sw.EventID), p.sw.Result); err != nil {
			return err
		}
	}
	if prev == nil {
		for _, k := range p.index {
			if err := g.set(k, nil); err != nil {
				return err
			}
		}
	} else if err := indexDiff(prev, l, g.set, g.del); err != nil {
		return err
	}
	for name, k := range p.timers {
		if prev != nil {
			if was, ok := prev.Timers[name]; ok && was.Equal(l.Timers[name]) {
				continue
			}
		}
		if err := g.set(k, nil); err != nil {
			return err
		}
	}
	if prev != nil {
		for name, was := range prev.Timers {
			if due, ok := l.Timers[name]; !ok || !due.Equal(was) {
				k := timerKey(was, l.ID, name)
				if err := g.del(k); err != nil {
					return err
				}
				g.released = append(g.released, k)
			}
		}
	}
	for _, n := range p.sw.Notifications {
		if err := g.set(outboxKey(g.s.nextOutbox), n); err != nil {
			return err
		}
		g.s.nextOutbox++
		g.outbox = true
	}
	if err := g.set(stepKey(g.s.nextStep), append(binary.AppendUvarint(nil, l.Seq), l.ID...)); err != nil {
		return err
	}
	g.s.nextStep++
	g.steps = true
	for name, d := range p.sw.Counts {
		g.counts[name] += d
	}
	if p.lowest < g.lowest {
		g.lowest = p.lowest
		g.s.timers.lower(p.lowest)
	}
	g.leads[l.ID] = l
	return nil
}

// writeCounts adds the transaction's counter increments to the stored
// counters; a counter back at zero is deleted.
func (g *group) writeCounts() error {
	for name, d := range g.counts {
		if d == 0 {
			continue
		}
		k := counterKey(name)
		n, ok := g.s.recentCounts.get(name)
		if !ok {
			v, err := get(g.txn, k)
			if err != nil {
				return err
			}
			if len(v) == 8 {
				n = int64(binary.BigEndian.Uint64(v))
			}
		}
		n += d
		g.counted[name] = n
		var err error
		if n == 0 {
			err = g.del(k)
		} else {
			err = g.set(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
		}
		if err != nil {
			return err
		}
	}
	clear(g.counts)
	return nil
}

// replacement is a ReplaceCounters on its way to the committer.
type replacement struct {
	prefix string
	counts map[string]int64
}

// ReplaceCounters replaces every counter under prefix with counts.
func (s *Badger) ReplaceCounters(ctx context.Context, prefix string, counts map[string]int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for name := range counts {
		if err := checkNameLen("counter", name, true, 2*maxName); err != nil {
			return fmt.Errorf("replace counters: %w", err)
		}
	}
	return s.submit(&request{replace: &replacement{prefix, counts}})
}

// replaceCounters runs a ReplaceCounters, in as many transactions as it
// takes, on the committer's goroutine (no group commit interleaves).
func (g *group) replaceCounters(rp *replacement) error {
	g.s.recentCounts.forget()
	var old [][]byte
	err := g.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: append([]byte(pCounter), rp.prefix...)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			old = append(old, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return err
	}
	txn := g.s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	// Each write goes into the open transaction, or a new one once that
	// is full.
	write := func(f func(*badger.Txn) error) error {
		err := f(txn)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return err
			}
			txn = g.s.db.NewTransaction(true)
			err = f(txn)
		}
		return err
	}
	for _, k := range old {
		if err := write(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
			return err
		}
	}
	for name, n := range rp.counts {
		if n != 0 {
			v := binary.BigEndian.AppendUint64(nil, uint64(n))
			if err := write(func(txn *badger.Txn) error { return txn.Set(counterKey(name), v) }); err != nil {
				return err
			}
		}
	}
	return txn.Commit()
}

// indexDiff writes the index entries that take a lead from prev to l,
// only for the attributes that changed.
func indexDiff(prev, l *Lead, set func(k, v []byte) error, del func(k []byte) error) error {
	id := l.ID
	var err error
	put := func(k []byte, remove bool) {
		if err != nil {
			return
		}
		if remove {
			err = del(k)
		} else {
			err = set(k, nil)
		}
	}
	wf := prev.Workflow != l.Workflow
	if wf {
		put(key(pWorkflow, prev.Workflow, id), true)
		put(key(pWorkflow, l.Workflow, id), false)
	}
	if wf || prev.Stage != l.Stage {
		put(key(pStage, prev.Workflow, prev.Stage, id), true)
		put(key(pStage, l.Workflow, l.Stage, id), false)
	}
	if prev.Owner != l.Owner {
		if prev.Owner != "" {
			put(key(pOwner, prev.Owner, id), true)
		}
		if l.Owner != "" {
			put(key(pOwner, l.Owner, id), false)
		}
	}
	if prev.Stuck != l.Stuck {
		put(key(pStuck, id), prev.Stuck)
	}
	if was, is := !prev.Terminal, !l.Terminal; was != is || (is && (wf || prev.Version != l.Version)) {
		if was {
			put(key(pInFlight, prev.Workflow, prev.Version, id), true)
		}
		if is {
			put(key(pInFlight, l.Workflow, l.Version, id), false)
		}
	}
	return err
}

// recent holds what the last transactions the committer committed left
// stored under some keys: the leads (without Data) and the counters. The
// committer is the only writer in a store it has opened alone, so a value
// found here is the stored value, and the next transaction need not read
// and decode it again: under load most steps are to leads stepped moments
// before, and bump the same counters of the same day. Two generations of
// at most recentSize entries bound it; a key in neither is read from
// Badger.
type recent[V any] struct {
	cur, old map[string]V
}

const recentSize = 1 << 13

func (r *recent[V]) get(k string) (V, bool) {
	if v, ok := r.cur[k]; ok {
		return v, true
	}
	v, ok := r.old[k]
	return v, ok
}

// put records a committed value.
func (r *recent[V]) put(k string, v V) {
	if len(r.cur) >= recentSize || r.cur == nil {
		r.old, r.cur = r.cur, make(map[string]V, recentSize)
	}
	r.cur[k] = v
}

// forget drops everything: after a failed commit, or a write past the
// group commit, the stored state is not known here.
func (r *recent[V]) forget() { r.cur, r.old = nil, nil }

// keepLeads records in r the leads a committed transaction read or wrote
// (nil: no such lead), without their Data.
func keepLeads(r *recent[*Lead], leads map[string]*Lead) {
	for id, l := range leads {
		if l != nil && l.Data != nil {
			c := *l
			c.Data = nil
			l = &c
		}
		r.put(id, l)
	}
}
