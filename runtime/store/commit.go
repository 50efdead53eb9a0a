package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
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
// changes nothing). The steps of one Commit go into one transaction
// unless they exceed Badger's transaction limit (15% of MemTableSize:
// 2.4 MiB, some 2,000 typical steps, at the default); such a Commit is
// split between steps, and a crash in the middle may leave a prefix of
// its steps applied, each completely.
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
	steps    []stepPlan
	rotation []byte
	meta     *op      // PutMeta
	version  *Version // SaveVersion: written only if absent
	size     int64    // estimated transaction bytes, as Badger counts them
	count    int64    // entries
	err      error
	done     chan struct{}
}

// op is one key write.
type op struct {
	key, val []byte
	del      bool
}

// stepPlan is a StepWrite turned into key writes.
type stepPlan struct {
	sw          *StepWrite
	ops         []op
	notes       [][]byte // outbox values; their keys are numbered by the committer
	lowestTimer uint64   // encoded due of the earliest timer set, ^0 if none
	size, count int64
}

// entrySize is an upper bound on what Badger counts for an entry against
// its transaction limit (key, value, two meta bytes, the 8-byte version
// suffix, and slack).
func entrySize(k, v []byte) int64 { return int64(len(k)+len(v)) + 12 }

func (p *stepPlan) add(o op) {
	p.ops = append(p.ops, o)
	p.size += entrySize(o.key, o.val)
	p.count++
}

// Prepare validates sw and turns it into key writes ahead of Commit, with
// the same error Commit would return for it, so that a caller with many
// steps in flight does that work on every core instead of on the goroutine
// that commits them: it was a tenth of each group commit's time. Commit
// does it for a step not prepared. sw must not change after Prepare.
func Prepare(sw *StepWrite) error {
	p, err := planStep(sw)
	if err != nil {
		return err
	}
	sw.plan = &p
	return nil
}

// planStep validates sw and turns it into key writes. Deletions come from
// the difference between Prev's and Lead's index entries and timers, so a
// step needs no read (unless Prev is missing: see applyStep).
func planStep(sw *StepWrite) (stepPlan, error) {
	l := &sw.Lead
	if err := checkName("lead id", l.ID, true); err != nil {
		return stepPlan{}, err
	}
	if err := checkName("workflow", l.Workflow, true); err != nil {
		return stepPlan{}, err
	}
	for _, c := range []struct{ what, v string }{{"version", l.Version}, {"stage", l.Stage}, {"owner", l.Owner}, {"event id", sw.EventID}} {
		if err := checkName(c.what, c.v, false); err != nil {
			return stepPlan{}, err
		}
	}
	for name, due := range l.Timers {
		if err := checkName("timer name", name, true); err != nil {
			return stepPlan{}, err
		}
		if err := checkTime(due); err != nil {
			return stepPlan{}, fmt.Errorf("timer %s: %w", name, err)
		}
	}
	if sw.Prev != nil && sw.Prev.ID != l.ID {
		return stepPlan{}, fmt.Errorf("Prev is lead %q, not the step's lead", sw.Prev.ID)
	}
	if sw.Seq == 0 && sw.Entry != nil {
		return stepPlan{}, errors.New("history entry without a sequence number (Seq is 0)")
	}

	p := stepPlan{sw: sw, lowestTimer: ^uint64(0), notes: sw.Notifications}
	n := 8 + len(l.Timers)
	if sw.Prev != nil {
		n += len(sw.Prev.Timers)
	}
	p.ops = make([]op, 0, n)
	p.add(op{key: leadKey(l.ID), val: encodeLead(l)})
	if sw.Seq > 0 {
		p.add(op{key: historyKey(l.ID, sw.Seq), val: sw.Entry})
	}
	if sw.EventID != "" {
		p.add(op{key: eventKey(l.ID, sw.EventID), val: sw.Result})
	}
	if sw.Prev != nil {
		p.diff(sw.Prev, l)
	}
	for name, due := range l.Timers {
		if sw.Prev != nil {
			if was, ok := sw.Prev.Timers[name]; ok && was.Equal(due) {
				continue
			}
		}
		k := timerKey(due, l.ID, name)
		p.add(op{key: k})
		p.lowestTimer = min(p.lowestTimer, binary.BigEndian.Uint64(k[len(pTimer):]))
	}
	if sw.Prev == nil {
		for _, k := range indexKeys(nil, l) {
			p.add(op{key: k})
		}
	}
	for _, n := range p.notes {
		p.size += int64(len(pOutbox)+8+len(n)) + 12
		p.count++
	}
	return p, nil
}

// diff adds the index writes that take the lead from prev to l (only for
// the attributes that changed), and the deletions of prev's timers that l
// no longer has at the same time.
func (p *stepPlan) diff(prev, l *Lead) {
	id := l.ID
	wf := prev.Workflow != l.Workflow
	if wf {
		p.add(op{key: key(pWorkflow, prev.Workflow, id), del: true})
		p.add(op{key: key(pWorkflow, l.Workflow, id)})
	}
	if wf || prev.Stage != l.Stage {
		p.add(op{key: key(pStage, prev.Workflow, prev.Stage, id), del: true})
		p.add(op{key: key(pStage, l.Workflow, l.Stage, id)})
	}
	if prev.Owner != l.Owner {
		if prev.Owner != "" {
			p.add(op{key: key(pOwner, prev.Owner, id), del: true})
		}
		if l.Owner != "" {
			p.add(op{key: key(pOwner, l.Owner, id)})
		}
	}
	if prev.Stuck != l.Stuck {
		p.add(op{key: key(pStuck, id), del: prev.Stuck})
	}
	if was, is := !prev.Terminal, !l.Terminal; was != is || (is && (wf || prev.Version != l.Version)) {
		if was {
			p.add(op{key: key(pInFlight, prev.Workflow, prev.Version, id), del: true})
		}
		if is {
			p.add(op{key: key(pInFlight, l.Workflow, l.Version, id)})
		}
	}
	for name, was := range prev.Timers {
		if due, ok := l.Timers[name]; !ok || !due.Equal(was) {
			p.add(op{key: timerKey(was, id, name), del: true})
		}
	}
}

