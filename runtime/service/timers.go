package service

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// timerBatch is how many due timers the scheduler takes at a time; fired
// is how many timer steps run at once.
const (
	timerBatch    = 512
	timerParallel = 64
	timerIdle     = time.Second
)

// timerLoop fires due timers as engine steps. The store's due-time index is
// the source of truth, so timers survive restarts: after downtime, overdue
// timers fire promptly, and each step records how late it was. A timer
// fires at most once because its step removes it in the same commit that
// applies it; a crash before that commit leaves it due, to fire again.
func (s *Service) timerLoop(ctx context.Context) {
	inflight := map[string]bool{}
	var mu sync.Mutex
	sem := make(chan struct{}, timerParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
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
		started := 0
		for _, id := range leads {
			mu.Lock()
			busy := inflight[id]
			inflight[id] = true
			mu.Unlock()
			if busy {
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
				for _, t := range ts {
					s.met.timerLag.Observe(max(0, s.clock().Sub(t.Due)).Seconds())
					_, err := s.do(ctx, t.LeadID, "", engine.Input{Kind: engine.Timer, Timer: t.Name, Due: t.Due})
					if err != nil && !errors.Is(err, context.Canceled) {
						s.log.Error("timer step", "lead", t.LeadID, "timer", t.Name, "err", err)
					}
				}
				mu.Lock()
				delete(inflight, id)
				mu.Unlock()
				signal(s.wake)
			}()
		}
		if started > 0 && len(due) == timerBatch {
			continue // more are due right now
		}
		wait := timerIdle
		if next, ok, err := s.st.NextDue(ctx); err == nil && ok {
			if d := next.Sub(s.clock()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		if started == 0 && len(due) > 0 {
			wait = min(wait, 10*time.Millisecond) // due timers still in flight
		}
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
