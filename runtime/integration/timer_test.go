package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// timerDue is timed.lead's `after 3s`.
const timerDue = 3 * time.Second

// TestTimerAcrossDowntime: a timer that falls due while the server is down
// fires promptly after the restart, once, and its history step says it was
// late and by how much.
func TestTimerAcrossDowntime(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"sigterm", "kill"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, serverOpts{paths: []string{copyTestdata(t, t.TempDir(), "timed.lead")}})
			v := s.capture("timed", "t1", map[string]any{"email": "t1@x.example"})
			created := checkTime(t, "created_at", v["created_at"])
			if how == "sigterm" {
				if code := s.stop(); code != 0 {
					t.Errorf("lead run exited with %d after SIGTERM", code)
				}
			} else {
				s.kill()
			}
			time.Sleep(time.Until(created.Add(timerDue + time.Second)))
			start := time.Now()
			s.restart()
			eventually(t, 10*time.Second, "the overdue timer", func() bool {
				return s.expect(http.StatusOK, "GET", "/v1/leads/t1", nil).json(t)["stage"] == "done"
			})
			t.Logf("the overdue timer fired within %v of the restart", time.Since(start).Round(time.Millisecond))
			checkTimerFiredOnce(t, s, "t1", created, true)
		})
	}
}

// TestTimerKilledWhileDue kills the server just as many timers fall due,
// so that some may be firing: after the restart each fired exactly once.
func TestTimerKilledWhileDue(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{paths: []string{copyTestdata(t, t.TempDir(), "timed.lead")}})
	const n = 40
	var created time.Time
	for i := range n {
		v := s.capture("timed", fmt.Sprintf("k%d", i), map[string]any{"email": "k@x.example"})
		if i == 0 {
			created = checkTime(t, "created_at", v["created_at"])
		}
	}
	time.Sleep(time.Until(created.Add(timerDue + 5*time.Millisecond)))
	s.kill()
	s.restart()
	for i := range n {
		id := fmt.Sprintf("k%d", i)
		eventually(t, 10*time.Second, id+"'s timer", func() bool {
			return s.expect(http.StatusOK, "GET", "/v1/leads/"+id, nil).json(t)["stage"] == "done"
		})
		checkTimerFiredOnce(t, s, id, created, false)
	}
	// One notification per lead: the `enter` of done ran once.
	count := map[string]int{}
	for _, note := range s.notifications() {
		count[note["lead"].(string)]++
	}
	for i := range n {
		if id := fmt.Sprintf("k%d", i); count[id] != 1 {
			t.Errorf("lead %s has %d notifications, want 1", id, count[id])
		}
	}
}

// checkTimerFiredOnce checks that a lead's history has exactly one timer
// step to done; if late, that it records being late.
func checkTimerFiredOnce(t *testing.T, s *server, id string, created time.Time, late bool) {
	t.Helper()
	var steps []map[string]any
	for _, st := range s.history(id) {
		if st["cause"] == "timer" {
			steps = append(steps, st)
		}
	}
	if len(steps) != 1 {
		t.Fatalf("lead %s: %d timer steps, want 1: %v", id, len(steps), s.history(id))
	}
	st := steps[0]
	if st["from"] != "waiting" || st["to"] != "done" || st["timer"] == "" {
		t.Errorf("timer step = %v", st)
	}
	at := checkTime(t, "step.at", st["at"])
	if at.Before(created.Add(timerDue)) {
		t.Errorf("timer fired at %v, before its due time %v", at, created.Add(timerDue))
	}
	lateNs, _ := st["late"].(float64)
	if late {
		// It was due a second before the restart.
		if lateNs < float64(time.Second) {
			t.Errorf("late = %v, want at least 1s (the step: %v)", time.Duration(lateNs), st)
		}
		if got, want := time.Duration(lateNs), at.Sub(created.Add(timerDue)); got-want > 50*time.Millisecond || want-got > 50*time.Millisecond {
			t.Errorf("late = %v, but the step is %v after the due time", got, want)
		}
	}
}
