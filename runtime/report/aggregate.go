// Package report measures the lead process: it turns each committed step
// into increments of the counters a store keeps with the step (Counts),
// and those counters into reports (funnel, velocity, SLA attainment,
// aging, owner load). A report reads counters by prefix, so its cost is
// O(stages × days × groups), never O(leads).
//
// What is counted, per workflow, with every counter written once in total
// ("*") and once for each dimension of the lead (its enum fields, and its
// string fields up to MaxValues distinct values each of at most
// MaxValueBytes; beyond, "(other)"):
//
//	f/WF/DIM/DAY/LABEL           leads captured on DAY that reached lifecycle LABEL, once per
//	                             lead however often it came back; LABEL "_captured" counts them all
//	v/WF/DIM/DAY/LABEL/BUCKET    of those, how long from capture to LABEL (log-scale buckets)
//	t/WF/DIM/DAY/STAGE/BUCKET    stays in STAGE that ended on DAY, by their length
//	s/WF/DIM/DAY/SLA/STAGE/OUT   SLA outcomes on DAY: met, warned, breached, or exempt (the
//	                             lead left through an exception, an override or while stuck);
//	                             DIM also takes owner=… and team=…
//	a/WF/DIM/STAGE/DAY           leads now in a non-terminal STAGE that entered it on DAY (a
//	                             gauge: each step adds its new state and removes its old one)
//	o/WF/DAY/OWNER/WHAT          assignments to OWNER (assigned) and events of their leads
//	                             (event:NAME) on DAY
//	d/WF/FIELD/VALUE             each value of a dimension field counted (1)
//
// v/ and t/ are also kept per week: the same names with DAY replaced by
// "w" and the week's Monday (v/WF/DIM/w2026-11-30/LABEL/BUCKET). Their
// buckets multiply the names a day holds, so a velocity report over a
// year reads the weeks the window covers whole, and days only at its
// edges: about a seventh of the names.
//
// The dimension and the day lead the names, so a report over a window
// reads one range of names per dimension value: O(days × what a day
// holds), however long the store's history.
// Days are UTC dates; the funnel and velocity count by capture day (a
// cohort: of the leads captured in a window, how many got how far, how
// fast), the rest by the day the thing happened. A dimension takes the
// lead's value at the step, so a lead whose region changes is counted
// under its new region from then on.
package report

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
)

// MaxValues bounds the distinct values of a string field counted as
// dimensions: an email field would otherwise make a counter per lead.
const MaxValues = 100

// MaxValueBytes bounds the length of a string value counted as a
// dimension: a longer one (a note, a description) names no group and
// would make a counter's key as long as itself. It counts as Other.
const MaxValueBytes = 64

// Other is the dimension value of a string field's values past MaxValues
// or longer than MaxValueBytes.
const Other = "(other)"

// Captured is the funnel's first step: every lead captured.
const Captured = "_captured"

// Exempt is the SLA outcome of an SLA still running when the lead left
// its stage through an exception, an override or while stuck: its owner
// neither met nor missed it (the engine records it, engine.SLAExempt).
const Exempt = engine.SLAExempt

// name joins the parts of a counter's name, each escaped (as
// url.PathEscape escapes) so that no part holds a separator. It is on the
// commit path of every step: the parts are appended to one buffer and
// only the name is allocated.
func name(parts ...string) string {
	var buf [128]byte
	b := buf[:0]
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendPart(b, p)
	}
	return string(b)
}

// plain holds the bytes url.PathEscape leaves as they are, taken from it
// so that the two never disagree: most parts (identifiers, dates,
// numbers, FIELD=VALUE) are plain and need no escaped copy.
var plain = func() (t [256]bool) {
	for c := range t {
		s := string([]byte{byte(c)})
		t[c] = url.PathEscape(s) == s
	}
	return t
}()

