package integration

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sent is one request of the load: a capture (event "") or an event.
type sent struct {
	lead, event string
	acked       bool   // answered 200/201
	body        string // the answer, if acked
}

// load is concurrent traffic from workers, each with its own leads,
// every event with a unique id, recording what was acknowledged.
type load struct {
	s       *server
	workers int
	round   int

	mu   sync.Mutex
	sent []*sent
	acks atomic.Int64
}

// run sends until stop is closed or the server stops answering.
func (l *load) run(stop <-chan struct{}) {
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each round each worker captures a lead of its own and sends
			// to it and to its lead of the first round.
			leads := []string{fmt.Sprintf("w%d-r0", w)}
			if l.round > 0 {
				leads = append(leads, fmt.Sprintf("w%d-r%d", w, l.round))
			}
			for _, id := range leads[len(leads)-1:] {
				rec := &sent{lead: id}
				l.add(rec)
				r, err := l.s.request("POST", "/v1/workflows/deals/leads", map[string]any{"id": id, "fields": map[string]any{"email": id + "@x.example"}})
				if err != nil {
					return
				}
				if r.status != http.StatusCreated && r.status != http.StatusOK {
					l.s.t.Errorf("capture %s: %s", id, r)
					return
				}
				rec.acked, rec.body = true, string(r.body)
				l.acks.Add(1)
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := &sent{lead: leads[i%len(leads)], event: fmt.Sprintf("r%d-w%d-%d", l.round, w, i)}
				l.add(rec)
				r, err := l.s.request("POST", "/v1/leads/"+rec.lead+"/events",
					map[string]any{"type": "ping", "id": rec.event, "data": map[string]any{"n": 1}})
				if err != nil {
					return // killed
				}
				if r.status != http.StatusOK {
					l.s.t.Errorf("event %s: %s", rec.event, r)
					return
				}
				rec.acked, rec.body = true, string(r.body)
				l.acks.Add(1)
			}
		}()
	}
	wg.Wait()
}

func (l *load) add(s *sent) {
	l.mu.Lock()
	l.sent = append(l.sent, s)
	l.mu.Unlock()
}

// TestCrashRecovery kills the server with SIGKILL at three random moments
// under concurrent load. After each restart: every acknowledged capture
// and event is there, every event id is in its lead's history at most once
// (acknowledged ones exactly once), the lead's state agrees with its
// history, and re-sending every event id (acknowledged or not) applies
// each exactly once and answers the acknowledged ones with their original
// answer.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	var all []*sent
	for round := range 3 {
		l := &load{s: s, workers: 32, round: round}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { l.run(stop); close(done) }()
		// Kill mid-load: after some acknowledgements and a random delay.
		eventually(t, 60*time.Second, "acknowledged events", func() bool { return l.acks.Load() >= 100 })
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		s.kill()
		close(stop)
		<-done
		acked := 0
		for _, r := range l.sent {
			if r.acked {
				acked++
			}
		}
		t.Logf("round %d: killed after %d acknowledged of %d sent", round, acked, len(l.sent))
		all = append(all, l.sent...)
		start := time.Now()
		s.restart() // Badger replays its log
		t.Logf("round %d: serving %s after the restart", round, time.Since(start).Round(time.Millisecond))
		verifyOnce(t, s, all, false)
		resend(t, s, all)
		verifyOnce(t, s, all, true)
	}
}

// verifyOnce checks the leads against what was sent: acknowledged captures
// exist; acknowledged events are in the history once, others at most once
// (all exactly once if everything was resent); the engagement field (each
// ping adds 1) equals the number of pings in the history.
func verifyOnce(t *testing.T, s *server, all []*sent, resent bool) {
	t.Helper()
	byLead := map[string][]*sent{}
	var leads []string
	for _, r := range all {
		if _, ok := byLead[r.lead]; !ok {
			leads = append(leads, r.lead)
		}
		byLead[r.lead] = append(byLead[r.lead], r)
	}
	for _, id := range leads {
		recs := byLead[id]
		captured := false
		for _, r := range recs {
			captured = captured || (r.event == "" && r.acked)
		}
		resp := s.must("GET", "/v1/leads/"+id, nil)
		if resp.status == http.StatusNotFound {
			if captured || resent {
				t.Errorf("lead %s is gone after the restart (capture acknowledged: %v, resent: %v)", id, captured, resent)
			}
			continue
		}
		if resp.status != http.StatusOK {
			t.Fatalf("GET lead %s: %s", id, resp)
		}
		count := map[string]int{}
		pings := 0
		for _, st := range s.history(id) {
			if st["event"] == "ping" {
				pings++
			}
			if e, ok := st["event_id"].(string); ok {
				count[e]++
			}
		}
		for e, n := range count {
			if n > 1 {
				t.Errorf("lead %s: event %s applied %d times", id, e, n)
			}
		}
		for _, r := range recs {
			if r.event == "" {
				continue
			}
			n := count[r.event]
			if (r.acked || resent) && n != 1 {
				t.Errorf("lead %s: event %s (acknowledged %v, resent %v) is in the history %d times", id, r.event, r.acked, resent, n)
			}
		}
		v := resp.json(t)
		if got := v["fields"].(map[string]any)["engagement"]; got != float64(pings) {
			t.Errorf("lead %s: engagement %v but %d pings in the history", id, got, pings)
		}
	}
}

// resend sends every capture and then every event again, concurrently;
// acknowledged ones must get their original answer.
func resend(t *testing.T, s *server, all []*sent) {
	t.Helper()
	for _, captures := range []bool{true, false} {
		var wg sync.WaitGroup
		work := make(chan *sent)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range work {
					resendOne(t, s, r)
				}
			}()
		}
		for _, r := range all {
			if (r.event == "") == captures {
				work <- r
			}
		}
		close(work)
		wg.Wait()
	}
}

func resendOne(t *testing.T, s *server, r *sent) {
	if r.event == "" {
		resp, err := s.request("POST", "/v1/workflows/deals/leads", map[string]any{"id": r.lead, "fields": map[string]any{"email": r.lead + "@x.example"}})
		switch {
		case err != nil:
			t.Errorf("recapture %s: %v", r.lead, err)
		case r.acked && resp.status != http.StatusOK:
			t.Errorf("recapture of acknowledged %s: %s, want 200", r.lead, resp)
		case resp.status != http.StatusCreated && resp.status != http.StatusOK:
			t.Errorf("recapture %s: %s", r.lead, resp)
		}
		return
	}
	resp, err := s.request("POST", "/v1/leads/"+r.lead+"/events", map[string]any{"type": "ping", "id": r.event, "data": map[string]any{"n": 1}})
	switch {
	case err != nil:
		t.Errorf("resend %s: %v", r.event, err)
	case resp.status != http.StatusOK:
		t.Errorf("resend %s: %s", r.event, resp)
	case r.acked && string(resp.body) != r.body:
		t.Errorf("resend of acknowledged %s answered\n%s\nwant the original\n%s", r.event, resp.body, r.body)
	}
}
