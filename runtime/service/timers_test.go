package service

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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

const orderWorkflow = `workflow w
start waiting

lead {
  email string
}

role ops

team sales {
  strategy round_robin
  member "ana@acme.example"
  member "ben@acme.example"
  member "cid@acme.example"
}

stage waiting {
  owner { accountable ops }
  after 1h -> routed
}

stage routed {
  owner { accountable ops  responsible team sales }
  after 30d -> done
}

stage done terminal
`

// TestTimerOrderBothWays: leads whose timers fall due at the same instant
// are routed the same way under lead test (RunTimers on a virtual clock,
// the in-memory store) and under lead run (the scheduler on a clock of
// its own, Badger): in the one order, by lead id, not by capture order or
// by whichever goroutine commits first.
func TestTimerOrderBothWays(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, orderWorkflow)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ids := []string{"l07", "l03", "l11", "l01", "l05", "l09"} // captured in this order
	owners := func(svc *Service) map[string]string {
		out := map[string]string{}
		for _, id := range ids {
			v, err := svc.Lead(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = v.Owner
		}
		return out
	}
	run := func(svc *Service, clock *atomic.Int64) {
		clock.Store(t0.UnixNano())
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if _, _, err := svc.Capture(ctx, "w", id, map[string]any{"email": id + "@x.example"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := func(c *atomic.Int64) func() time.Time {
		return func() time.Time { return time.Unix(0, c.Load()).UTC() }
	}

	// As lead test runs it.
	var testClock atomic.Int64
	mem := store.NewMemory()
	test := New(Config{Paths: []string{path}, Store: mem, Clock: now(&testClock), ManualTimers: true})
	run(test, &testClock)
	if err := test.RunTimers(ctx, t0.Add(2*time.Hour), func(t time.Time) { testClock.Store(t.UnixNano()) }); err != nil {
		t.Fatal(err)
	}
	inTest := owners(test)
	test.Close(ctx)

	// As lead run runs it.
	var runClock atomic.Int64
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prod := New(Config{Paths: []string{path}, Store: st, Clock: now(&runClock)})
	run(prod, &runClock)
	defer prod.Close(ctx)
	runClock.Store(t0.Add(2 * time.Hour).UnixNano())
	signal(prod.wake)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := owners(prod)
		if !slices.Contains(slices.Collect(maps.Values(got)), "") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the timers did not fire: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	inRun := owners(prod)

	want := map[string]string{ // by lead id
		"l01": "ana@acme.example", "l03": "ben@acme.example", "l05": "cid@acme.example",
		"l07": "ana@acme.example", "l09": "ben@acme.example", "l11": "cid@acme.example",
	}
	if !maps.Equal(inTest, want) {
		t.Errorf("under lead test: %v, want %v", inTest, want)
	}
	if !maps.Equal(inRun, want) {
		t.Errorf("under lead run: %v, want %v", inRun, want)
	}
}