// appendPart appends p to b escaped as url.PathEscape escapes a path
// segment: each byte that is not plain as %XX. Most parts (identifiers,
// dates, numbers, FIELD=VALUE) are plain and are appended as they are.
func appendPart(b []byte, p string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		if c := p[i]; plain[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// day is a time's UTC date.
func day(t time.Time) string { return string(t.UTC().AppendFormat(make([]byte, 0, 10), time.DateOnly)) }

// monday is the Monday of t's UTC week.
func monday(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	return time.Date(y, m, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
}

// week names the week of t's UTC date in the weekly counters: "w" and
// its Monday.
func week(t time.Time) string { return "w" + day(monday(t)) }

// dayNames holds the names of recent days: nearly every step is counted
// under today and a few capture and entry days, so their names are made
// once, not at every step. A slot holds one day; a miss makes the names.
var dayNames [16]atomic.Pointer[dayName]

type dayName struct {
	n         int64 // days since 1970-01-01
	day, week string
}

// names returns the names of t's UTC day and week.
func names(t time.Time) *dayName {
	sec := t.Unix()
	n := sec / 86400
	if sec%86400 < 0 {
		n--
	}
	slot := &dayNames[uint64(n)%uint64(len(dayNames))]
	if d := slot.Load(); d != nil && d.n == n {
		return d
	}
	d := &dayName{n: n, day: day(t), week: week(t)}
	slot.Store(d)
	return d
}

// Bucket is a duration's log-scale bucket: 0 for under a second, else b
// such that 2^((b-1)/4) <= seconds < 2^(b/4): four buckets per doubling,
// each within 19% of its neighbours.
func Bucket(d time.Duration) int {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return int(math.Floor(4*math.Log2(s))) + 1
}

// bucketBounds returns the range of durations a bucket holds.
func bucketBounds(b int) (lo, hi time.Duration) {
	if b <= 0 {
		return 0, time.Second
	}
	sec := func(x float64) time.Duration { return time.Duration(math.Pow(2, x/4) * float64(time.Second)) }
	return sec(float64(b - 1)), sec(float64(b))
}

// Dims decides the dimensions of leads: the enum fields, and the string
// fields' values up to MaxValues per field and workflow. It is safe for
// concurrent use.
type Dims struct {
	mu   sync.Mutex
	seen map[[2]string]map[string]string // workflow, field → value counted → its segment FIELD=VALUE
}

// NewDims returns Dims that know the string values already counted, from
// the d/ counters.
func NewDims(counters map[string]int64) *Dims {
	d := &Dims{seen: map[[2]string]map[string]string{}}
	for k := range counters {
		parts := split(k)
		if len(parts) == 4 && parts[0] == "d" {
			key := [2]string{parts[1], parts[2]}
			if d.seen[key] == nil {
				d.seen[key] = map[string]string{}
			}
			d.seen[key][parts[3]] = parts[2] + "=" + parts[3]
		}
	}
	return d
}

// split is the inverse of name.
func split(k string) []string { return splitInto(nil, k) }

// splitInto is split appending to parts.
func splitInto(parts []string, k string) []string {
	for {
		p, rest, more := strings.Cut(k, "/")
		parts = append(parts, p)
		if !more {
			break
		}
		k = rest
	}
	for i, p := range parts {
		if strings.IndexByte(p, '%') < 0 {
			continue
		}
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

// segments returns the dimension segments of a lead: "*", and FIELD=VALUE
// for each dimension field with a value. A value seen for the first time
// is recorded in counts (d/, so that a report can list a field's values);
// a string field's values past MaxValues are taken as Other.
func (d *Dims) segments(m *engine.Machine, l *engine.Lead, counts map[string]int64) []string {
	segs := []string{"*"}
	for _, f := range m.W.Lead {
		if f.Type.Kind != ir.Enum && f.Type.Kind != ir.String {
			continue
		}
		v, ok := m.FieldValue(l, f.Name)
		s, isString := v.(string)
		if !ok || !isString {
			continue
		}
		segs = append(segs, d.admit(l.Workflow, f.Name, s, f.Type.Kind == ir.String, counts))
	}
	return segs
}

// admit returns the segment FIELD=VALUE of a field's value, recording
// the value in counts (d/) the first time: a string field's (capped)
// past MaxValues values or beyond MaxValueBytes count as Other; an
// enum's, and owners and teams, as they are (the workflow bounds them).
// The segment is made once per value, not per step.
func (d *Dims) admit(wf, field, v string, capped bool, counts map[string]int64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := [2]string{wf, field}
	seen := d.seen[key]
	if seg, ok := seen[v]; ok {
		return seg
	}
	if capped && (len(seen) >= MaxValues || len(v) > MaxValueBytes) {
		v = Other
		if seg, ok := seen[v]; ok {
			return seg
		}
	}
	if seen == nil {
		seen = map[string]string{}
		d.seen[key] = seen
	}
	seg := field + "=" + v
	seen[v] = seg
	if counts != nil {
		counts[name("d", wf, field, v)]++
	}
	return seg
}

// Counts returns the counter increments of a committed step: r's result
// on machine m, from prev (nil for a capture) on machine pm, which differs
// from m when the step moves the lead to another version of its workflow.
func (d *Dims) Counts(m *engine.Machine, r *engine.Result, pm *engine.Machine, prev *engine.Lead) map[string]int64 {
	l, e := r.Lead, &r.Entry
	wf := l.Workflow
	counts := make(map[string]int64, 16)
	segs := d.segments(m, l, counts)
	c, t := names(l.CreatedAt), names(e.At)
	created, today, createdWeek, thisWeek := c.day, t.day, c.week, t.week

	// Funnel and velocity: the labels first reached in this step.
	if prev == nil {
		for _, s := range segs {
			counts[name("f", wf, s, created, Captured)]++
		}
	}
	for label, at := range l.Reached {
		if prev != nil {
			if _, before := prev.Reached[label]; before {
				continue
			}
		}
		b := strconv.Itoa(Bucket(at.Sub(l.CreatedAt)))
		for _, s := range segs {
			counts[name("f", wf, s, created, label)]++
			counts[name("v", wf, s, created, label, b)]++
			counts[name("v", wf, s, createdWeek, label, b)]++
		}
	}

	// Stays that ended: the stage the lead was in, then any it passed
	// through within the step.
	for i, mv := range e.Moves {
		if mv.From == "" {
			continue
		}
		var stay time.Duration
		if i == 0 && prev != nil {
			stay = e.At.Sub(prev.EnteredAt)
		}
		b := strconv.Itoa(Bucket(stay))
		for _, s := range segs {
			counts[name("t", wf, s, today, mv.From, b)]++
			counts[name("t", wf, s, thisWeek, mv.From, b)]++
		}
	}

	// SLA outcomes, by owner and team too.
	for _, o := range e.SLAs {
		out := o.State
		switch out {
		case engine.SLAMet, engine.SLAWarned, engine.SLABreached, engine.SLAExempt:
		default:
			continue
		}
		ss := segs
		if l.Owner != "" {
			ss = append(ss[:len(ss):len(ss)], d.admit(wf, "owner", l.Owner, false, counts))
		}
		if team := stageTeam(m, o.Stage); team != "" {
			ss = append(ss[:len(ss):len(ss)], d.admit(wf, "team", team, false, counts))
		}
		for _, s := range ss {
			counts[name("s", wf, s, today, o.Name, o.Stage, out)]++
		}
	}

	// Aging: the gauge of the new state, less the old one's.
	gauge := func(m *engine.Machine, l *engine.Lead, segs []string, delta int64) {
		if st := m.Stage(l.Stage); st == nil || st.Terminal {
			return
		}
		entered := names(l.EnteredAt).day
		for _, s := range segs {
			counts[name("a", wf, s, l.Stage, entered)] += delta
		}
	}
	gauge(m, l, segs, 1)
	if prev != nil {
		gauge(pm, prev, d.segments(pm, prev, nil), -1)
	}

	// Owners: assignments, and the events their leads received.
	if l.Owner != "" && (prev == nil || prev.Owner != l.Owner) {
		counts[name("o", wf, today, l.Owner, "assigned")]++
	}
	if prev != nil && prev.Owner != "" && e.Cause == engine.Event.String() && e.Event != "" {
		counts[name("o", wf, today, prev.Owner, "event:"+e.Event)]++
	}
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	return counts
}

// stageTeam is the team a stage routes its responsible owner to, if any.
func stageTeam(m *engine.Machine, stage string) string {
	st := m.Stage(stage)
	if st == nil || st.Owner.Responsible == nil {
		return ""
	}
	if r := st.Owner.Responsible; r.Kind == ir.AssignTeam {
		return r.Name
	}
	return ""
}
