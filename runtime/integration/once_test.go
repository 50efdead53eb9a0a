package integration

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestExactlyOnce: duplicates of an event id sent at the same time (while
// the first is still committing) and after it committed are applied once
// and all answer the same body; so are concurrent captures of one lead id.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	const leads, dups, rounds = 4, 8, 5
	for l := range leads {
		s.capture("deals", fmt.Sprintf("x%d", l), map[string]any{"email": "x@x.example"})
	}
	var wg sync.WaitGroup
	bodies := make([][][]string, leads) // lead → round → answers
	for l := range leads {
		bodies[l] = make([][]string, rounds)
		for r := range rounds {
			bodies[l][r] = make([]string, dups)
		}
	}
	for l := range leads {
		for r := range rounds {
			for d := range dups {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := s.request("POST", fmt.Sprintf("/v1/leads/x%d/events", l),
						map[string]any{"type": "ping", "id": fmt.Sprintf("ev-%d", r), "data": map[string]any{"n": 1}})
					if err != nil || resp.status != http.StatusOK {
						t.Errorf("send: %v %v", err, resp)
						return
					}
					bodies[l][r][d] = string(resp.body)
				}()
			}
		}
	}
	wg.Wait()
	for l := range leads {
		id := fmt.Sprintf("x%d", l)
		for r := range rounds {
			for d := 1; d < dups; d++ {
				if bodies[l][r][d] != bodies[l][r][0] {
					t.Errorf("lead %s event ev-%d: answers differ:\n%s\n%s", id, r, bodies[l][r][0], bodies[l][r][d])
				}
			}
			// After the commit: the same answer again.
			again := s.expect(http.StatusOK, "POST", "/v1/leads/"+id+"/events",
				map[string]any{"type": "ping", "id": fmt.Sprintf("ev-%d", r), "data": map[string]any{"n": 1}})
			if string(again.body) != bodies[l][r][0] {
				t.Errorf("lead %s event ev-%d after commit: %s, want %s", id, r, again.body, bodies[l][r][0])
			}
		}
		v := s.expect(http.StatusOK, "GET", "/v1/leads/"+id, nil).json(t)
		if got := v["fields"].(map[string]any)["engagement"]; got != float64(rounds) {
			t.Errorf("lead %s engagement = %v, want %d (each event id once)", id, got, rounds)
		}
		count := map[string]int{}
		for _, st := range s.history(id) {
			if e, ok := st["event_id"].(string); ok {
				count[e]++
			}
		}
		for r := range rounds {
			if n := count[fmt.Sprintf("ev-%d", r)]; n != 1 {
				t.Errorf("lead %s: ev-%d is in the history %d times", id, r, n)
			}
		}
	}

	// Concurrent captures of one id: one 201, the others 200 with the
	// same lead, one lead in the history.
	var mu sync.Mutex
	statuses := map[int]int{}
	var leadBodies []string
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.request("POST", "/v1/workflows/deals/leads", map[string]any{"id": "same", "fields": map[string]any{"email": "s@x.example"}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[resp.status]++
			leadBodies = append(leadBodies, string(resp.body))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusOK] != 15 {
		t.Errorf("concurrent captures of one id: statuses %v, want one 201 and fifteen 200", statuses)
	}
	for _, b := range leadBodies[1:] {
		if b != leadBodies[0] {
			t.Errorf("concurrent captures answered different leads:\n%s\n%s", leadBodies[0], b)
		}
	}
	if n := len(s.history("same")); n != 1 {
		t.Errorf("history of the captured lead has %d steps", n)
	}
}
