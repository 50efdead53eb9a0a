package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/internal/suggest"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// Filter selects leads, for a list or a bulk action. Empty fields match
// every lead. Workflow, stage, owner and stuck are read from the store's
// indexes; lifecycle, SLA state and age are checked on each lead the
// indexes give.
type Filter struct {
	Workflow  string `json:"workflow,omitempty"`
	Stage     string `json:"stage,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Lifecycle string `json:"lifecycle,omitempty"`
	Stuck     *bool  `json:"stuck,omitempty"`
	// SLA is an SLA state (running, warned, breached, met): leads with an
	// SLA of their current stage in that state.
	SLA string `json:"sla,omitempty"`
	// MinAge keeps leads that have been in their stage at least this long.
	MinAge time.Duration `json:"-"`
}

// ParseAge reads a minimum age (Filter.MinAge) written as a Lead
// duration: 90m, 4h, 2d, 1w.
func ParseAge(s string) (time.Duration, error) { return ir.ParseDuration(s) }

// SLAStates are the states Filter.SLA takes.
var SLAStates = []string{engine.SLARunning, engine.SLAWarned, engine.SLABreached, engine.SLAMet}

// empty reports whether the filter matches every lead.
func (f Filter) empty() bool { return f == Filter{} }

// check returns what is wrong with the filter: names the store cannot
// hold, a workflow that is not served, a lifecycle no stage has.
func (s *Service) check(f Filter) error {
	for _, c := range []struct{ what, v string }{{"workflow", f.Workflow}, {"stage", f.Stage}, {"owner", f.Owner}, {"lifecycle", f.Lifecycle}} {
		if msg := checkName(c.v); msg != "" {
			return fmt.Errorf("%w: %s %s", ErrBadRequest, c.what, msg)
		}
	}
	if f.Workflow != "" && !slices.Contains(s.reg.names(), f.Workflow) {
		return s.noWorkflow(f.Workflow)
	}
	if f.SLA != "" && !slices.Contains(SLAStates, f.SLA) {
		return fmt.Errorf("%w: sla %q is not an SLA state: use %s", ErrBadRequest, f.SLA, strings.Join(SLAStates, ", "))
	}
	if f.MinAge < 0 {
		return fmt.Errorf("%w: min_age must not be negative", ErrBadRequest)
	}
	if f.Stage != "" {
		if err := s.checkStage(f.Workflow, f.Stage); err != nil {
			return err
		}
	}
	if f.Lifecycle != "" {
		var known []string
		for _, m := range s.reg.machinesOf(f.Workflow) {
			for i := range m.W.Stages {
				if lc := m.W.Stages[i].Lifecycle; lc != "" && !slices.Contains(known, lc) {
					known = append(known, lc)
				}
			}
		}
		if !slices.Contains(known, f.Lifecycle) {
			if len(known) == 0 {
				return fmt.Errorf("%w: no stage has the lifecycle %q: the workflows declare no lifecycles", ErrBadRequest, f.Lifecycle)
			}
			slices.Sort(known)
			near := ""
			if n := suggest.Nearest(f.Lifecycle, known); n != "" {
				near = fmt.Sprintf(" (did you mean %q?)", n)
			}
			return fmt.Errorf("%w: no stage has the lifecycle %q%s; the lifecycles are %s", ErrBadRequest, f.Lifecycle, near, strings.Join(known, ", "))
		}
	}
	return nil
}

// checkStage refuses a stage that no loaded version of the workflow (of
// any workflow, for "") has: a typo would match no lead, silently.
func (s *Service) checkStage(workflow, stage string) error {
	var names []string
	for _, m := range s.reg.machinesOf(workflow) {
		if m.Stage(stage) != nil {
			return nil
		}
		for i := range m.W.Stages {
			if n := m.W.Stages[i].Name; !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	near := ""
	if n := suggest.Nearest(stage, names); n != "" {
		near = fmt.Sprintf(" (did you mean %q?)", n)
	}
	if workflow == "" {
		return fmt.Errorf("%w: no workflow has a stage %q%s", ErrBadRequest, stage, near)
	}
	return fmt.Errorf("%w: workflow %s has no stage %q%s; its stages are %s", ErrBadRequest, workflow, stage, near, strings.Join(names, ", "))
}

// Leads returns a page of at most limit leads matching f, in id order,
// and the cursor of the next page ("" at the end). The filters the
// store's indexes do not hold (lifecycle, SLA state, age) are checked on
// the store's page, so with one a page may hold fewer than limit leads
// (even none) before the end: follow next_cursor until it is "".
func (s *Service) Leads(ctx context.Context, f Filter, limit int, cursor string) ([]LeadView, string, error) {
	if err := s.check(f); err != nil {
		return nil, "", err
	}
	if cursor != "" && !validCursor(cursor) {
		return nil, "", badCursor(cursor)
	}
	out := []LeadView{}
	next, err := s.scan(ctx, f, limit, cursor, func(v LeadView) { out = append(out, v) })
	return out, next, err
}

func badCursor(c string) error {
	return fmt.Errorf("%w: cursor %q is not a cursor from this API: pass next_cursor of the previous page unchanged", ErrBadRequest, c)
}

// scan calls fn, in id order, for each lead matching f in one page of
// the store's index (limit leads from cursor; limit <= 0: every page),
// and returns the next page's cursor. Leads are read as committed.
func (s *Service) scan(ctx context.Context, f Filter, limit int, cursor string, fn func(LeadView)) (string, error) {
	q := store.Query{Workflow: f.Workflow, Stage: f.Stage, Owner: f.Owner, Stuck: f.Stuck, Limit: limit, Cursor: cursor}
	if limit <= 0 {
		q.Limit = 1000
	}
	now := s.clock()
	for {
		page, next, err := s.st.Leads(ctx, q)
		if err != nil {
			return "", err
		}
		for _, sl := range page {
			m := s.reg.machine(sl.Version)
			if m == nil {
				return "", fmt.Errorf("lead %s runs on version %s, which is not loaded", sl.ID, sl.Version)
			}
			l, err := decodeLead(m, sl.Data)
			if err != nil {
				return "", fmt.Errorf("lead %s: %w", sl.ID, err)
			}
			if v := View(m, l); f.matches(v, now) {
				fn(v)
			}
		}
		if limit > 0 || next == "" {
			return next, nil
		}
		q.Cursor = next
	}
}

// matches checks the filters the store's indexes do not hold.
func (f Filter) matches(v LeadView, now time.Time) bool {
	if f.Lifecycle != "" && v.Lifecycle != f.Lifecycle {
		return false
	}
	if f.MinAge > 0 && now.Sub(v.EnteredAt) < f.MinAge {
		return false
	}
	if f.SLA != "" {
		return slices.ContainsFunc(v.SLAs, func(s SLAView) bool { return s.State == f.SLA })
	}
	return true
}

// The orders of a list (ListQuery.Sort).
const (
	SortID       = "id"       // by lead id: pages follow the store's index
	SortDeadline = "deadline" // leads with an open SLA, nearest deadline first
	SortAge      = "age"      // longest in their stage first
)

// ListQuery asks for a page of leads.
type ListQuery struct {
	Filter
	Sort   string // SortID (""), SortDeadline or SortAge
	Limit  int
	Cursor string
}

// ListPage is a page of leads, the cursor of the next one ("" at the
// end), and how many leads match in all. In id order the total is
// counted for the first page only (no cursor), so that paging through a
// large list reads it once, not once a page.
type ListPage struct {
	Leads      []LeadView `json:"leads"`
	NextCursor string     `json:"next_cursor"`
	Total      *int       `json:"total,omitempty"`
}

// List answers a page of leads in the order asked, with the total. The
// total, and every page in an order other than id, read each lead the
// indexes select (by workflow, stage, owner, stuck): O(those leads).
func (s *Service) List(ctx context.Context, q ListQuery) (ListPage, error) {
	switch q.Sort {
	case "", SortID:
		if err := s.check(q.Filter); err != nil {
			return ListPage{}, err
		}
		page, next, err := s.Leads(ctx, q.Filter, q.Limit, q.Cursor)
		if err != nil {
			return ListPage{}, err
		}
		p := ListPage{Leads: page, NextCursor: next}
		if q.Cursor == "" {
			total := 0
			if _, err := s.scan(ctx, q.Filter, 0, "", func(LeadView) { total++ }); err != nil {
				return ListPage{}, err
			}
			p.Total = &total
		}
		return p, nil
	case SortDeadline, SortAge:
	default:
		return ListPage{}, fmt.Errorf("%w: sort %q: sort by %s, %s or %s", ErrBadRequest, q.Sort, SortID, SortDeadline, SortAge)
	}
	if err := s.check(q.Filter); err != nil {
		return ListPage{}, err
	}
	after, err := decodeSortCursor(q.Cursor)
	if err != nil {
		return ListPage{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	// Only the first limit+1 leads after the cursor are kept: the list is
	// cut back to them whenever it doubles, so memory stays O(limit).
	type keyed struct {
		k sortKey
		v LeadView
	}
	var top []keyed
	trim := func() {
		slices.SortFunc(top, func(a, b keyed) int { return a.k.compare(b.k) })
		top = top[:min(len(top), limit+1)]
	}
	total := 0
	if _, err := s.scan(ctx, q.Filter, 0, "", func(v LeadView) {
		k, ok := keyOf(q.Sort, v)
		if !ok {
			return
		}
		total++
		if after != nil && !after.before(k) {
			return
		}
		if top = append(top, keyed{k, v}); len(top) >= 2*(limit+1) {
			trim()
		}
	}); err != nil {
		return ListPage{}, err
	}
	trim()
	p := ListPage{Leads: []LeadView{}, Total: &total}
	for _, t := range top[:min(limit, len(top))] {
		p.Leads = append(p.Leads, t.v)
	}
	if len(top) > limit {
		p.NextCursor = top[limit-1].k.encode()
	}
	return p, nil
}

// sortKey is a lead's place in a sorted list: a time, then its id.
type sortKey struct {
	at time.Time
	id string
}

// keyOf is a lead's sort key; a lead without an open SLA has none by
// deadline, and is not listed.
func keyOf(sort string, v LeadView) (sortKey, bool) {
	if sort == SortAge {
		return sortKey{v.EnteredAt, v.ID}, true
	}
	var at time.Time
	for _, sla := range v.SLAs {
		if (sla.State == engine.SLARunning || sla.State == engine.SLAWarned) && (at.IsZero() || sla.Deadline.Before(at)) {
			at = sla.Deadline
		}
	}
	return sortKey{at, v.ID}, !at.IsZero()
}

func (k sortKey) compare(o sortKey) int {
	if c := k.at.Compare(o.at); c != 0 {
		return c
	}
	return strings.Compare(k.id, o.id)
}

func (k sortKey) before(o sortKey) bool { return k.compare(o) < 0 }

// encode writes the key as a cursor: the next page starts after it.
func (k sortKey) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.at.UnixNano(), 10) + "/" + k.id))
}

func decodeSortCursor(c string) (*sortKey, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	ns, id, ok := strings.Cut(string(b), "/")
	n, perr := strconv.ParseInt(ns, 10, 64)
	if err != nil || !ok || perr != nil || checkName(id) != "" {
		return nil, badCursor(c)
	}
	return &sortKey{time.Unix(0, n), id}, nil
}

// noWorkflow explains why a workflow takes no leads: it has never
// compiled (with its errors), or it is not served (with the served
// workflows and the nearest name).
func (s *Service) noWorkflow(name string) error {
	var served []string
	for _, w := range s.reg.infos() {
		if w.Name == name {
			var ps []Problem
			for _, d := range w.LastReload.Diagnostics {
				if d.Severity == "error" {
					ps = append(ps, Problem{Field: "workflow", Message: fmt.Sprintf("%s:%d:%d: %s[%s]: %s", d.File, d.Line, d.Column, d.Severity, d.Code, d.Message)})
				}
			}
			return &InputError{Message: fmt.Sprintf("workflow %s has errors; no version was ever active: fix them and save the file", name), Problems: ps}
		}
		if w.Active != "" {
			served = append(served, w.Name)
		}
	}
	msg := fmt.Sprintf("%q", name)
	if near := suggest.Nearest(name, served); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	switch len(served) {
	case 0:
		msg += "; this server serves no workflow"
	default:
		msg += "; the served workflows are " + strings.Join(served, ", ")
	}
	return fmt.Errorf("%w %s", ErrUnknownWorkflow, msg)
}
