package engine

import (
	"math"
	"testing"
	"time"
)

const scoreSrc = `
workflow scores
start a
lead {
  email string
  engagement int = 0
  heat float = 0.0
}
event form
event spam
event click
role ops
owner { accountable ops }
score engagement {
  on form add 16
  on click add 3
  on spam add -7
  decay 10% every 30d
  limit 0..20
}
score heat {
  on click add 1.5
  decay 50% every 1d
}
stage a {
  owner { responsible role ops }
  on spam -> b
  after 400d -> b
}
stage b terminal
`

func TestDecayInt(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		p    int
		want int64
	}{
		{16, 10, 14}, {14, 10, 12}, {10, 10, 9}, {1, 10, 0}, {0, 10, 0},
		{100, 30, 70}, // not 69: no floating point
		{-16, 10, -14}, {-1, 50, 0},
		{math.MaxInt64, 10, 8301034833169298226}, // 9223372036854775807 * 0.9 = ...226.3
		{math.MinInt64, 1, -9131138316486228049}, // toward zero from ...049.92
		{5, 100, 0},
	} {
		eq(t, "decay", decayInt(tc.n, tc.p), tc.want)
	}
}

// TestScoreDecay: 10% every 30d rounds toward zero, 16 -> 14 -> 12 ...,
// and stops at 0.
func TestScoreDecay(t *testing.T) {
	m := compile(t, scoreSrc)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "form", nil)
	eq(t, "after form", w.field("L", "engagement"), any(int64(16)))
	var got []int64
	for range 14 {
		w.wait(30 * 24 * time.Hour)
		got = append(got, w.field("L", "engagement").(int64))
	}
	eqs(t, "decay", got, []int64{14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0})
	if _, ok := w.lead("L").Timers["decay:engagement"]; ok {
		t.Error("decay stops at 0")
	}
	eq(t, "last decay", w.lead("L").ScoreChanged["engagement"], ts(t, "2026-03-02T09:00:00Z").Add(13*30*24*time.Hour))
}

// TestScoreDecayRestarts: a change by the score restarts its decay period.
func TestScoreDecayRestarts(t *testing.T) {
	m := compile(t, scoreSrc)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "form", nil)
	w.wait(20 * 24 * time.Hour)
	w.send("L", "click", nil) // 19, decay due 30d from now
	w.wait(29 * 24 * time.Hour)
	eq(t, "not yet", w.field("L", "engagement"), any(int64(19)))
	w.wait(24 * time.Hour)
	eq(t, "decayed", w.field("L", "engagement"), any(int64(17)))
}

// TestScoreLimits: adds and decay are clamped; floats decay unrounded.
func TestScoreLimits(t *testing.T) {
	m := compile(t, scoreSrc)
	w := newWorld(t, m, "2026-03-02T09:00:00Z")
	w.capture("L", map[string]any{"email": "a@x"})
	w.send("L", "form", nil)
	w.send("L", "form", nil)
	eq(t, "clamped at 20", w.field("L", "engagement"), any(int64(20)))
	w.send("L", "click", nil)
	w.send("L", "click", nil)
	eq(t, "heat", w.field("L", "heat"), any(3.0))
	w.wait(24 * time.Hour)
	eq(t, "heat halves", w.field("L", "heat"), any(1.5))
	w2 := newWorld(t, m, "2026-03-02T09:00:00Z")
	w2.capture("L", map[string]any{"email": "a@x"})
	w2.send("L", "click", nil)
	r := w2.send("L", "spam", nil) // 3 - 7 clamps at 0, and moves to a terminal stage
	eq(t, "clamped at 0", w2.field("L", "engagement"), any(int64(0)))
	eq(t, "history names the field", r.Entry.Fields["engagement"], any(int64(0)))
	r = w2.send("L", "click", nil) // scores still count in a terminal stage
	eq(t, "terminal", r.Lead.Stage, "b")
	eq(t, "score in terminal", w2.field("L", "engagement"), any(int64(3)))
}
