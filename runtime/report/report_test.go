package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

const workflow = `workflow rep
start inbox

lead {
  email  string
  region enum(na, emea, apac) = na
  source string = "web"
}

event go
event accepted
event rejected
event lose

role ops
role mgr

team sales {
  strategy round_robin
  member "ana@x.example"
  member "ben@x.example"
  member "cid@x.example"
}

stage inbox {
  lifecycle inquiry
  owner { accountable ops  responsible role ops }
  on go -> qualify
  after 3d -> qualify
}

stage qualify {
  lifecycle mql
  owner { accountable ops  responsible team sales }
  on accepted -> working
  on rejected -> inbox
  on lose -> lost
  sla touch within 8h {
    warn at 50% { notify responsible "soon" }
  }
  after 5d -> lost
}

stage working {
  lifecycle sql
  owner { accountable mgr  responsible team sales }
  on accepted -> won
  on lose -> lost
  after 10d -> lost
}

stage won terminal { lifecycle won }
stage lost terminal { lifecycle lost }
`

var ctx = context.Background()

// world is a service on a virtual clock, the runtime as lead test runs
// it, with a seeded generator of leads moving over 60 days.
type world struct {
	t     *testing.T
	svc   *service.Service
	st    *store.Memory
	m     *engine.Machine
	clock atomic.Int64
	start time.Time
}

func (w *world) now() time.Time  { return time.Unix(0, w.clock.Load()).UTC() }
func (w *world) set(t time.Time) { w.clock.Store(t.UnixNano()) }
func (w *world) advance(t time.Time) {
	w.t.Helper()
	if err := w.svc.RunTimers(ctx, t, w.set); err != nil {
		w.t.Fatal(err)
	}
	w.set(t)
}

func newWorld(t *testing.T, seed uint64) *world {
	m := machine(t, workflow)
	w := &world{t: t, m: m, start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	w.set(w.start)
	w.st = store.NewMemory()
	w.svc = service.New(service.Config{Store: w.st, Clock: w.now, Machines: []*engine.Machine{m}, ManualTimers: true})
	if err := w.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.svc.Close(ctx) })

	// Actions at random times over 60 days: captures, then events for
	// each lead at increasing random offsets.
	type action struct {
		at    time.Time
		lead  string
		event string // "" captures
		data  map[string]any
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var acts []action
	regions, sources := []string{"na", "emea", "apac"}, []string{"web", "ads", "partner", "event"}
	events := []string{"go", "accepted", "rejected", "lose", "accepted", "go"}
	for d := range 60 {
		for i := range 3 + rng.IntN(8) {
			id := fmt.Sprintf("L%02d-%02d", d, i)
			at := w.start.AddDate(0, 0, d).Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
			acts = append(acts, action{at: at, lead: id, data: map[string]any{
				"email": id + "@x.example", "region": regions[rng.IntN(3)], "source": sources[rng.IntN(4)]}})
			for range rng.IntN(5) {
				at = at.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
				acts = append(acts, action{at: at, lead: id, event: events[rng.IntN(len(events))]})
			}
		}
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].at.Before(acts[j].at) })
	for _, a := range acts {
		if a.at.After(w.start.AddDate(0, 0, 70)) {
			break
		}
		w.advance(a.at)
		if a.event == "" {
			if _, _, err := w.svc.Capture(ctx, "rep", a.lead, a.data); err != nil {
				t.Fatal(err)
			}
		} else {
			w.svc.Send(ctx, a.lead, a.event, "", nil) // an event the stage does not take is refused: fine
		}
	}
	w.advance(w.start.AddDate(0, 0, 70))
	return w
}

// truth is what the reports must say, recomputed by brute force from
// every lead's history.
type truth struct {
	funnel   map[[3]string]int64           // group, period, label
	reach    map[[2]string][]time.Duration // group, label: capture to first reach
	stays    map[[2]string][]time.Duration // group, stage
	sla      map[[4]string]int64           // group, sla, stage, outcome
	aging    map[[3]string]int64           // group, stage, bucket
	assigned map[string]int64
	events   map[[2]string]int64 // owner, event
	open     map[string]int
}

