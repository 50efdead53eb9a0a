package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hook is a webhook receiver that fails while failing is set or for the
// first failFirst POSTs.
type hook struct {
	mu        sync.Mutex
	ids       []string // Lead-Notification-Id of each accepted POST, in order
	attempts  []string // Lead-Notification-Id of every POST, in order
	failFirst int
	failing   atomic.Bool
	posts     atomic.Int64
	bad       []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.posts.Add(1)
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts = append(h.attempts, r.Header.Get("Lead-Notification-Id"))
	if int(n) <= h.failFirst || h.failing.Load() {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var note map[string]any
	if err := json.Unmarshal(body, &note); err != nil {
		h.bad = append(h.bad, fmt.Sprintf("body is not JSON: %s", body))
	}
	id := r.Header.Get("Lead-Notification-Id")
	if id == "" || note["id"] != id {
		h.bad = append(h.bad, fmt.Sprintf("header id %q, body id %v", id, note["id"]))
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		h.bad = append(h.bad, fmt.Sprintf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type")))
	}
	h.ids = append(h.ids, id)
	w.WriteHeader(http.StatusNoContent)
}

// delivered returns the distinct ids in order of first delivery.
func (h *hook) delivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, id := range h.ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// TestWebhook: every notification reaches the webhook at least once, in
// outbox order, with a stable id, through failures and a restart.
func TestWebhook(t *testing.T) {
	t.Parallel()
	h := &hook{failFirst: 3}
	ts := httptest.NewServer(h)
	defer ts.Close()
	s := newServer(t, serverOpts{args: []string{"--webhook", ts.URL}})

	for i := range 5 {
		id := fmt.Sprintf("h%d", i)
		s.capture("deals", id, map[string]any{"email": id + "@x.example"})
		if i%2 == 0 {
			s.send(id, "accepted", "", nil) // another notification
		}
	}
	waitDelivered(t, s, h)
	// The failed POSTs were retries of the first notification, with its id.
	h.mu.Lock()
	first := h.attempts[:h.failFirst+1]
	for _, id := range first {
		if id != h.ids[0] {
			t.Errorf("the first %d POSTs carry ids %v, want %s each time", h.failFirst+1, first, h.ids[0])
			break
		}
	}
	h.mu.Unlock()
	body := string(s.expect(http.StatusOK, "GET", "/metrics", nil).body)
	for _, want := range []string{`lead_webhook_deliveries_total{result="delivered",stream="notifications"}`, `lead_webhook_deliveries_total{result="retry",stream="notifications"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	// The webhook goes down; notifications pile up; the server restarts
	// (once gracefully, once killed) and delivers them when it is back.
	for round, stop := range []func(){func() { s.stop() }, s.kill} {
		h.failing.Store(true)
		for i := range 4 {
			id := fmt.Sprintf("down%d-%d", round, i)
			s.capture("deals", id, map[string]any{"email": id + "@x.example"})
		}
		stop()
		h.failing.Store(false)
		s.restart()
		waitDelivered(t, s, h)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.bad {
		t.Error(b)
	}
}

// waitDelivered waits until the webhook has seen every notification of
// the outbox, and checks the order.
func waitDelivered(t *testing.T, s *server, h *hook) {
	t.Helper()
	var want []string
	for _, n := range s.notifications() {
		want = append(want, n["id"].(string))
	}
	eventually(t, 30*time.Second, "every notification at the webhook", func() bool {
		return len(h.delivered()) >= len(want)
	})
	if got := h.delivered(); !slices.Equal(got[:len(want)], want) {
		t.Errorf("delivered in order\n%v\nwant the outbox order\n%v", got, want)
	}
}

// stepHook receives the step stream: NDJSON batches, failing the first
// failFirst POSTs.
type stepHook struct {
	mu        sync.Mutex
	seqs      []float64 // each accepted line's seq, in order of delivery
	lines     map[float64]string
	failFirst int
	posts     int
	bad       []string
}

func (h *stepHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.posts++; h.posts <= h.failFirst {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		h.bad = append(h.bad, "Content-Type "+ct)
	}
	var first, last float64
	for i, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		var l struct {
			Seq  float64        `json:"seq"`
			Lead string         `json:"lead"`
			Step map[string]any `json:"step"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Lead == "" || l.Step["cause"] == nil {
			h.bad = append(h.bad, fmt.Sprintf("line %q: %v", line, err))
			continue
		}
		if i == 0 {
			first = l.Seq
		}
		last = l.Seq
		h.seqs = append(h.seqs, l.Seq)
		h.lines[l.Seq] = line
	}
	if got, want := r.Header.Get("Lead-Steps"), fmt.Sprintf("%v-%v", first, last); got != want {
		h.bad = append(h.bad, fmt.Sprintf("Lead-Steps %q for lines %s", got, want))
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestStepsWebhook: every committed step reaches --steps-webhook at least
// once, in commit order, as the lines GET /v1/steps answers, through
// failures and a kill.
func TestStepsWebhook(t *testing.T) {
	t.Parallel()
	h := &stepHook{failFirst: 2, lines: map[float64]string{}}
	ts := httptest.NewServer(h)
	defer ts.Close()
	s := newServer(t, serverOpts{args: []string{"--steps-webhook", ts.URL}})
	for round := range 2 {
		for i := range 6 {
			id := fmt.Sprintf("s%d-%d", round, i)
			s.capture("deals", id, map[string]any{"email": id + "@x.example"})
			s.send(id, "accepted", "", nil)
		}
		if round == 0 {
			s.kill()
			s.restart()
		}
	}
	stream := strings.Split(strings.TrimSuffix(string(s.expect(http.StatusOK, "GET", "/v1/steps?limit=10000", nil).body), "\n"), "\n")
	eventually(t, 30*time.Second, "every step at the webhook", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.lines) >= len(stream)
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, line := range stream {
		if h.lines[float64(i+1)] != line {
			t.Errorf("step %d: webhook got %q, GET /v1/steps %q", i+1, h.lines[float64(i+1)], line)
		}
	}
	// In order: a step is delivered again only from where a delivery
	// failed, never out of order.
	for i := 1; i < len(h.seqs); i++ {
		if h.seqs[i] != h.seqs[i-1]+1 && h.seqs[i] > h.seqs[i-1] {
			t.Errorf("delivery skipped from %v to %v", h.seqs[i-1], h.seqs[i])
		}
	}
	for _, b := range h.bad {
		t.Error(b)
	}
}