// Commit applies steps, each atomically and in order, and returns once
// they are durable. See the top of commit.go for what is atomic when.
func (s *Badger) Commit(ctx context.Context, steps []StepWrite, rotation []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(steps) == 0 && rotation == nil {
		return nil
	}
	r := &request{rotation: rotation}
	if rotation != nil {
		r.size, r.count = entrySize(kRotation, rotation), 1
	}
	r.steps = make([]stepPlan, len(steps))
	for i := range steps {
		var p stepPlan
		var err error
		if steps[i].plan != nil {
			p = *steps[i].plan
		} else {
			p, err = planStep(&steps[i])
		}
		if err != nil {
			return fmt.Errorf("commit: step %d of %d (lead %q): %w; nothing was written", i+1, len(steps), steps[i].Lead.ID, err)
		}
		if p.size > s.maxTxnSize()/2 || p.count > s.maxTxnCount()/2 {
			return fmt.Errorf("commit: step %d of %d (lead %q) writes %d bytes in %d entries; the limit per step is %d bytes in %d entries; nothing was written",
				i+1, len(steps), steps[i].Lead.ID, p.size, p.count, s.maxTxnSize()/2, s.maxTxnCount()/2)
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
	// A version has a transaction to itself if need be (group.apply).
	size := entrySize(versionKey(v.Workflow, v.Version), v.IR) + 8
	if size > s.maxTxnSize() {
		return fmt.Errorf("save version %s of %s: the IR is %d bytes; the limit is %d", v.Version, v.Workflow, len(v.IR), s.maxTxnSize())
	}
	return s.submit(&request{version: &v, size: size, count: 1})
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
	s.pending.put(r)
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
		reqs, ok := s.pending.take()
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
			more := s.pending.poll()
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
}

func (g *group) apply(reqs []*request) {
	for _, r := range reqs {
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
		g.size, g.n, g.lowest, g.outbox = 0, 0, ^uint64(0), false
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
	if g.outbox {
		if err := g.set(kOutboxNext, binary.BigEndian.AppendUint64(nil, g.s.nextOutbox)); err != nil {
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
		g.s.stats.txns.Add(1)
		g.s.stats.bytes.Add(g.size)
	}
	if g.lowest != ^uint64(0) {
		g.s.timers.committed()
	}
	if err != nil {
		// Badger may have taken part of the transaction into its log or
		// memtable: what a reopen recovers is not known here.
		err = g.s.fail(fmt.Errorf("commit: %w", err))
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
	for i := range r.steps {
		p := &r.steps[i]
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
	if r.rotation != nil {
		if err := g.set(kRotation, r.rotation); err != nil {
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

func (g *group) applyStep(p *stepPlan) error {
	if p.sw.Prev == nil {
		// A capture, or a caller that lost track: read what the lead was
		// (the transaction sees its own writes) and delete what is stale.
		prev, err := readLead(g.txn, p.sw.Lead.ID, false)
		if err != nil {
			return err
		}
		if prev != nil {
			var q stepPlan
			q.diff(prev, &p.sw.Lead)
			for _, o := range q.ops {
				if o.del {
					if err := g.del(o.key); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, o := range p.ops {
		var err error
		if o.del {
			err = g.del(o.key)
		} else {
			err = g.set(o.key, o.val)
		}
		if err != nil {
			return err
		}
	}
	for _, n := range p.notes {
		if err := g.set(outboxKey(g.s.nextOutbox), n); err != nil {
			return err
		}
		g.s.nextOutbox++
		g.outbox = true
	}
	if p.lowestTimer < g.lowest {
		g.lowest = p.lowestTimer
		g.s.timers.lower(p.lowestTimer)
	}
	return nil
}

// queue is an unbounded FIFO handing batches from producers to one
// consumer. It needs no bound: every producer waits for its request.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	ready  chan struct{}
	once   sync.Once
}

func (q *queue[T]) init() { q.once.Do(func() { q.ready = make(chan struct{}, 1) }) }

func (q *queue[T]) put(x T) {
	q.init()
	q.mu.Lock()
	q.items = append(q.items, x)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue[T]) close() {
	q.init()
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// poll returns the items queued, without waiting.
func (q *queue[T]) poll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// take waits for items and returns all of them; ok is false once the
// queue is closed and drained.
func (q *queue[T]) take() (items []T, ok bool) {
	q.init()
	for {
		q.mu.Lock()
		items, q.items = q.items, nil
		closed := q.closed
		q.mu.Unlock()
		if len(items) > 0 {
			return items, true
		}
		if closed {
			return nil, false
		}
		<-q.ready
	}
}
