package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// The timer scheduler, one for `lead run` and `lead test`.
//
// The store's due-time index is the source of truth, so timers survive
// restarts: after downtime, overdue timers fire promptly, and each step
// records how late it was. Due timers are claimed from the store (which
// holds them for timerLease, so no other claim fires them meanwhile), and
// their steps are planned one after another in one order, the same for
// both: by due time, then lead id, then timer (a lead's timers of one
// instant in the engine's order: warn, breach, after, ...:
// engine.CompareTimers). Since the
// engine steps in the order they are planned, two leads whose timers fall
// due at the same instant are routed the same way in a test and in
// production. The steps then commit together, in groups, while the
// scheduler goes on.
//
// A timer fires at most once: its step removes it in the same commit
// that applies it. A crash before that commit leaves it due, to fire
// again. A step that fails is held back by the store for a growing
// backoff (1 s, doubling to 5 min); one refused for want of disk space
// is tried again every second, without a growing backoff.

const (
	timerBatch      = 2048            // timers claimed at a time
	timerParallel   = 1024            // timer steps in flight at most
	timerIdle       = time.Second     // longest sleep between looks
	timerLease      = time.Minute     // how long a claim holds a timer
	timerMaxBackoff = 5 * time.Minute // longest wait before a failed step is retried
	timerNoSpace    = time.Second     // wait before retrying a step refused for space
)

// timerOrder sorts due timers into the one order they fire in
// (engine.CompareTimers).
func timerOrder(ts []store.DueTimer) {
	slices.SortStableFunc(ts, func(a, b store.DueTimer) int {
		return engine.CompareTimers(engine.DueTimer{Lead: a.LeadID, Name: a.Name, Due: a.Due}, engine.DueTimer{Lead: b.LeadID, Name: b.Name, Due: b.Due})
	})
}

// timers is the scheduler's state: the steps in flight and the backoff
// of leads whose timer steps failed.
type timers struct {
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	backoff map[string]time.Duration // by lead
	failed  error                    // the last step that failed, for RunTimers
}

func newTimers() *timers {
	return &timers{sem: make(chan struct{}, timerParallel), backoff: map[string]time.Duration{}}
}

// fireDue claims the timers due at or before now (up to limit), plans
// their steps in the one order, and finishes them in the background; it
// returns how many it claimed.
func (s *Service) fireDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := s.st.ClaimDue(ctx, now, limit, timerLease)
	if err != nil {
		return 0, err
	}
	timerOrder(due)
	for _, t := range due {
		select {
		case s.tm.sem <- struct{}{}:
		case <-ctx.Done():
			return len(due), ctx.Err()
		}
		s.met.timerLag.Observe(max(0, s.clock().Sub(t.Due)).Seconds())
		pl := s.plan(ctx, t.LeadID, "", engine.Input{Kind: engine.Timer, Timer: t.Name, Due: t.Due}, nil, false)
		s.tm.wg.Add(1)
		go func() {
			defer s.tm.wg.Done()
			defer func() { <-s.tm.sem }()
			_, err := s.finish(ctx, pl)
			s.timerDone(ctx, t, err)
		}()
	}
	return len(due), nil
}

// timerDone holds a failed timer back for a backoff.
func (s *Service) timerDone(ctx context.Context, t store.DueTimer, err error) {
	s.tm.mu.Lock()
	defer s.tm.mu.Unlock()
	var wait time.Duration
	switch {
	case err == nil:
		delete(s.tm.backoff, t.LeadID)
		return
	case ctx.Err() != nil, errors.Is(err, errClosing):
		return // shutting down: the timer is due again after a restart
	case errors.Is(err, store.ErrNoSpace):
		wait = timerNoSpace // acquire logs the shortage once
		s.tm.failed = err
	default:
		s.tm.failed = fmt.Errorf("timer %s of lead %s: %w", t.Name, t.LeadID, err)
		wait = min(max(2*s.tm.backoff[t.LeadID], time.Second), timerMaxBackoff)
		s.tm.backoff[t.LeadID] = wait
		s.log.Error("timer step failed; retrying later", "lead", t.LeadID, "timer", t.Name, "err", err, "in", wait)
	}
	if err := s.st.Hold(ctx, []store.DueTimer{t}, s.clock().Add(wait)); err != nil {
		s.log.Error("hold a failed timer", "lead", t.LeadID, "err", err)
	}
	signal(s.wake)
}

// timerLoop fires due timers on the service's clock as they fall due
// (`lead run`).
func (s *Service) timerLoop(ctx context.Context) {
	defer s.tm.wg.Wait()
	for {
		s.sleepUntil.Store(0) // awake: every commit with timers wakes it again
		now := s.clock()
		n, err := s.fireDue(ctx, now, timerBatch)
		if err != nil && ctx.Err() == nil {
			s.log.Error("claim due timers", "err", err)
		}
		if n == timerBatch {
			continue // more are due right now
		}
		wait := timerIdle
		if next, ok, err := s.st.NextDue(ctx, now); err == nil && ok {
			wait = min(wait, max(next.Sub(s.clock()), time.Millisecond))
		}
		s.sleepUntil.Store(s.clock().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunTimers fires, in the one order, every timer due at or before until,
// with the service's clock at each timer's due time, and returns once
// their steps are durable: time as `lead test` moves it. set moves the
// clock; the service must have been started with ManualTimers.
func (s *Service) RunTimers(ctx context.Context, until time.Time, set func(time.Time)) error {
	if !s.cfg.ManualTimers {
		return errors.New("RunTimers needs a service started with ManualTimers")
	}
	for fired := 0; ; {
		next, ok, err := s.st.NextDue(ctx, s.clock())
		if err != nil {
			return err
		}
		if !ok || next.After(until) {
			return nil
		}
		set(next)
		n, err := s.fireDue(ctx, next, 0)
		s.tm.wg.Wait()
		if err != nil {
			return err
		}
		if fired += n; fired > 1_000_000 {
			return fmt.Errorf("more than a million timers fired before %s: is a timer rescheduling itself at once?", until.Format(time.RFC3339))
		}
		s.tm.mu.Lock()
		failed := s.tm.failed
		s.tm.failed = nil
		s.tm.mu.Unlock()
		if failed != nil {
			return failed
		}
	}
}
