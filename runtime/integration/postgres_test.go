package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/pgtest"
)

// TestPostgresEndToEnd runs `lead run --store postgres://...` as users
// do: a capture, an event and its repeated delivery, the outbox, a timer
// that falls due while the server is killed and fires once after the
// restart, and the state kept across the restart (the second run finds
// the database through $LEAD_STORE).
func TestPostgresEndToEnd(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	store := pgtest.WithSchema(url, pgtest.Schema(t, url))
	dir := t.TempDir()
	copyTestdata(t, dir, "deals.lead", "timed.lead")
	// A node id of its own, kept across the restart: the restarted node
	// takes its partitions back at once.
	s := newServer(t, serverOpts{paths: []string{dir}, store: store, args: []string{"--node-id", "n1"}})

	s.capture("deals", "c1", map[string]any{"email": "c1@x.example"})
	if v := s.send("c1", "ping", "e-1", map[string]any{"n": 5}); v["fields"].(map[string]any)["engagement"] != float64(5) {
		t.Fatalf("after ping 5: %v", v)
	}
	if v := s.send("c1", "ping", "e-1", map[string]any{"n": 5}); v["fields"].(map[string]any)["engagement"] != float64(5) {
		t.Fatalf("a repeated delivery of e-1 applied again: %v", v)
	}

	created := checkTime(t, "created_at", s.capture("timed", "t1", map[string]any{"email": "t1@x.example"})["created_at"])
	s.kill()
	time.Sleep(time.Until(created.Add(timerDue + time.Second)))
	s.storeEnv = true
	s.restart()
	eventually(t, 10*time.Second, "the overdue timer", func() bool {
		return s.expect(http.StatusOK, "GET", "/v1/leads/t1", nil).json(t)["stage"] == "done"
	})
	checkTimerFiredOnce(t, s, "t1", created, true)

	v := s.expect(http.StatusOK, "GET", "/v1/leads/c1", nil).json(t)
	if v["fields"].(map[string]any)["engagement"] != float64(5) {
		t.Fatalf("after the restart, c1 is %v; want engagement 5", v)
	}
	if v := s.send("c1", "ping", "e-1", map[string]any{"n": 5}); v["fields"].(map[string]any)["engagement"] != float64(5) {
		t.Fatalf("after the restart, a repeated delivery of e-1 applied again: %v", v)
	}
	if h := s.history("c1"); len(h) != 2 {
		t.Fatalf("c1's history has %d steps, want 2: %v", len(h), h)
	}
	leads := map[string]int{}
	for _, n := range s.notifications() {
		leads[n["lead"].(string)]++
	}
	if leads["c1"] != 1 || leads["t1"] != 1 {
		t.Fatalf("notifications per lead %v; want one for c1 (its capture) and one for t1 (its timer)", leads)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("lead run exited with %d after SIGTERM", code)
	}
}
