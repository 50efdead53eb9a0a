package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM under load: every request either
// completes with 200 (and is durable after the restart) or fails to reach
// the server; lead run exits 0 and says "stopped".
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyTestdata(t, dir, "deals.lead", "quick.lead")
	s := newServer(t, serverOpts{paths: []string{dir}})
	const workers = 16
	for w := range workers {
		s.capture("deals", fmt.Sprintf("g%d", w), map[string]any{"email": "g@x.example"})
	}
	// Timers firing during the shutdown too.
	for i := range 20 {
		s.capture("quick", fmt.Sprintf("q%d", i), map[string]any{"email": "q@x.example"})
	}
	var mu sync.Mutex
	acked := map[string][]string{} // lead → event ids
	var oks, errs atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lead := fmt.Sprintf("g%d", w)
			for i := 0; ; i++ {
				id := fmt.Sprintf("s%d-%d", w, i)
				r, err := s.request("POST", "/v1/leads/"+lead+"/events", map[string]any{"type": "ping", "id": id, "data": map[string]any{"n": 1}})
				if err != nil {
					errs.Add(1)
					return
				}
				if r.status != http.StatusOK {
					t.Errorf("during shutdown: %s, want 200 or no connection", r)
					return
				}
				oks.Add(1)
				mu.Lock()
				acked[lead] = append(acked[lead], id)
				mu.Unlock()
			}
		}()
	}
	eventually(t, 30*time.Second, "load", func() bool { return oks.Load() > 200 })
	time.Sleep(1 * time.Second) // the quick leads' SLAs breach now
	code := s.stop()
	wg.Wait()
	if code != 0 {
		t.Errorf("lead run exited with %d after SIGTERM", code)
	}
	logs := s.logs[len(s.logs)-1].String()
	if !strings.Contains(logs, "msg=stopped") {
		t.Errorf("lead run did not say stopped:\n%s", logs)
	}
	t.Logf("%d events acknowledged, %d workers cut off", oks.Load(), errs.Load())

	s.restart()
	for lead, ids := range acked {
		count := map[string]int{}
		for _, st := range s.history(lead) {
			if e, ok := st["event_id"].(string); ok {
				count[e]++
			}
		}
		for _, id := range ids {
			if count[id] != 1 {
				t.Errorf("lead %s: acknowledged event %s is in the history %d times", lead, id, count[id])
			}
		}
	}
}