func (w *world) truth(q report.Query) *truth {
	tr := &truth{funnel: map[[3]string]int64{}, reach: map[[2]string][]time.Duration{}, stays: map[[2]string][]time.Duration{},
		sla: map[[4]string]int64{}, aging: map[[3]string]int64{}, assigned: map[string]int64{}, events: map[[2]string]int64{}, open: map[string]int{}}
	in := func(t time.Time) bool {
		d := t.UTC().Truncate(24 * time.Hour)
		return !d.Before(q.From) && !d.After(q.To)
	}
	group := func(v service.LeadView) string {
		if q.By == "" {
			return "all"
		}
		return fmt.Sprint(v.Fields[q.By])
	}
	cursor := ""
	for {
		page, next, err := w.svc.Leads(ctx, service.Filter{}, 1000, cursor)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, v := range page {
			g := group(v)
			raw, err := w.svc.History(ctx, v.ID, 0, 0)
			if err != nil {
				w.t.Fatal(err)
			}
			var hist []engine.Entry
			for _, r := range raw {
				var e engine.Entry
				if err := json.Unmarshal(r, &e); err != nil {
					w.t.Fatal(err)
				}
				hist = append(hist, e)
			}
			per := ""
			if q.Interval == "week" {
				d := v.CreatedAt.UTC().Truncate(24 * time.Hour)
				per = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)).Format(time.DateOnly)
			}
			reached := map[string]bool{}
			if in(v.CreatedAt) {
				tr.funnel[[3]string{g, per, "captured"}]++
			}
			owner, entered := "", v.CreatedAt
			for _, e := range hist {
				if e.Cause == "event" && owner != "" && in(e.At) {
					tr.events[[2]string{owner, e.Event}]++
				}
				for i, mv := range e.Moves {
					if mv.From != "" && in(e.At) {
						stay := time.Duration(0)
						if i == 0 {
							stay = e.At.Sub(entered)
						}
						tr.stays[[2]string{g, mv.From}] = append(tr.stays[[2]string{g, mv.From}], stay)
					}
					if lc := w.m.Stage(mv.To).Lifecycle; lc != "" && !reached[lc] {
						reached[lc] = true
						if in(v.CreatedAt) {
							tr.funnel[[3]string{g, per, lc}]++
							tr.reach[[2]string{g, lc}] = append(tr.reach[[2]string{g, lc}], e.At.Sub(v.CreatedAt))
						}
					}
					entered = e.At
				}
				for _, o := range e.SLAs {
					out := o.State
					if (out == "met" || out == "warned" || out == "breached" || out == report.Exempt) && in(e.At) {
						tr.sla[[4]string{g, o.Name, o.Stage, out}]++
					}
				}
				if e.Owner != owner && e.Owner != "" && in(e.At) {
					tr.assigned[e.Owner]++
				}
				owner = e.Owner
			}
			if st := w.m.Stage(v.Stage); !st.Terminal {
				age := int(w.now().Truncate(24*time.Hour).Sub(v.EnteredAt.UTC().Truncate(24*time.Hour)).Hours() / 24)
				for _, b := range report.AgeBuckets {
					if age >= b.FromDays && (b.MaxDays == 0 || age < b.MaxDays) {
						tr.aging[[3]string{g, v.Stage, b.Name}]++
					}
				}
				if v.Owner != "" {
					tr.open[v.Owner]++
				}
			}
		}
		if next == "" {
			return tr
		}
		cursor = next
	}
}

func exactQuantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

// TestReportsAgainstHistory checks every report on a seeded workload
// against a brute-force recomputation from the leads' histories, in
// total and broken down by an enum field, a string field and by week.
func TestReportsAgainstHistory(t *testing.T) {
	w := newWorld(t, 42)
	queries := []report.Query{
		{Workflow: "rep", From: w.start, To: w.start.AddDate(0, 0, 70)},
		{Workflow: "rep", From: w.start.AddDate(0, 0, 10), To: w.start.AddDate(0, 0, 40), By: "region"},
		{From: w.start, To: w.start.AddDate(0, 0, 70), By: "source"},
		{Workflow: "rep", From: w.start, To: w.start.AddDate(0, 0, 70), Interval: "week"},
	}
	for _, q := range queries {
		t.Run(fmt.Sprintf("by=%s,interval=%s,from=%s", q.By, q.Interval, q.From.Format("01-02")), func(t *testing.T) {
			tr := w.truth(q)
			checkFunnel(t, w, q, tr)
			if q.Interval == "" {
				checkVelocity(t, w, q, tr)
				checkSLA(t, w, q, tr)
				checkAging(t, w, q, tr)
				if q.By == "" {
					checkOwners(t, w, q, tr)
				}
			}
		})
	}
}

