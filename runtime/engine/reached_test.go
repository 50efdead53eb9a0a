package engine

import (
	"testing"
	"time"
)

// TestReached: a lead records when it first entered a stage of each
// lifecycle label, once however often it comes back, without touching
// the lead the step started from.
func TestReached(t *testing.T) {
	m := compile(t, `workflow w
start inbox

lead {
  email string
}

event go
event back

role ops

owner { accountable ops }

stage inbox {
  lifecycle inquiry
  on go -> working
}

stage working {
  lifecycle mql
  on back -> inbox
  on go -> won
}

stage won terminal { lifecycle won }
`)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	t0 := w.now
	w.wait(time.Hour)
	w.send("L", "go", nil)
	before := w.lead("L")
	w.wait(time.Hour)
	w.send("L", "back", nil)
	w.wait(time.Hour)
	w.send("L", "go", nil)
	w.send("L", "go", nil)
	got := w.lead("L").Reached
	want := map[string]time.Time{"inquiry": t0, "mql": t0.Add(time.Hour), "won": t0.Add(3 * time.Hour)}
	if len(got) != len(want) {
		t.Fatalf("Reached = %v, want %v", got, want)
	}
	for k, v := range want {
		if !got[k].Equal(v) {
			t.Errorf("Reached[%s] = %v, want %v", k, got[k], v)
		}
	}
	if len(before.Reached) != 2 {
		t.Errorf("a later step changed an earlier lead's Reached: %v", before.Reached)
	}
}
