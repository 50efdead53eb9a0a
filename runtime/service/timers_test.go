package service

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/store"
)

// scanCounter counts the scans of the timer index.
type scanCounter struct {
	store.Store
	scans atomic.Int64
}

func (c *scanCounter) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.DueTimer, error) {
	c.scans.Add(1)
	return c.Store.ClaimDue(ctx, now, limit, lease)
}

// TestFarTimersLetSchedulerSleep: steps that set timers due long after the
// scheduler's next wake-up do not wake it (each wake-up scans the timer
// index; waking on every commit cost 7% of the CPU under load).
func TestFarTimersLetSchedulerSleep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, `workflow w
start a
lead {
  email string
}
event ping
role ops
stage a {
  owner { accountable ops  responsible role ops }
  on ping -> b
  after 30d -> done
}
stage b {
  owner { accountable ops  responsible role ops }
  on ping -> a
  after 30d -> done
}
stage done terminal
`)
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counter := &scanCounter{Store: st}
	svc := New(Config{Paths: []string{path}, Store: counter})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	ctx := context.Background()
	if _, _, err := svc.Capture(ctx, "w", "x", map[string]any{"email": "x@y.example"}); err != nil {
		t.Fatal(err)
	}
	for svc.sleepUntil.Load() == 0 {
		time.Sleep(time.Millisecond) // until the scheduler sleeps
	}
	before := counter.scans.Load()
	const sends = 200
	for i := range sends {
		if _, err := svc.Send(ctx, "x", "ping", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Only the idle re-checks (one a second) may scan; a wake-up per
	// commit would scan about once per send.
	if n := counter.scans.Load() - before; n >= sends/4 {
		t.Errorf("%d scans of the timer index for %d steps setting timers 30 days out", n, sends)
	}
}

// TestTimerSetWakes: a committed timer due before the scheduler's own
// wake-up wakes it, as does any timer while it is awake.
func TestTimerSetWakes(t *testing.T) {
	s := &Service{wake: make(chan struct{}, 1)}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	woken := func() bool {
		select {
		case <-s.wake:
			return true
		default:
			return false
		}
	}
	s.sleepUntil.Store(at.UnixNano())
	if s.timerSet(at.Add(time.Hour)); woken() {
		t.Error("a timer due after the scheduler's wake-up woke it")
	}
	if s.timerSet(at.Add(-time.Second)); !woken() {
		t.Error("a timer due before the scheduler's wake-up did not wake it")
	}
	s.sleepUntil.Store(0)
	if s.timerSet(at.Add(time.Hour)); !woken() {
		t.Error("a timer set while the scheduler is awake did not wake it")
	}
}
