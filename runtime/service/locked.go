package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/leadlang/lead/runtime/store"
)

// Locked commits: the way out of a race for a routing row.
//
// Where several runtimes share a store (nodes on one database), a
// routing decision is committed only if the rows it read are unchanged (a
// compare and set), and a node whose decision lost that race plans it
// again. While another node keeps committing decisions for the same
// team, a node's retries can keep losing: its copy of the team's row is
// out of date again by the time its commit arrives. So a refused
// decision is planned again inside a commit that first locks the rows it
// read (store.Store.CommitLocked): nothing can change them between the
// decision and its commit. The inputs refused while one such commit is
// under way are planned together in the next, one after the other, so
// that a node under contention still commits its decisions in groups.

// lockedReq is a refused input waiting to be planned in a locked commit.
type lockedReq struct {
	old  *planned // the refused plan
	rows []string // the routing rows its decision read or changed
	done chan struct{}
	pl   *planned // the new plan (nil if none was made: err)
	err  error
}

// lockedQueue holds the refused inputs of the next locked commit.
type lockedQueue struct {
	mu     sync.Mutex
	reqs   []*lockedReq
	closed bool
	wake   chan struct{}
}

// finishLocked plans a refused input again in a locked commit and
// answers it. It returns the new plan with its answer, or a nil plan if
// none was made.
func (s *Service) finishLocked(ctx context.Context, old *planned, rows []string) (*planned, outcome, error) {
	r := &lockedReq{old: old, rows: rows, done: make(chan struct{})}
	q := &s.locked
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, outcome{}, errClosing
	}
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	signal(q.wake)
	// Not abandoned on ctx: the plan holds the service busy until it is
	// answered, and its commit is under way.
	<-r.done
	pl := r.pl
	switch {
	case pl == nil:
		switch {
		case refused(r.err):
			return old, outcome{}, &refusal{err: r.err, rows: rows}
		case errors.Is(r.err, ErrUnavailable):
			return nil, outcome{}, r.err
		}
		return nil, outcome{}, fmt.Errorf("%w: %v; nothing was applied", ErrUnavailable, r.err)
	case pl.p == nil:
		out, err := s.finishOnce(ctx, pl)
		return pl, out, err
	}
	if pl.busy {
		defer s.busy.Done()
	}
	out, err := s.answer(ctx, pl)
	return pl, out, err
}

// lockedLoop makes the locked commits, until ctx ends.
func (s *Service) lockedLoop(ctx context.Context) {
	q := &s.locked
	for {
		select {
		case <-q.wake:
		case <-ctx.Done():
			q.mu.Lock()
			q.closed = true
			reqs := q.reqs
			q.reqs = nil
			q.mu.Unlock()
			for _, r := range reqs {
				r.err = errClosing
				close(r.done)
			}
			return
		}
		q.mu.Lock()
		reqs := q.reqs
		q.reqs = nil
		q.mu.Unlock()
		if len(reqs) > 0 {
			s.commitLocked(reqs)
		}
	}
}

// commitLocked plans reqs one after the other inside one store
// transaction that holds the routing rows they read, and commits them.
func (s *Service) commitLocked(reqs []*lockedReq) {
	var rows []string
	for _, r := range reqs {
		rows = append(rows, r.rows...)
	}
	slices.Sort(rows)
	rows = slices.Compact(rows)
	var steps, left []*pending // committed here; planned but left for another try
	planned := false
	err := s.st.CommitLocked(context.Background(), rows, func(got map[string][]byte) ([]store.Prepared, store.RoutingChange, error) {
		planned = true
		s.mu.Lock()
		for _, name := range rows {
			if err := s.rot.SetRow(name, got[name]); err != nil {
				s.log.Error("read routing state again", "err", err)
			}
		}
		s.rowsRead++
		s.mu.Unlock()
		var ps []*pending
		for _, r := range reqs {
			old := r.old
			r.pl = s.planStep(context.Background(), old.id, old.workflow, old.in, nil, false, false)
			r.pl.start = old.start
			if r.pl.p != nil {
				s.encodeAll(r.pl)
				ps = append(ps, r.pl.steps()...)
			}
		}
		if len(ps) == 0 {
			return nil, store.RoutingChange{}, nil
		}
		for _, p := range ps {
			if p.encErr != nil {
				steps = ps
				return nil, store.RoutingChange{}, fmt.Errorf("lead %s: %w", p.leadID, p.encErr)
			}
		}
		// Planned one after the other on the rows as read, the steps
		// chain: one part. Should they not (the committer read rows
		// again meanwhile), the first part commits and the rest is
		// refused, to be planned again.
		parts := routeParts(ps)
		steps = parts[0].steps
		for _, pt := range parts[1:] {
			left = append(left, pt.steps...)
		}
		return writes(steps), parts[0].routing, nil
	})
	if !planned {
		for _, r := range reqs {
			r.err = err
			close(r.done)
		}
		return
	}
	for _, p := range steps {
		p.err = err
	}
	for _, p := range left {
		p.err = fmt.Errorf("%w: planned on routing rows read again meanwhile; nothing was written", store.ErrConflict)
	}
	if refused(err) {
		s.met.routingConflicts.Inc()
	}
	s.settle(append(steps, left...))
	for _, r := range reqs {
		close(r.done)
	}
}
