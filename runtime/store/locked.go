package store

import (
	"context"
	"sync"
)

// rowLock gives a store of one process its CommitLocked: every commit
// that changes routing rows holds it, and CommitLocked holds it from its
// read of the rows to the end of its commit. A store that only one
// runtime writes never needs it (its copy of the rows is never stale),
// but several runtimes may share one in a process (tests do), and every
// store keeps the contract.
type rowLock struct{ mu sync.Mutex }

// commit runs a Commit, holding the lock if it changes routing rows.
func (l *rowLock) commit(routing RoutingChange, commit func() error) error {
	if routing.Empty() {
		return commit()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return commit()
}

// locked runs CommitLocked over a store's Routing and its unlocked commit.
func (l *rowLock) locked(ctx context.Context, s Store, names []string,
	plan func(rows map[string][]byte) ([]Prepared, RoutingChange, error),
	commit func(steps []Prepared, routing RoutingChange) error) error {
	for _, n := range names {
		if err := CheckRowName("routing row", n); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rows, err := s.Routing(ctx, names...)
	if err != nil {
		return err
	}
	steps, ch, err := plan(rows)
	if err != nil || (len(steps) == 0 && ch.Empty()) {
		return err
	}
	return commit(steps, ch)
}

// CommitLocked locks the named routing rows, plans and commits (Store).
func (m *Memory) CommitLocked(ctx context.Context, names []string, plan func(rows map[string][]byte) ([]Prepared, RoutingChange, error)) error {
	return m.rows.locked(ctx, m, names, plan, func(steps []Prepared, ch RoutingChange) error { return m.commit(ctx, steps, ch) })
}

// CommitLocked locks the named routing rows, plans and commits (Store).
func (s *Badger) CommitLocked(ctx context.Context, names []string, plan func(rows map[string][]byte) ([]Prepared, RoutingChange, error)) error {
	return s.rows.locked(ctx, s, names, plan, func(steps []Prepared, ch RoutingChange) error { return s.commit(ctx, steps, ch) })
}
