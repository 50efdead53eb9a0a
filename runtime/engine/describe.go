package engine

import (
	"fmt"
	"strings"
	"time"
)

// Describe writes a history entry on one line for people, without its
// time: `lead test` shows a failing test's last steps with it and
// `lead history` each step.
func (e *Entry) Describe() string {
	var b strings.Builder
	b.WriteString(e.Cause)
	switch {
	case e.Event != "":
		fmt.Fprintf(&b, " %s", e.Event)
	case e.Timer != "":
		fmt.Fprintf(&b, " %s", e.Timer)
	}
	switch {
	case e.From != e.To:
		fmt.Fprintf(&b, ": %s -> %s", orNew(e.From), e.To)
	default:
		fmt.Fprintf(&b, ": in %s", e.To)
	}
	fmt.Fprintf(&b, ", owner %q", e.Owner)
	if e.Late > 0 {
		fmt.Fprintf(&b, ", %s late", ShortDuration(e.Late))
	}
	if o := e.Override; o != nil {
		fmt.Fprintf(&b, ", override%s: %q", by(o.Actor), o.Reason)
	}
	if a := e.Assign; a != nil {
		fmt.Fprintf(&b, ", assigned from %q%s: %q", a.Previous, by(a.Actor), a.Reason)
	}
	if e.Cause == "migrate" {
		fmt.Fprintf(&b, ", version %s -> %s", e.Extra["from_version"], e.Extra["to_version"])
	}
	if len(e.Actions) > 0 {
		fmt.Fprintf(&b, ", did %s", strings.Join(e.Actions, ", "))
	}
	for _, o := range e.SLAs {
		fmt.Fprintf(&b, ", sla %s %s", o.Name, o.State)
	}
	if n := e.Notifications; n > 0 {
		fmt.Fprintf(&b, ", %d %s", n, map[bool]string{true: "notification", false: "notifications"}[n == 1])
	}
	for _, x := range e.Exceptions {
		if x.Kind == "override" {
			continue // said above
		}
		fmt.Fprintf(&b, ", exception %s (%s, %s)", x.Kind, x.Reason, x.Handler)
	}
	return b.String()
}

func orNew(stage string) string {
	if stage == "" {
		return "(new)"
	}
	return stage
}

func by(actor string) string {
	if actor == "" {
		return ""
	}
	return " by " + actor
}

// ShortDuration writes a duration for people, to two units at most:
// 250ms, 1.2s, 42s, 4m30s, 3h5m, 2d3h.
func ShortDuration(d time.Duration) string {
	if d < 0 {
		return "-" + ShortDuration(-d)
	}
	two := func(big, small time.Duration, bu, su string) string {
		d = d.Round(small)
		n, rest := d/big, (d%big)/small
		if rest == 0 {
			return fmt.Sprintf("%d%s", n, bu)
		}
		return fmt.Sprintf("%d%s%d%s", n, bu, rest, su)
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < 10*time.Second:
		s := fmt.Sprintf("%.1f", d.Seconds())
		return strings.TrimSuffix(s, ".0") + "s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", d.Round(time.Second)/time.Second)
	case d < time.Hour:
		return two(time.Minute, time.Second, "m", "s")
	case d < 24*time.Hour:
		return two(time.Hour, time.Minute, "h", "m")
	}
	return two(24*time.Hour, time.Hour, "d", "h")
}
