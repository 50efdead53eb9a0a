package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leadlang/lead/runtime/store"
)

// commitQueue is an unbounded FIFO of pending steps. Pushing never blocks,
// so it can happen under the service lock, which keeps the queue in step
// order.
type commitQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []*pending
	closed bool
}

func (q *commitQueue) push(p *pending) {
	q.mu.Lock()
	q.items = append(q.items, p)
	q.mu.Unlock()
	q.cond.Signal()
}

// take waits for pending steps and returns up to max of them; nil once the
// queue is closed and empty.
func (q *commitQueue) take(max int) []*pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return nil // closed and drained
	}
	n := min(len(q.items), max)
	out := make([]*pending, n)
	copy(out, q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	}
	return out
}

func (q *commitQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// commitLoop is the group committer: it takes every step queued while the
// previous commit was being made durable and commits them together.
func (s *Service) commitLoop() {
	for {
		batch := s.queue.take(s.cfg.MaxBatch)
		if batch == nil {
			return
		}
		var encErr error
		for _, p := range batch {
			<-p.ready
			if p.encErr != nil && encErr == nil {
				encErr = fmt.Errorf("lead %s: %w", p.leadID, p.encErr)
			}
		}
		if encErr != nil {
			for _, p := range batch {
				p.err = encErr
			}
		} else {
			for _, part := range routeParts(batch) {
				s.commitPart(part)
			}
		}
		s.settle(batch)
	}
}

// settle ends committed steps, each with its err set: their leads' cache
// entries and waiters, the timer scheduler, the pushes. A step the store
// refused (the node lost a partition's lease, a lead or a routing row
// moved under it) wrote nothing: its lead is dropped from the cache, to
// be read again from the store, its input is planned again (finish), and
// the service goes on. Any other failure leaves the outcome unknown: the
// service stops.
func (s *Service) settle(batch []*pending) {
	earliest := time.Time{}
	notes := 0
	var failed error
	s.mu.Lock()
	for _, p := range batch {
		switch {
		case p.err == nil:
			for _, t := range p.timers {
				if earliest.IsZero() || t.Due.Before(earliest) {
					earliest = t.Due
				}
			}
			notes += p.notes
		case refused(p.err):
			if _, ok := s.cache[p.leadID]; ok {
				delete(s.cache, p.leadID)
				s.evicted++
			}
		case failed == nil:
			failed = p.err
		}
	}
	if failed != nil && s.failed == nil {
		s.log.Error("commit failed: the service stops accepting work; restart to recover the last durable state", "err", failed, "steps", len(batch))
		s.failed = failed
	}
	for _, p := range batch {
		if ent := s.cache[p.leadID]; ent != nil {
			ent.pending--
			if ent.last == p {
				ent.last = nil
			}
			if p.eventID != "" {
				ent.idGen++
				if ent.events[p.eventID] == p {
					delete(ent.events, p.eventID)
				}
			}
		}
	}
	s.mu.Unlock()
	if s.cfg.Observe != nil {
		for _, p := range batch {
			if p.err == nil {
				s.cfg.Observe(p.res)
			}
		}
	}
	for _, p := range batch {
		close(p.done)
	}
	if !earliest.IsZero() {
		s.timerSet(earliest)
	}
	if notes > 0 {
		signal(s.kick)
	}
	signal(s.stepKick)
}

// refused reports whether the store refused a commit whole: it wrote
// nothing, and the steps may be planned again.
func refused(err error) bool {
	return errors.Is(err, store.ErrFenced) || errors.Is(err, store.ErrConflict)
}

// commitPart commits steps with their routing change and sets each
// step's err. When the store refuses a commit with a routing change, the
// steps of the leads the change does not concern are committed again
// without it (they did not depend on it), and this node's copy of the
// rows is read again from the store: another node changed them.
func (s *Service) commitPart(pt part) {
	err := s.commit(pt.steps, pt.routing)
	if err == nil || !refused(err) || pt.routing.Empty() {
		for _, p := range pt.steps {
			p.err = err
		}
		return
	}
	routed := map[string]bool{}
	for _, p := range pt.steps {
		if p.route != nil {
			routed[p.leadID] = true
		}
	}
	var free []*pending
	for _, p := range pt.steps {
		if routed[p.leadID] {
			p.err = err
		} else {
			free = append(free, p)
		}
	}
	if len(free) > 0 {
		ferr := s.commit(free, store.RoutingChange{})
		for _, p := range free {
			p.err = ferr
		}
	}
	s.met.routingConflicts.Inc()
	s.refreshRouting(pt.routing)
}

// commit commits steps, as one store commit.
func (s *Service) commit(steps []*pending, routing store.RoutingChange) error {
	start := time.Now()
	err := s.st.Commit(context.Background(), writes(steps), routing)
	s.met.commitBatch.Observe(float64(len(steps)))
	s.met.commitSeconds.Observe(time.Since(start).Seconds())
	if refused(err) {
		s.log.Warn("commit refused: nothing of it was written; its steps are planned again", "err", err, "steps", len(steps))
		s.met.refused.Inc()
	}
	return err
}

// writes returns the steps' prepared writes, in order.
func writes(steps []*pending) []store.Prepared {
	w := make([]store.Prepared, len(steps))
	for i, p := range steps {
		w[i] = p.write
	}
	return w
}

// refreshRouting reads the rows a refused routing change named from the
// store into this node's copy of the routing state.
func (s *Service) refreshRouting(ch store.RoutingChange) {
	var names []string
	ch.Names(func(name string) { names = append(names, name) })
	s.mu.Lock()
	gen := s.rowsRead
	s.mu.Unlock()
	rows, err := s.st.Routing(context.Background(), names...)
	if err != nil {
		s.log.Error("read routing state again", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rowsRead != gen {
		// A locked commit read rows meanwhile, with them locked: this
		// read may be older than its.
		return
	}
	for _, name := range names {
		if err := s.rot.SetRow(name, rows[name]); err != nil {
			s.log.Error("read routing state again", "err", err)
		}
	}
}

// part is steps committed together with their routing change.
type part struct {
	steps   []*pending
	routing store.RoutingChange
}

// routeParts turns a batch into commits, in order: one, unless a step's
// routing decision read a row that an earlier step of the commit changed
// by a count (whose value before the commit this node cannot know) or
// that the step saw other than the earlier steps left it (this node's
// copy was read again from the store in between). Such a step starts a
// new commit, whose expectation is what it saw: the store, not this
// node, tells whether that still holds.
func routeParts(batch []*pending) []part {
	type known struct {
		val []byte
		ok  bool // val is the row's value after the part's steps so far
	}
	var parts []part
	cur := part{}
	var rows map[string]known
	for i, p := range batch {
		r := p.route
		if r == nil {
			cur.steps = append(cur.steps, p)
			continue
		}
		for name, seen := range r.Expect {
			if k, in := rows[name]; in && (!k.ok || !sameRow(k.val, seen)) && len(cur.steps) > 0 {
				parts = append(parts, cur)
				cur, rows = part{}, nil
				break
			}
		}
		if rows == nil {
			rows = map[string]known{}
			cur.routing = store.RoutingChange{Expect: map[string][]byte{}, Set: map[string][]byte{}, Add: map[string]int64{}}
		}
		for name, seen := range r.Expect {
			if _, in := rows[name]; !in {
				cur.routing.Expect[name] = seen
				rows[name] = known{seen, true}
			}
		}
		for name, v := range r.Set {
			cur.routing.Set[name] = v
			rows[name] = known{v, true}
		}
		for name, d := range r.Add {
			cur.routing.Add[name] += d
			k, in := rows[name]
			if in && k.ok {
				v, err := store.AddCount(k.val, d)
				rows[name] = known{v, err == nil}
			} else {
				rows[name] = known{}
			}
		}
		cur.steps = append(cur.steps, batch[i])
	}
	if len(cur.steps) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// sameRow compares two row values, nil (no row) apart from empty.
func sameRow(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }

// timerSet wakes the timer scheduler for a committed timer due at due,
// unless it is asleep until after that anyway.
func (s *Service) timerSet(due time.Time) {
	if until := s.sleepUntil.Load(); until == 0 || due.UnixNano() < until {
		signal(s.wake)
	}
}

// signal wakes a loop without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
