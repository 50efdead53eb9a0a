package engine

import (
	"testing"
	"time"
)

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 250 * time.Millisecond: "250ms", 1200 * time.Millisecond: "1.2s", 2 * time.Second: "2s",
		42 * time.Second: "42s", 4*time.Minute + 30*time.Second: "4m30s", time.Hour: "1h",
		3*time.Hour + 5*time.Minute + 10*time.Second: "3h5m", 51 * time.Hour: "2d3h", -90 * time.Second: "-1m30s",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	e := Entry{Cause: "assign", From: "a", To: "a", Owner: "zoe", Late: 1500 * time.Millisecond,
		Assign:  &AssignRecord{Owner: "zoe", Previous: "ana", Reason: "ana is away", Actor: "ops"},
		Actions: []string{"assign zoe"}, SLAs: []SLAOutcome{{Name: "touch", State: "restarted"}}}
	want := `assign: in a, owner "zoe", 1.5s late, assigned from "ana" by ops: "ana is away", did assign zoe, sla touch restarted`
	if got := e.Describe(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
