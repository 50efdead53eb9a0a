package report_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// BenchmarkReports times each report over the counters of a year of
// leads in a real Badger store: LEAD_REPORT_BENCH_LEADS leads (default
// 100,000; the target figure is for 1,000,000) of about ten steps each,
// run through the engine and counted by Counts as the service counts
// them, captured over 365 days. A report reads counters, never leads, so
// its cost follows the counters' number (printed), not the leads'.
func BenchmarkReports(b *testing.B) {
	leads := 100_000
	if s := os.Getenv("LEAD_REPORT_BENCH_LEADS"); s != "" {
		var err error
		if leads, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	m := machine(b, workflow)
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	counts, steps := yearOfCounters(b, m, start, leads)
	st, err := store.Open(b.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.ReplaceCounters(ctx, "", counts); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d leads, %d steps, %d counters", leads, steps, len(counts))
	labels := report.Labels([]*engine.Machine{m})
	end := start.AddDate(0, 0, 364)
	now := end.Add(12 * time.Hour)
	for _, c := range []struct {
		name string
		run  func(report.Query) error
	}{
		{"funnel", func(q report.Query) error { _, err := report.Funnel(ctx, st, q, labels); return err }},
		{"velocity", func(q report.Query) error { _, err := report.Velocity(ctx, st, q, labels); return err }},
		{"sla", func(q report.Query) error { _, err := report.SLA(ctx, st, q); return err }},
		{"aging", func(q report.Query) error { _, err := report.Aging(ctx, st, q, now); return err }},
		{"owners", func(q report.Query) error {
			_, err := report.Owners(ctx, st, q, []*engine.Machine{m}, map[string]int{})
			return err
		}},
	} {
		for _, q := range []struct {
			name string
			q    report.Query
		}{
			{"30d", report.Query{Workflow: "rep", From: end.AddDate(0, 0, -29), To: end}},
			{"90d-by-source-weekly", report.Query{Workflow: "rep", From: end.AddDate(0, 0, -89), To: end, By: "source", Interval: "week"}},
			{"year-by-region-weekly", report.Query{Workflow: "rep", From: start, To: end, By: "region", Interval: "week"}},
		} {
			b.Run(c.name+"/"+q.name, func(b *testing.B) {
				for b.Loop() {
					if err := c.run(q.q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// yearOfCounters runs leads through the engine over a year, as the
// service would, and sums their counters.
func yearOfCounters(b *testing.B, m *engine.Machine, start time.Time, leads int) (map[string]int64, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	rot := engine.NewRotation()
	d := report.NewDims(nil)
	counts := map[string]int64{}
	regions, sources := []string{"na", "emea", "apac"}, []string{"web", "ads", "partner", "event", "referral", "webinar"}
	events := []string{"go", "accepted", "rejected", "lose", "accepted", "go"}
	steps := 0
	add := func(res *engine.Result, prev *engine.Lead) {
		for k, v := range d.Counts(m, res, m, prev) {
			counts[k] += v
		}
		rot.Apply(res.Routing)
		steps++
	}
	for i := range leads {
		at := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		res, err := engine.Step(m, nil, engine.Input{Kind: engine.Capture, LeadID: fmt.Sprintf("L%07d", i), Data: map[string]any{
			"email": fmt.Sprintf("l%d@x.example", i), "region": regions[rng.IntN(len(regions))], "source": sources[rng.IntN(len(sources))]}}, at, rot)
		if err != nil {
			b.Fatal(err)
		}
		add(res, nil)
		l := res.Lead
		for range 9 {
			at = at.Add(time.Duration(rng.Int64N(int64(36 * time.Hour))))
			if due, name, ok := nextTimer(l); ok && !due.After(at) {
				res, err = engine.Step(m, l, engine.Input{Kind: engine.Timer, Timer: name, Due: due}, due, rot)
			} else {
				res, err = engine.Step(m, l, engine.Input{Kind: engine.Event, Event: events[rng.IntN(len(events))]}, at, rot)
			}
			if err != nil {
				continue // an event the stage does not take
			}
			add(res, l)
			l = res.Lead
		}
	}
	return counts, steps
}

// nextTimer is the lead's earliest pending timer.
func nextTimer(l *engine.Lead) (time.Time, string, bool) {
	var due time.Time
	var name string
	for n, t := range l.Timers {
		if name == "" || t.Before(due) || (t.Equal(due) && n < name) {
			due, name = t, n
		}
	}
	return due, name, name != ""
}
