package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leadlang/lead/runtime/engine"
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
// previous commit was being made durable and commits them together. rot is
// the routing state as of the committed steps, which is what it stores.
func (s *Service) commitLoop(rot *engine.Rotation) {
	for {
		batch := s.queue.take(s.cfg.MaxBatch)
		if batch == nil {
			return
		}
		writes := make([]store.Prepared, 0, len(batch))
		rows := map[string][]byte{}
		earliest := time.Time{}
		notes := 0
		var encErr error
		for _, p := range batch {
			<-p.ready
			if p.encErr != nil && encErr == nil {
				encErr = fmt.Errorf("lead %s: %w", p.leadID, p.encErr)
			}
			writes = append(writes, p.write)
			if !p.routing.Empty() {
				rot.Apply(p.routing)
				rot.Rows(p.routing, rows)
			}
			for _, t := range p.timers {
				if earliest.IsZero() || t.Due.Before(earliest) {
					earliest = t.Due
				}
			}
			notes += p.notes
		}
		start := time.Now()
		err := encErr
		if err == nil {
			err = s.st.Commit(context.Background(), writes, rows)
			s.met.commitBatch.Observe(float64(len(batch)))
			s.met.commitSeconds.Observe(time.Since(start).Seconds())
		}
		// A commit the store refused as a whole (the node lost a
		// partition's lease, or a lead moved under it) wrote nothing: the
		// leads it stepped in memory are dropped from the cache, to be
		// read again from the store, and the service goes on. Any other
		// failure leaves the outcome unknown: the service stops.
		refused := errors.Is(err, store.ErrFenced) || errors.Is(err, store.ErrConflict)
		if refused {
			s.log.Warn("commit refused: nothing of it was written", "err", err, "steps", len(batch))
			s.met.refused.Inc()
		} else if err != nil {
			s.log.Error("commit failed: the service stops accepting work; restart to recover the last durable state", "err", err, "steps", len(batch))
			s.mu.Lock()
			s.failed = err
			s.mu.Unlock()
		}
		s.mu.Lock()
		if refused {
			for _, p := range batch {
				if _, ok := s.cache[p.leadID]; ok {
					delete(s.cache, p.leadID)
					s.evicted++
				}
			}
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
		if err == nil && s.cfg.Observe != nil {
			for _, p := range batch {
				s.cfg.Observe(p.res)
			}
		}
		for _, p := range batch {
			p.err = err
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
}

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
