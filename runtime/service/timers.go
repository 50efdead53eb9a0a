package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// timerBatch is how many due timers the scheduler takes at a time; fired
// is how many timer steps run at once.
const (
	timerBatch    = 2048
	timerParallel = 1024
	timerIdle     = time.Second
	timerRescan   = 5 * time.Millisecond // while due timers are in flight
)

// timerLoop fires due timers as engine steps. The store's due-time index is
// the source of truth, so timers survive restarts: after downtime, overdue
// timers fire promptly, and each step records how late it was. A timer
// fires at most once because its step removes it in the same commit that
// applies it; a crash before that commit leaves it due, to fire again.
func (s *Service) timerLoop(ctx context.Context) {
	inflight := map[string]bool{}
	retry := map[string]timerRetry{} // leads whose last timer step failed
	// Timer steps are numbered as they finish; finished holds the number
	// of each lead's last one until no scan can predate it. A scan that
	// began before a lead's steps finished may still hold the timers they
	// removed: firing them again would only find them stale, but it is
	// wasted work (hundreds of times a second under load) and would count
	// twice in the lag metric.
	finished := map[string]uint64{}
	var finishedN uint64
	var mu sync.Mutex
	sem := make(chan struct{}, timerParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		s.sleepUntil.Store(0) // awake: every commit with timers wakes it again
		mu.Lock()
		scanAfter := finishedN // the scan sees every step finished so far
		for id, n := range finished {
			if n <= scanAfter {
				delete(finished, id)
			}
		}
		mu.Unlock()
		now := s.clock()
		due, err := s.st.DueTimers(ctx, now, timerBatch)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scan due timers", "err", err)
		}
		// One goroutine per lead fires that lead's due timers in order:
		// by due time, then as lead test orders timers of one instant
		// (engine.TimerOrder: warn before breach before after ...).
		byLead := map[string][]store.DueTimer{}
		var leads []string
		for _, t := range due {
			if _, ok := byLead[t.LeadID]; !ok {
				leads = append(leads, t.LeadID)
			}
			byLead[t.LeadID] = append(byLead[t.LeadID], t)
		}
		started, waiting := 0, false
		var retryAt time.Time
		for _, id := range leads {
			mu.Lock()
			busy := inflight[id] || finished[id] > scanAfter
			r, failed := retry[id]
			later := failed && r.at.After(now)
			if !busy && !later {
				inflight[id] = true
			}
			mu.Unlock()
			if busy {
				waiting = true
				continue
			}
			if later {
				// Its step failed: try again after a backoff, not in a
				// tight loop.
				if retryAt.IsZero() || r.at.Before(retryAt) {
					retryAt = r.at
				}
				continue
			}
			ts := byLead[id]
			sort.SliceStable(ts, func(i, j int) bool {
				if !ts[i].Due.Equal(ts[j].Due) {
					return ts[i].Due.Before(ts[j].Due)
				}
				if a, b := engine.TimerOrder(ts[i].Name), engine.TimerOrder(ts[j].Name); a != b {
					return a < b
				}
				return ts[i].Name < ts[j].Name
			})
			started++
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				var failure error
				for _, t := range ts {
					s.met.timerLag.Observe(max(0, s.clock().Sub(t.Due)).Seconds())
					_, err := s.do(ctx, t.LeadID, "", engine.Input{Kind: engine.Timer, Timer: t.Name, Due: t.Due}, nil)
					if err != nil {
						if ctx.Err() == nil && !errors.Is(err, errClosing) {
							failure = fmt.Errorf("timer %s: %w", t.Name, err)
						}
						break
					}
				}
				mu.Lock()
				delete(inflight, id)
				finishedN++
				finished[id] = finishedN
				switch {
				case failure == nil:
					delete(retry, id)
				case errors.Is(failure, store.ErrNoSpace):
					// Not the step's fault: look again soon, without a
					// growing backoff, so that timers resume as soon as
					// space is freed (acquire logs the shortage once).
					retry[id] = timerRetry{at: s.clock().Add(time.Second)}
				default:
					r := retry[id]
					r.backoff = min(max(2*r.backoff, time.Second), timerMaxBackoff)
					r.at = s.clock().Add(r.backoff)
					retry[id] = r
					s.log.Error("timer step failed; retrying later", "lead", id, "err", failure, "in", r.backoff)
				}
				mu.Unlock()
				signal(s.wake)
			}()
		}
		if started > 0 && len(due) == timerBatch {
			continue // more are due right now
		}
		wait := s.timerWait(ctx, now, waiting || started > 0, retryAt)
		// A commit that sets timers wakes the loop, unless timers are in
		// flight: their completions would wake it thousands of times a
		// second, and the rescan timer already covers them.
		wake := s.wake
		if waiting || started > 0 {
			wake = nil
		}
		s.sleepUntil.Store(s.clock().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// timerRetry is when to fire a lead's due timers again after its step
// failed.
type timerRetry struct {
	at      time.Time
	backoff time.Duration
}

// timerMaxBackoff bounds the wait before retrying a failed timer step.
const timerMaxBackoff = 5 * time.Minute

// timerWait is how long the scheduler sleeps after a scan at now. While
// timers it started are in flight it rescans soon, but not on every
// completion: a scan reads the front of the index, and at thousands of
// timers a second rescanning per completion would starve the steps
// themselves. Otherwise it sleeps until the next timer falls due, the
// earliest retry of a failed one (retryAt, zero if none), or timerIdle.
func (s *Service) timerWait(ctx context.Context, now time.Time, inFlight bool, retryAt time.Time) time.Duration {
	if inFlight {
		return timerRescan
	}
	wait := timerIdle
	cur := s.clock() // a timer due since the scan makes the wait minimal
	if next, ok := s.nextDue(ctx, now); ok {
		wait = min(wait, max(next.Sub(cur), time.Millisecond))
	}
	if !retryAt.IsZero() {
		wait = min(wait, max(retryAt.Sub(cur), time.Millisecond))
	}
	return wait
}

// nextDue returns the earliest due time after now within timerIdle. Due
// timers waiting to be retried sit at the front of the index, so it looks
// past them.
func (s *Service) nextDue(ctx context.Context, now time.Time) (time.Time, bool) {
	next, ok, err := s.st.NextDue(ctx)
	if err != nil || !ok {
		return time.Time{}, false
	}
	if next.After(now) {
		return next, true
	}
	soon, err := s.st.DueTimers(ctx, now.Add(timerIdle), timerBatch)
	if err != nil {
		return time.Time{}, false
	}
	for _, t := range soon {
		if t.Due.After(now) {
			return t.Due, true
		}
	}
	return time.Time{}, false
}