func get(t *testing.T, w *world, kind string, q report.Query) *report.Report {
	t.Helper()
	r, err := w.svc.Report(ctx, kind, q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkFunnel(t *testing.T, w *world, q report.Query, tr *truth) {
	r := get(t, w, "funnel", q)
	got := map[[3]string]int64{}
	for _, row := range r.Rows {
		if n := row["leads"].(int64); n > 0 {
			got[[3]string{row["group"].(string), row["period"].(string), row["label"].(string)}] = n
		}
	}
	if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(tr.funnel) {
		t.Errorf("funnel:\n got %v\nwant %v", got, tr.funnel)
	}
	for _, row := range r.Rows {
		if row["label"] == "captured" && row["conversion_from_captured"] != 1.0 && row["leads"].(int64) > 0 {
			t.Errorf("captured converts %v of captured", row["conversion_from_captured"])
		}
	}
}

func checkVelocity(t *testing.T, w *world, q report.Query, tr *truth) {
	r := get(t, w, "velocity", q)
	seen := 0
	for _, row := range r.Rows {
		k := [2]string{row["group"].(string), row["name"].(string)}
		want := tr.reach[k]
		if row["kind"] == "stage" {
			want = tr.stays[k]
		}
		if int64(len(want)) != row["count"].(int64) {
			t.Errorf("velocity %v %v: count %d, want %d", row["kind"], k, row["count"], len(want))
			continue
		}
		seen++
		for _, p := range []struct {
			col string
			q   float64
		}{{"p50_seconds", 0.5}, {"p90_seconds", 0.9}} {
			exact := exactQuantile(want, p.q).Seconds()
			got := row[p.col].(float64)
			// Within the log buckets' resolution (a 19% step), or a
			// second for stays under one.
			if math.Abs(got-exact) > max(1, 0.2*exact) {
				t.Errorf("velocity %v %v %s = %.0f s, exact %.0f s", row["kind"], k, p.col, got, exact)
			}
		}
	}
	if want := len(tr.reach) + len(tr.stays); seen != want {
		t.Errorf("velocity: %d rows checked, %d expected", seen, want)
	}
}

func checkSLA(t *testing.T, w *world, q report.Query, tr *truth) {
	r := get(t, w, "sla", q)
	got := map[[4]string]int64{}
	for _, row := range r.Rows {
		for _, out := range []string{"met", "warned", "breached", report.Exempt} {
			if n := row[out].(int64); n > 0 {
				got[[4]string{row["group"].(string), row["sla"].(string), row["stage"].(string), out}] = n
			}
		}
	}
	if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(tr.sla) {
		t.Errorf("sla:\n got %v\nwant %v", got, tr.sla)
	}
}

func checkAging(t *testing.T, w *world, q report.Query, tr *truth) {
	r := get(t, w, "aging", q)
	got := map[[3]string]int64{}
	for _, row := range r.Rows {
		for _, b := range report.AgeBuckets {
			if n := row[b.Name].(int64); n > 0 {
				got[[3]string{row["group"].(string), row["stage"].(string), b.Name}] = n
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(tr.aging) {
		t.Errorf("aging:\n got %v\nwant %v", got, tr.aging)
	}
}

func checkOwners(t *testing.T, w *world, q report.Query, tr *truth) {
	r := get(t, w, "owners", q)
	for _, row := range r.Rows {
		owner := row["owner"].(string)
		if row["assigned"].(int64) != tr.assigned[owner] || row["open"].(int) != tr.open[owner] {
			t.Errorf("owner %s: assigned %v open %v, want %d and %d", owner, row["assigned"], row["open"], tr.assigned[owner], tr.open[owner])
		}
		for ev, n := range row["events"].(map[string]int64) {
			if n != tr.events[[2]string{owner, ev}] {
				t.Errorf("owner %s: %d %s, want %d", owner, n, ev, tr.events[[2]string{owner, ev}])
			}
		}
	}
}

// TestRebuildMatchesLiveCounters: the counters rebuilt from history
// (lead reindex, and a start whose counters need it) are the counters
// kept step by step.
func TestRebuildMatchesLiveCounters(t *testing.T) {
	w := newWorld(t, 7)
	live, err := store.CounterMap(ctx, w.st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) < 100 {
		t.Fatalf("only %d live counters: the workload tests little", len(live))
	}
	if err := w.st.ReplaceCounters(ctx, "", map[string]int64{"f/rep/2026-09-01/%2A/bogus": 5}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := store.CounterMap(ctx, w.st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range live {
		if rebuilt[k] != v {
			t.Errorf("%s: rebuilt %d, live %d", k, rebuilt[k], v)
		}
	}
	for k, v := range rebuilt {
		if _, ok := live[k]; !ok {
			t.Errorf("%s: rebuilt %d, not a live counter", k, v)
		}
	}
	if v, _, _ := w.st.Meta(ctx, report.SchemaKey); string(v) != report.Schema {
		t.Errorf("schema after the rebuild: %q", v)
	}
}
