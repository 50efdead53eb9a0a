package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
)

// Source is where reports read their counters (a store).
type Source interface {
	// Counters calls fn with each counter whose name is in [from, to).
	Counters(ctx context.Context, from, to string, fn func(name string, n int64)) error
}

// Query selects what a report covers.
type Query struct {
	// Workflow limits the report to one workflow; "" sums Workflows,
	// which the lifecycle labels make comparable.
	Workflow  string
	Workflows []string
	// From and To are the first and last day covered (UTC dates).
	From, To time.Time
	// By breaks the report down by a dimension: an enum or string field
	// of the lead ("" for none).
	By string
	// Interval splits the window into periods: "day", "week" (from
	// Monday) or "" (the whole window).
	Interval string
}

// Report is a report's rows, each with the columns named in Columns.
type Report struct {
	Kind       string           `json:"report"`
	Workflow   string           `json:"workflow,omitempty"`
	From       string           `json:"from"`
	To         string           `json:"to"`
	By         string           `json:"by,omitempty"`
	Interval   string           `json:"interval,omitempty"`
	Definition string           `json:"definition"`
	Columns    []string         `json:"columns"`
	Rows       []map[string]any `json:"rows"`
	// Stuck lists stuck leads (the aging report); filled by the caller.
	Stuck []map[string]any `json:"stuck,omitempty"`
}

// period returns the period a day belongs to under an interval.
func period(d time.Time, interval string) string {
	switch interval {
	case "day":
		return day(d)
	case "week":
		return day(monday(d))
	}
	return ""
}

// counter is a parsed counter of a kind in a report's window.
type counter struct {
	day      time.Time
	period   string
	group    string
	workflow string
	n        int64
	rest     []string // the parts after the day
}

// workflows are the workflows a query covers.
func (q Query) workflows() []string {
	if q.Workflow != "" {
		return []string{q.Workflow}
	}
	return q.Workflows
}

// prefixEnd is the end of the range of names that start with p.
func prefixEnd(p string) string { return p[:len(p)-1] + string(p[len(p)-1]+1) }

// counters calls fn with each counter whose name starts with p.
func counters(ctx context.Context, src Source, p string, fn func(string, int64)) error {
	return src.Counters(ctx, p, prefixEnd(p), fn)
}

// segmentsFor lists the dimension segments a breakdown by field by reads
// in a workflow: "*" for none, else by=VALUE for each value counted (d/).
func segmentsFor(ctx context.Context, src Source, wf, by string) ([]string, error) {
	if by == "" {
		return []string{"*"}, nil
	}
	var out []string
	err := counters(ctx, src, name("d", wf, by)+"/", func(k string, _ int64) {
		if parts := split(k); len(parts) == 4 {
			out = append(out, by+"="+parts[3])
		}
	})
	return out, err
}

// groupOf is the group a dimension segment counts in.
func groupOf(seg string) string {
	if seg == "*" {
		return "all"
	}
	_, v, _ := strings.Cut(seg, "=")
	return v
}

// days parses day names (a date, or a week's "w" and Monday), each
// once, with their periods under one interval.
type days struct {
	interval string
	seen     map[string]dayOf
}

type dayOf struct {
	t      time.Time // zero: not a day's name
	period string
}

func (ds *days) parse(s string) (dayOf, bool) {
	if d, ok := ds.seen[s]; ok {
		return d, !d.t.IsZero()
	}
	var d dayOf
	t, err := time.Parse(time.DateOnly, strings.TrimPrefix(s, "w"))
	if err == nil {
		d = dayOf{t: t, period: period(t, ds.interval)}
	}
	if ds.seen == nil {
		ds.seen = map[string]dayOf{}
	}
	ds.seen[s] = d
	return d, err == nil
}

