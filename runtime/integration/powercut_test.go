package integration

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/powercut/powercuttest"
)

// The power-loss test of the real `lead run`: the harness
// (internal/powercut) runs TestPowerCutChild, which serves a store on a
// simulated disk and drives it with writers over HTTP, cuts the power at
// a random moment (only what was flushed survives, not the page cache a
// kill -9 keeps), and runs TestPowerCutVerify on the crash image: every
// event acknowledged must be there, exactly once. With two phases the
// child runs again on the first crash image, so the power also fails
// while the store recovers and serves again.

const (
	pcWriters = 8
	pcEnv     = "LEAD_IT_POWERCUT" // "child" or "verify"
)

func TestPowerCutRun(t *testing.T) {
	if testing.Short() {
		t.Skip("power-loss test: not in -short")
	}
	test, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(mode, test, run string) string {
		return fmt.Sprintf(`%s=%s %s=%s exec %s -test.run='^%s$' -test.v`, pcEnv, mode, binEnv, leadBin, test, run)
	}
	for _, twoPhase := range []bool{false, true} {
		t.Run(fmt.Sprint("twophase=", twoPhase), func(t *testing.T) {
			powercuttest.Run(t, powercuttest.Config{
				Child:  cmd("child", test, "TestPowerCutChild"),
				Verify: cmd("verify", test, "TestPowerCutVerify"),
				Rounds: 2, TwoPhase: twoPhase,
				Min: time.Second, Max: 4 * time.Second,
			})
		})
	}
}

// pcServer starts `lead run` on the harness's directory; its process is
// in the harness's process group, so the power cut kills it too.
func pcServer(t *testing.T) *server {
	dir := os.Getenv("POWERCUT_DIR")
	if dir == "" {
		t.Fatal("POWERCUT_DIR is not set")
	}
	return newServer(t, serverOpts{data: dir + "/store"})
}

// TestPowerCutChild is the harness's child: each writer pings a lead of
// its own with events e1, e2, ... and prints "acked W N" once event N is
// acknowledged. On a crash image it goes on after what the store holds.
func TestPowerCutChild(t *testing.T) {
	if os.Getenv(pcEnv) != "child" {
		t.Skip("run by TestPowerCutRun")
	}
	s := pcServer(t)
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range pcWriters {
		id := fmt.Sprint("pc", w)
		first := 1
		if r := s.must("GET", "/v1/leads/"+id, nil); r.status == http.StatusOK {
			first = len(eventIDs(s, id)) + 1
			fmt.Printf("start %d %d\n", w, first-1)
		} else {
			s.capture("deals", id, map[string]any{"email": id + "@x.example"})
		}
		wg.Go(func() {
			for n := first; ; n++ {
				r, err := s.request("POST", "/v1/leads/"+id+"/events", map[string]any{"type": "ping", "id": fmt.Sprint("e", n), "data": map[string]any{"n": 1}})
				if err != nil || r.status != http.StatusOK {
					fmt.Printf("writer %d: event %d: %v %v\n", w, n, r, err)
					return // the power failed
				}
				out.Lock()
				fmt.Printf("acked %d %d\n", w, n)
				out.Unlock()
			}
		})
	}
	wg.Wait()
	select {} // the harness cuts the power
}

// TestPowerCutVerify checks a crash image against POWERCUT_ACKED: each
// writer's lead holds every acknowledged event exactly once, events in
// order with no gap, and its engagement (each ping adds 1) agrees.
func TestPowerCutVerify(t *testing.T) {
	if os.Getenv(pcEnv) != "verify" {
		t.Skip("run by TestPowerCutRun")
	}
	acked := map[int]int{}
	for kv := range strings.SplitSeq(os.Getenv("POWERCUT_ACKED"), ",") {
		w, n, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		wi, _ := strconv.Atoi(w)
		ni, _ := strconv.Atoi(n)
		acked[wi] = ni
	}
	s := pcServer(t)
	for w := range pcWriters {
		id := fmt.Sprint("pc", w)
		r := s.must("GET", "/v1/leads/"+id, nil)
		if r.status == http.StatusNotFound && acked[w] == 0 {
			continue
		}
		if r.status != http.StatusOK {
			t.Fatalf("lead %s: %s (writer %d acknowledged %d events)", id, r, w, acked[w])
		}
		ids := eventIDs(s, id)
		for n := 1; n <= acked[w]; n++ {
			if ids[fmt.Sprint("e", n)] != 1 {
				t.Errorf("lead %s: acknowledged event e%d is in the history %d times", id, n, ids[fmt.Sprint("e", n)])
			}
		}
		for e, c := range ids {
			n, _ := strconv.Atoi(strings.TrimPrefix(e, "e"))
			if c != 1 || n < 1 || n > len(ids) {
				t.Errorf("lead %s: event %s %d times among %d events: not e1..e%d once each", id, e, c, len(ids), len(ids))
			}
		}
		if got := r.json(t)["fields"].(map[string]any)["engagement"]; got != float64(len(ids)) {
			t.Errorf("lead %s: engagement %v after %d pings", id, got, len(ids))
		}
	}
	// The store takes writes after the crash.
	s.capture("deals", "after-the-cut", map[string]any{"email": "a@x.example"})
}
