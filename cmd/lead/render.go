package main

// How the client commands write what the server answers for people:
// aligned tables and one line per step, times in UTC, and how long ago
// (or how soon) where people read them ("3h5m ago", "in 21h").

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/service"
)

const timeLayout = "2006-01-02 15:04:05 UTC"

// when writes a time and how long ago it was, or how soon it is.
func when(t, now time.Time) string {
	return t.UTC().Format(timeLayout) + " (" + relative(t, now) + ")"
}

// relative writes how long ago t was, or how soon it is.
func relative(t, now time.Time) string {
	d := now.Sub(t).Round(time.Second)
	switch {
	case d == 0:
		return "now"
	case d > 0:
		return engine.ShortDuration(d) + " ago"
	}
	return "in " + engine.ShortDuration(-d)
}

// table aligns columns two spaces apart; an empty last column leaves no
// trailing spaces.
func table(w io.Writer) *tableWriter {
	t := &tableWriter{out: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

type tableWriter struct {
	*tabwriter.Writer
	buf bytes.Buffer
	out io.Writer
}

// Flush writes the aligned lines without their trailing spaces.
func (t *tableWriter) Flush() {
	t.Writer.Flush()
	for line := range strings.Lines(t.buf.String()) {
		io.WriteString(t.out, strings.TrimRight(line, " \n")+"\n")
	}
	t.buf.Reset()
}

// value writes a field's value: text as it is, anything else as JSON.
func value(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeLead writes a lead as `lead show` does.
func writeLead(w io.Writer, v service.LeadView, now time.Time) {
	t := table(w)
	fmt.Fprintf(t, "lead\t%s\n", v.ID)
	fmt.Fprintf(t, "workflow\t%s (version %s)\n", v.Workflow, v.Version)
	stage := v.Stage
	if v.Lifecycle != "" {
		stage += " (lifecycle " + v.Lifecycle + ")"
	}
	fmt.Fprintf(t, "stage\t%s\n", stage)
	fmt.Fprintf(t, "owner\t%s\n", orDash(v.Owner))
	fmt.Fprintf(t, "entered\t%s\n", when(v.EnteredAt, now))
	fmt.Fprintf(t, "created\t%s\n", when(v.CreatedAt, now))
	if s := v.Stuck; s != nil {
		fmt.Fprintf(t, "stuck\t%s: %s (%s)\n", s.Kind, s.Reason, relative(s.At, now))
	}
	t.Flush()
	names := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) > 0 {
		fmt.Fprintln(w, "fields:")
		t = table(w)
		for _, k := range names {
			fmt.Fprintf(t, "  %s\t%s\n", k, value(v.Fields[k]))
		}
		t.Flush()
	}
	if len(v.SLAs) > 0 {
		fmt.Fprintln(w, "slas:")
		t = table(w)
		for _, s := range v.SLAs {
			fmt.Fprintf(t, "  %s\t%s\tdeadline %s\n", s.Name, s.State, when(s.Deadline, now))
		}
		t.Flush()
	}
}

// writeHistory writes one line per step: its number, when, and what it
// did (engine.Entry.Describe, as `lead test` shows a test's last steps).
func writeHistory(w io.Writer, steps []engine.Entry) {
	for _, e := range steps {
		fmt.Fprintf(w, "%3d  %s  %s\n", e.Seq, e.At.UTC().Format(time.RFC3339), e.Describe())
	}
}

// writeLeads writes a table of leads; stuck ones with why.
func writeLeads(env *cmdEnv, leads []service.LeadView, stuck bool) {
	if len(leads) == 0 {
		fmt.Fprintln(env.stderr, "no leads match")
		return
	}
	now := env.now()
	t := table(env.stdout)
	if stuck {
		fmt.Fprintln(t, "ID\tWORKFLOW\tSTAGE\tOWNER\tSTUCK\tSINCE\tREASON")
	} else {
		fmt.Fprintln(t, "ID\tWORKFLOW\tSTAGE\tOWNER\tENTERED\tSLA\tSTUCK")
	}
	for _, v := range leads {
		if stuck {
			s := v.Stuck
			if s == nil {
				s = &service.Stuck{At: now}
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Workflow, v.Stage, orDash(v.Owner), s.Kind, relative(s.At, now), s.Reason)
			continue
		}
		mark := ""
		if v.Stuck != nil {
			mark = v.Stuck.Kind
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Workflow, v.Stage, orDash(v.Owner), relative(v.EnteredAt, now), nearestSLA(v, now), mark)
	}
	t.Flush()
}

// nearestSLA writes the lead's open SLA with the nearest deadline ("touch
// in 3h", "touch warned, in 1h"), else its breached one, else "-".
func nearestSLA(v service.LeadView, now time.Time) string {
	var open, breached *service.SLAView
	for i := range v.SLAs {
		s := &v.SLAs[i]
		switch s.State {
		case engine.SLARunning, engine.SLAWarned:
			if open == nil || s.Deadline.Before(open.Deadline) {
				open = s
			}
		case engine.SLABreached:
			breached = s
		}
	}
	switch {
	case open != nil && open.State == engine.SLAWarned:
		return fmt.Sprintf("%s warned, %s", open.Name, relative(open.Deadline, now))
	case open != nil:
		return fmt.Sprintf("%s %s", open.Name, relative(open.Deadline, now))
	case breached != nil:
		return breached.Name + " breached"
	}
	return "-"
}

// notificationPage is GET /v1/notifications's answer.
type notificationPage struct {
	Notifications []struct {
		Cursor       string `json:"cursor"`
		Notification struct {
			engine.Notification
			ID       string `json:"id"`
			Workflow string `json:"workflow"`
		} `json:"notification"`
	} `json:"notifications"`
	Next string `json:"next_cursor"`
}

// writeNotifications writes a page of the outbox and, on stderr, how to
// read on.
func writeNotifications(env *cmdEnv, p notificationPage) {
	if len(p.Notifications) == 0 {
		fmt.Fprintln(env.stderr, "no notifications")
		return
	}
	now := env.now()
	t := table(env.stdout)
	fmt.Fprintln(t, "CURSOR\tAT\tKIND\tLEAD\tTO\tMESSAGE")
	for _, it := range p.Notifications {
		n := it.Notification
		to := n.To
		if n.Role != "" && n.Role != n.To {
			to += " (" + n.Role + ")"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Cursor, relative(n.At, now), n.Kind, n.Lead, to, n.Message)
	}
	t.Flush()
	fmt.Fprintf(env.stderr, "read on with: lead notifications --since %s\n", p.Next)
}

// writeBulk writes a bulk action's outcome: in a dry run each lead that
// would change, else the counts and each failure.
func writeBulk(w io.Writer, action string, r service.BulkResult) {
	changed, failed := "changed", "failed"
	if r.DryRun {
		changed, failed = "would change", "would fail"
		t := table(w)
		fmt.Fprintln(t, "ID\tWORKFLOW\tSTAGE\tOWNER\t\tSTAGE\tOWNER")
		for _, l := range r.Leads {
			if l.To != nil {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t->\t%s\t%s\n", l.ID, l.Workflow, l.From.Stage, orDash(l.From.Owner), l.To.Stage, orDash(l.To.Owner))
			}
		}
		t.Flush()
	}
	var lines []string
	for _, l := range r.Leads {
		if l.Outcome != service.BulkFailed {
			continue
		}
		line := fmt.Sprintf("  %s: %s", l.ID, l.Note)
		for _, p := range l.Problems {
			line += fmt.Sprintf("\n    %s: %s", p.Field, p.Message)
		}
		lines = append(lines, line)
	}
	fmt.Fprintf(w, "%d matched, %d %s, %d unchanged, %d %s\n", r.Matched, r.Changed, changed, r.Unchanged, r.Failed, failed)
	if len(lines) > 0 {
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
	if r.DryRun {
		fmt.Fprintf(w, "dry run: nothing was changed; run it without --dry-run to %s them\n", action)
	}
}
