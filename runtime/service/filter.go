package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// Filter selects leads, for a list or a bulk action. Empty fields match
// every lead.
type Filter struct {
	Workflow  string `json:"workflow,omitempty"`
	Stage     string `json:"stage,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Lifecycle string `json:"lifecycle,omitempty"`
	Stuck     *bool  `json:"stuck,omitempty"`
}

// empty reports whether the filter matches every lead.
func (f Filter) empty() bool {
	return f.Workflow == "" && f.Stage == "" && f.Owner == "" && f.Lifecycle == "" && f.Stuck == nil
}

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
			if n := lang.Suggest(f.Lifecycle, known); n != "" {
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
	if n := lang.Suggest(stage, names); n != "" {
		near = fmt.Sprintf(" (did you mean %q?)", n)
	}
	if workflow == "" {
		return fmt.Errorf("%w: no workflow has a stage %q%s", ErrBadRequest, stage, near)
	}
	return fmt.Errorf("%w: workflow %s has no stage %q%s; its stages are %s", ErrBadRequest, workflow, stage, near, strings.Join(names, ", "))
}

// Leads returns a page of at most limit leads matching f, in id order,
// and the cursor of the next page ("" at the end). A lifecycle is
// matched against each lead's stage, after the store's page is read, so
// with one a page may hold fewer than limit leads (even none) before the
// end: follow next_cursor until it is "".
func (s *Service) Leads(ctx context.Context, f Filter, limit int, cursor string) ([]LeadView, string, error) {
	if err := s.check(f); err != nil {
		return nil, "", err
	}
	q := store.Query{Workflow: f.Workflow, Stage: f.Stage, Owner: f.Owner, Stuck: f.Stuck, Limit: limit, Cursor: cursor}
	if q.Cursor != "" && !validCursor(q.Cursor) {
		return nil, "", fmt.Errorf("%w: cursor %q is not a cursor from this API: pass next_cursor of the previous page unchanged", ErrBadRequest, q.Cursor)
	}
	page, next, err := s.st.Leads(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := []LeadView{}
	for _, sl := range page {
		v, err := s.Lead(ctx, sl.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		if f.Lifecycle == "" || v.Lifecycle == f.Lifecycle {
			out = append(out, v)
		}
	}
	return out, next, nil
}

// noWorkflow explains why a workflow takes no leads: it has never
// compiled (with its errors), or it is not served (with the served
// workflows and the nearest name).
func (s *Service) noWorkflow(name string) error {
	var served []string
	for _, w := range s.reg.infos() {
		if w.Name == name {
			var ps []engine.Problem
			for _, d := range w.LastReload.Diagnostics {
				if d.Severity == "error" {
					ps = append(ps, engine.Problem{Field: "workflow", Message: fmt.Sprintf("%s:%d:%d: %s[%s]: %s", d.File, d.Line, d.Column, d.Severity, d.Code, d.Message)})
				}
			}
			return &engine.InputError{Message: fmt.Sprintf("workflow %s has errors; no version was ever active: fix them and save the file", name), Problems: ps}
		}
		if w.Active != "" {
			served = append(served, w.Name)
		}
	}
	msg := fmt.Sprintf("%q", name)
	if near := lang.Suggest(name, served); near != "" {
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