// ranges are the ranges of day names (as [from, to] names, to included)
// a scan of kind k over q's window reads: its days, or for the kinds kept
// per week (v, t) under an interval other than "day", the weeks the
// window covers whole and the days at its edges.
func ranges(k string, q Query) [][2]string {
	from, to := q.From.UTC(), q.To.UTC()
	if (k != "v" && k != "t") || q.Interval == "day" {
		return [][2]string{{day(from), day(to)}}
	}
	first := monday(from)
	if !first.Equal(from.Truncate(24 * time.Hour)) {
		first = first.AddDate(0, 0, 7)
	}
	last := monday(to.AddDate(0, 0, 1)).AddDate(0, 0, -7) // the last Monday whose week ends by to
	if last.Before(first) {
		return [][2]string{{day(from), day(to)}}
	}
	var rs [][2]string
	if from.Before(first) {
		rs = append(rs, [2]string{day(from), day(first.AddDate(0, 0, -1))})
	}
	rs = append(rs, [2]string{week(first), week(last)})
	if end := last.AddDate(0, 0, 6); end.Before(to.Truncate(24 * time.Hour)) {
		rs = append(rs, [2]string{day(end.AddDate(0, 0, 1)), day(to)})
	}
	return rs
}

// scan calls fn with each counter of kind k (named KIND/WF/DIM/DAY/...:
// f, v, t, s) in q's window, for q's workflows and breakdown: one range
// of names per workflow, dimension value and range of days. fn must not
// keep c.
func scan(ctx context.Context, src Source, k string, q Query, fn func(c *counter)) error {
	ds := days{interval: q.Interval}
	var c counter
	rs := ranges(k, q)
	for _, wf := range q.workflows() {
		segs, err := segmentsFor(ctx, src, wf, q.By)
		if err != nil {
			return err
		}
		for _, seg := range segs {
			base := name(k, wf, seg) + "/"
			group := groupOf(seg)
			for _, r := range rs {
				err := src.Counters(ctx, base+r[0], base+r[1]+"0", func(key string, n int64) {
					// KIND/WF/DIM/ is base: the day, then the rest.
					dayStr, rest, ok := strings.Cut(key[len(base):], "/")
					if !ok {
						return
					}
					d, ok := ds.parse(dayStr)
					if !ok {
						return
					}
					c = counter{day: d.t, period: d.period, group: group, workflow: wf, n: n, rest: splitInto(c.rest[:0], rest)}
					fn(&c)
				})
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// key of a row: group, period and more.
type rowKey struct {
	group, period string
	more          string
}

func sortRows(rows []map[string]any, order func(a, b map[string]any) int) {
	slices.SortStableFunc(rows, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(fmt.Sprint(a["group"]), fmt.Sprint(b["group"])),
			cmp.Compare(fmt.Sprint(a["period"]), fmt.Sprint(b["period"])), order(a, b))
	})
}

func header(kind string, q Query, def string, cols ...string) *Report {
	return &Report{
		Kind: kind, Workflow: q.Workflow, From: day(q.From), To: day(q.To), By: q.By, Interval: q.Interval,
		Definition: def, Columns: cols, Rows: []map[string]any{},
	}
}

// Labels returns the lifecycle labels of machines in the order their
// stages declare them, each once.
func Labels(machines []*engine.Machine) []string {
	var out []string
	for _, m := range machines {
		for _, st := range m.W.Stages {
			if st.Lifecycle != "" && !slices.Contains(out, st.Lifecycle) {
				out = append(out, st.Lifecycle)
			}
		}
	}
	return out
}

// Dimensions returns the fields a report can break down by: the enum and
// string fields of the machines' leads.
func Dimensions(machines []*engine.Machine) []string {
	var out []string
	for _, m := range machines {
		for _, f := range m.W.Lead {
			if (f.Type.Kind == ir.Enum || f.Type.Kind == ir.String) && !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Funnel counts, per group and period, the leads captured that reached
// each lifecycle label (labels in order: the machines').
func Funnel(ctx context.Context, src Source, q Query, labels []string) (*Report, error) {
	r := header("funnel", q, "Leads captured in the window (by capture day) that reached each lifecycle label, each lead counted once per label however often it came back; conversion is the share of the previous label's leads and of all captured.",
		"group", "period", "label", "leads", "conversion_from_previous", "conversion_from_captured")
	sums := map[rowKey]int64{}
	groups := map[[2]string]bool{}
	err := scan(ctx, src, "f", q, func(c *counter) {
		sums[rowKey{c.group, c.period, c.rest[0]}] += c.n
		groups[[2]string{c.group, c.period}] = true
	})
	if err != nil {
		return nil, err
	}
	order := append([]string{Captured}, labels...)
	for gp := range groups {
		captured := sums[rowKey{gp[0], gp[1], Captured}]
		prev := captured
		for _, label := range order {
			n := sums[rowKey{gp[0], gp[1], label}]
			shown := label
			if label == Captured {
				shown = "captured"
			}
			r.Rows = append(r.Rows, map[string]any{
				"group": gp[0], "period": gp[1], "label": shown, "leads": n,
				"conversion_from_previous": ratio(n, prev), "conversion_from_captured": ratio(n, captured),
			})
			if label != Captured {
				prev = n
			}
		}
	}
	rank := func(m map[string]any) int {
		l := m["label"].(string)
		if l == "captured" {
			return -1
		}
		return slices.Index(labels, l)
	}
	sortRows(r.Rows, func(a, b map[string]any) int { return cmp.Compare(rank(a), rank(b)) })
	return r, nil
}

// ratio is n/of, rounded to 4 places; 0 when of is 0.
func ratio(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}

// histogram is counts by log bucket.
type histogram map[int]int64

// quantile returns the duration under which a share q of the histogram's
// values fall, interpolating geometrically within a bucket.
func (h histogram) quantile(q float64) time.Duration {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	buckets := make([]int, 0, len(h))
	for b := range h {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	target := q * float64(total)
	var seen float64
	for _, b := range buckets {
		n := float64(h[b])
		if seen+n >= target {
			lo, hi := bucketBounds(b)
			f := (target - seen) / n
			if lo <= 0 {
				return time.Duration(f * float64(hi))
			}
			return time.Duration(float64(lo) * math.Pow(float64(hi)/float64(lo), f)).Round(time.Second)
		}
		seen += n
	}
	_, hi := bucketBounds(buckets[len(buckets)-1])
	return hi
}

func (h histogram) total() int64 {
	var t int64
	for _, n := range h {
		t += n
	}
	return t
}

// Velocity gives, per group and period, how long leads took from capture
// to each lifecycle label (p50, p90, by capture day), and how long stays
// in each stage lasted (by the day they ended).
func Velocity(ctx context.Context, src Source, q Query, labels []string) (*Report, error) {
	r := header("velocity", q, "Time from capture to first reaching each lifecycle label, for leads captured in the window; and the length of stays in each stage that ended in the window. p50 and p90 in seconds (and as text), within 19% (log-scale buckets).",
		"group", "period", "kind", "name", "count", "p50_seconds", "p90_seconds", "p50", "p90")
	hists := map[[4]string]histogram{}
	add := func(kind string) func(c *counter) {
		return func(c *counter) {
			if len(c.rest) != 2 {
				return
			}
			bucket, err := strconv.Atoi(c.rest[1])
			if err != nil {
				return
			}
			k := [4]string{c.group, c.period, kind, c.rest[0]}
			h := hists[k]
			if h == nil {
				h = histogram{}
				hists[k] = h
			}
			h[bucket] += c.n
		}
	}
	if err := scan(ctx, src, "v", q, add("label")); err != nil {
		return nil, err
	}
	if err := scan(ctx, src, "t", q, add("stage")); err != nil {
		return nil, err
	}
	for k, h := range hists {
		p50, p90 := h.quantile(0.5), h.quantile(0.9)
		r.Rows = append(r.Rows, map[string]any{
			"group": k[0], "period": k[1], "kind": k[2], "name": k[3], "count": h.total(),
			"p50_seconds": p50.Seconds(), "p90_seconds": p90.Seconds(), "p50": Human(p50), "p90": Human(p90),
		})
	}
	sortRows(r.Rows, func(a, b map[string]any) int {
		rank := func(m map[string]any) int {
			if m["kind"] == "label" {
				return slices.Index(labels, m["name"].(string))
			}
			return 1000
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a["name"].(string), b["name"].(string)))
	})
	return r, nil
}

// Human writes a duration as people read it: 45s, 12m, 3h5m, 2d4h.
func Human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// SLA counts SLA outcomes per group, period, SLA and stage; attainment is
// met / (met + breached): exempt ones (left through an exception, an
// override or while stuck) count for neither.
func SLA(ctx context.Context, src Source, q Query) (*Report, error) {
	r := header("sla", q, "SLA outcomes in the window: met, warned (a warning fired), breached, and exempt (the lead left the stage through an exception, an override or while stuck, before the SLA was met or breached). Attainment is met / (met + breached). by also takes owner and team.",
		"group", "period", "sla", "stage", "met", "warned", "breached", "exempt", "attainment")
	rows := map[rowKey]map[string]any{}
	err := scan(ctx, src, "s", q, func(c *counter) {
		if len(c.rest) != 3 {
			return
		}
		k := rowKey{c.group, c.period, c.rest[0] + "\x00" + c.rest[1]}
		row := rows[k]
		if row == nil {
			row = map[string]any{"group": c.group, "period": c.period, "sla": c.rest[0], "stage": c.rest[1],
				"met": int64(0), "warned": int64(0), "breached": int64(0), Exempt: int64(0)}
			rows[k] = row
		}
		if out := c.rest[2]; row[out] != nil {
			row[out] = row[out].(int64) + c.n
		}
	})
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		row["attainment"] = ratio(row["met"].(int64), row["met"].(int64)+row["breached"].(int64))
		r.Rows = append(r.Rows, row)
	}
	sortRows(r.Rows, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(a["sla"].(string), b["sla"].(string)), cmp.Compare(a["stage"].(string), b["stage"].(string)))
	})
	return r, nil
}

// AgeBuckets are the aging report's columns: how long leads have been in
// their stage, by whole days.
var AgeBuckets = []struct {
	Name     string
	MaxDays  int // exclusive; 0: no bound
	FromDays int
}{{"0-1d", 1, 0}, {"1-3d", 3, 1}, {"3-7d", 7, 3}, {"7-30d", 30, 7}, {"30d+", 0, 30}}

// Aging counts the leads now in each non-terminal stage, per group, by
// how long they have been there (the days since they entered it, on
// now's date). The window does not apply: it is the present.
func Aging(ctx context.Context, src Source, q Query, now time.Time) (*Report, error) {
	cs, err := aging(ctx, src, q)
	if err != nil {
		return nil, err
	}
	cols := []string{"group", "stage", "leads"}
	for _, b := range AgeBuckets {
		cols = append(cols, b.Name)
	}
	r := header("aging", q, "Leads now in each non-terminal stage, by the whole days since they entered it (on today's date, UTC).", cols...)
	r.From, r.To, r.Interval = "", day(now), ""
	today, _ := time.Parse(time.DateOnly, day(now))
	rows := map[[2]string]map[string]any{}
	for _, c := range cs {
		k := [2]string{c.group, c.rest[0]}
		row := rows[k]
		if row == nil {
			row = map[string]any{"group": c.group, "stage": c.rest[0], "leads": int64(0)}
			for _, b := range AgeBuckets {
				row[b.Name] = int64(0)
			}
			rows[k] = row
		}
		age := int(today.Sub(c.day).Hours() / 24)
		for _, b := range AgeBuckets {
			if age >= b.FromDays && (b.MaxDays == 0 || age < b.MaxDays) {
				row[b.Name] = row[b.Name].(int64) + c.n
			}
		}
		row["leads"] = row["leads"].(int64) + c.n
	}
	for _, row := range rows {
		if row["leads"].(int64) != 0 {
			r.Rows = append(r.Rows, row)
		}
	}
	sortRows(r.Rows, func(a, b map[string]any) int { return cmp.Compare(a["stage"].(string), b["stage"].(string)) })
	return r, nil
}

// aging reads the aging counters (a/WF/DIM/STAGE/DAY, every day: they
// are the present) of q's workflows and breakdown; rest is [STAGE].
func aging(ctx context.Context, src Source, q Query) ([]counter, error) {
	var out []counter
	ds := days{}
	for _, wf := range q.workflows() {
		segs, err := segmentsFor(ctx, src, wf, q.By)
		if err != nil {
			return nil, err
		}
		for _, seg := range segs {
			err := counters(ctx, src, name("a", wf, seg)+"/", func(key string, n int64) {
				parts := split(key)
				if len(parts) != 5 {
					return
				}
				if d, ok := ds.parse(parts[4]); ok {
					out = append(out, counter{day: d.t, group: groupOf(seg), workflow: wf, n: n, rest: parts[3:4]})
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Owners reports each team member's load and activity: open leads now
// (rotation's counts), their team's strategy, weight and capacity, and
// in the window the leads assigned to them and the events their leads
// received, with accepted / (accepted + rejected) where both events
// exist. open holds the open leads per owner (routing state).
func Owners(ctx context.Context, src Source, q Query, machines []*engine.Machine, open map[string]int) (*Report, error) {
	var cs []counter
	for _, wf := range q.workflows() {
		base := name("o", wf) + "/"
		err := src.Counters(ctx, base+day(q.From), base+day(q.To)+"0", func(key string, n int64) {
			if parts := split(key); len(parts) == 5 {
				cs = append(cs, counter{workflow: wf, n: n, rest: parts[3:]})
			}
		})
		if err != nil {
			return nil, err
		}
	}
	r := header("owners", q, "Per team member: open leads now, weight and capacity from the workflow, and in the window the leads assigned to them and the events their leads received; accept_rate is accepted / (accepted + rejected).",
		"owner", "team", "strategy", "weight", "capacity", "open", "assigned", "events", "accept_rate")
	rows := map[string]map[string]any{}
	row := func(owner string) map[string]any {
		if rows[owner] == nil {
			rows[owner] = map[string]any{"owner": owner, "team": "", "strategy": "", "weight": 0, "capacity": 0,
				"open": open[owner], "assigned": int64(0), "events": map[string]int64{}}
		}
		return rows[owner]
	}
	for _, m := range machines {
		if q.Workflow != "" && m.W.Name != q.Workflow {
			continue
		}
		for _, t := range m.W.Teams {
			for _, mem := range t.Members {
				rw := row(mem.Email)
				rw["team"], rw["strategy"], rw["weight"], rw["capacity"] = t.Name, t.Strategy, mem.Weight, t.CapacityOf(&mem)
			}
		}
	}
	for _, c := range cs {
		owner, what := c.rest[0], c.rest[1]
		rw := row(owner)
		if what == "assigned" {
			rw["assigned"] = rw["assigned"].(int64) + c.n
		} else if ev, ok := strings.CutPrefix(what, "event:"); ok {
			rw["events"].(map[string]int64)[ev] += c.n
		}
	}
	for _, rw := range rows {
		ev := rw["events"].(map[string]int64)
		rw["accept_rate"] = ratio(ev["accepted"], ev["accepted"]+ev["rejected"])
		r.Rows = append(r.Rows, rw)
	}
	slices.SortFunc(r.Rows, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(a["team"].(string), b["team"].(string)), cmp.Compare(a["owner"].(string), b["owner"].(string)))
	})
	return r, nil
}

// OpenLeads counts the leads now in each non-terminal stage of the
// workflows, by workflow and stage, from the aging counters (for the
// Prometheus gauges).
func OpenLeads(ctx context.Context, src Source, workflows []string) (map[[2]string]int64, error) {
	cs, err := aging(ctx, src, Query{Workflows: workflows})
	if err != nil {
		return nil, err
	}
	out := map[[2]string]int64{}
	for _, c := range cs {
		out[[2]string{c.workflow, c.rest[0]}] += c.n
	}
	for k, n := range out {
		if n == 0 {
			delete(out, k)
		}
	}
	return out, nil
}
