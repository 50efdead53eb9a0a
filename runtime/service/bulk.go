package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/leadlang/lead/runtime/engine"
)

// A bulk action overrides or assigns every lead a filter matches, a page
// at a time. Each lead's change is one step of its own, atomic like any
// other: a lead that cannot take it is reported and left as it was, and
// the others go on. Every step carries the event id "bulk:ID", so running
// the same action again (after a client gave up, a 503 or a restart)
// applies it to each lead at most once: a lead it reached before is
// reported unchanged.
//
// The leads of a page are planned one after the other, in id order, so
// that a team's rotation hands them out in that order, the same every
// time; their steps then commit together, sharing group commits as
// concurrent requests do (up to bulkParallel in flight). A
// dry run applies no routing: where the change routes an owner (an
// override into a team's stage), the owners it shows are each the one
// the lead would get if it were alone.

// bulkParallel is how many steps of a page are in flight at once.
const bulkParallel = 32

// Bulk actions.
const (
	BulkOverride = "override"
	BulkAssign   = "assign"
)

// Bulk outcomes of one lead.
const (
	BulkChanged   = "changed"
	BulkUnchanged = "unchanged"
	BulkFailed    = "failed"
)

// BulkRequest is one page of a bulk action.
type BulkRequest struct {
	// ID names the action; its steps carry the event id "bulk:ID". A
	// dry run needs none.
	ID     string
	Action string // BulkOverride or BulkAssign
	Filter Filter
	Stage  string // override: the stage to move the leads to
	Owner  string // assign: the new owner
	Reason string
	Actor  string
	DryRun bool
	Limit  int
	Cursor string
}

// BulkResult is what one page of a bulk action did, or in a dry run would
// do: counts, and each lead matched with its outcome.
type BulkResult struct {
	ID         string     `json:"id"`
	DryRun     bool       `json:"dry_run"`
	Matched    int        `json:"matched"`
	Changed    int        `json:"changed"`
	Unchanged  int        `json:"unchanged"`
	Failed     int        `json:"failed"`
	Leads      []BulkLead `json:"leads"`
	NextCursor string     `json:"next_cursor"`
}

// BulkLead is one lead of a bulk action: where it was, where it is (or
// would be), and the outcome.
type BulkLead struct {
	ID       string     `json:"id"`
	Workflow string     `json:"workflow"`
	Outcome  string     `json:"outcome"`
	Note     string     `json:"note,omitempty"`
	From     BulkState  `json:"from"`
	To       *BulkState `json:"to,omitempty"`
	Problems []Problem  `json:"problems,omitempty"`
}

// BulkState is a lead's stage and owner.
type BulkState struct {
	Stage string `json:"stage"`
	Owner string `json:"owner"`
}

// Bulk runs one page of a bulk action. A request that is wrong as a whole
// (no filter, an unknown workflow or stage, no reason) is an
// *InputError or ErrBadRequest and changes nothing. If the service
// stops taking writes half way (disk space, shutdown), the error is
// returned: run the same request again to finish the page.
func (s *Service) Bulk(ctx context.Context, r BulkRequest) (BulkResult, error) {
	if err := s.checkBulk(&r); err != nil {
		return BulkResult{}, err
	}
	page, next, err := s.Leads(ctx, r.Filter, r.Limit, r.Cursor)
	if err != nil {
		return BulkResult{}, err
	}
	res := BulkResult{ID: r.ID, DryRun: r.DryRun, Matched: len(page), Leads: make([]BulkLead, len(page)), NextCursor: next}
	in := engine.Input{Kind: engine.Override, Stage: r.Stage, Reason: r.Reason, Actor: r.Actor}
	if r.Action == BulkAssign {
		in = engine.Input{Kind: engine.Assign, Owner: r.Owner, Reason: r.Reason, Actor: r.Actor}
	}
	if r.ID != "" {
		in.EventID = "bulk:" + r.ID
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, bulkParallel)
		mu    sync.Mutex
		stopE error // the service stopped taking writes
	)
	for i, v := range page {
		bl := &res.Leads[i]
		*bl = BulkLead{ID: v.ID, Workflow: v.Workflow, From: BulkState{Stage: v.Stage, Owner: v.Owner}}
		if r.Action == BulkAssign && v.Owner == r.Owner {
			bl.Outcome, bl.Note = BulkUnchanged, "already owned by "+r.Owner
			continue
		}
		// Planned one by one in the page's order, so that a round-robin
		// team hands its members out in lead-id order; committed together.
		sem <- struct{}{}
		pl := s.plan(ctx, v.ID, "", in, nil, r.DryRun)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o, err := s.finish(ctx, pl)
			var ie *InputError
			switch {
			case errors.As(err, &ie):
				bl.Outcome, bl.Note, bl.Problems = BulkFailed, ie.Message, ie.Problems
			case errors.Is(err, ErrNotOwner):
				// Another node steps it (a cluster): that node's share of
				// the action is for it.
				bl.Outcome, bl.Note = BulkFailed, err.Error()
			case err != nil:
				mu.Lock()
				if stopE == nil {
					stopE = err
				}
				mu.Unlock()
			case o.duplicate:
				bl.Outcome, bl.Note = BulkUnchanged, fmt.Sprintf("already changed by bulk action %s", r.ID)
			default:
				bl.Outcome = BulkChanged
				bl.To = &BulkState{Stage: o.view.Stage, Owner: o.view.Owner}
			}
		}()
	}
	wg.Wait()
	if stopE != nil {
		return BulkResult{}, fmt.Errorf("%w (the bulk action stopped part way through a page: run it again with the same id and cursor to finish it; leads it changed are not changed twice)", stopE)
	}
	for _, bl := range res.Leads {
		switch bl.Outcome {
		case BulkChanged:
			res.Changed++
		case BulkUnchanged:
			res.Unchanged++
		case BulkFailed:
			res.Failed++
		}
	}
	return res, nil
}

// checkBulk checks a bulk request as a whole, and gives it an id if it
// applies changes and has none.
func (s *Service) checkBulk(r *BulkRequest) error {
	if r.Filter.empty() {
		return fmt.Errorf("%w: a bulk action needs a filter (workflow, stage, owner, lifecycle or stuck): it would reach every lead", ErrBadRequest)
	}
	if err := s.check(r.Filter); err != nil {
		return err
	}
	var ps []Problem
	if r.ID != "" && !ValidLeadID(r.ID) {
		ps = append(ps, Problem{Field: "id", Message: fmt.Sprintf("use 1 to %d characters: letters, digits and . _ - : @", MaxIDLength-len("bulk:"))})
	} else if len(r.ID) > MaxIDLength-len("bulk:") {
		ps = append(ps, Problem{Field: "id", Message: fmt.Sprintf("use at most %d characters", MaxIDLength-len("bulk:"))})
	}
	switch r.Action {
	case BulkOverride:
		switch {
		case r.Stage == "":
			ps = append(ps, Problem{Field: "stage", Message: "is required: name the stage to move the leads to"})
		case r.Filter.Workflow == "":
			ps = append(ps, Problem{Field: "filter.workflow", Message: "is required for an override: stages belong to a workflow"})
		default:
			if m := s.reg.active(r.Filter.Workflow); m != nil {
				if msg := m.StageProblem(r.Stage); msg != "" {
					ps = append(ps, Problem{Field: "stage", Message: msg})
				}
			}
		}
	case BulkAssign:
		if msg := engine.OwnerProblem(r.Owner); msg != "" {
			ps = append(ps, Problem{Field: "owner", Message: msg})
		}
	default:
		return fmt.Errorf("%w: unknown bulk action %q: want override or assign", ErrBadRequest, r.Action)
	}
	if strings.TrimSpace(r.Reason) == "" {
		ps = append(ps, Problem{Field: "reason", Message: "is required: say why the leads change"})
	}
	if msg := checkName(r.Actor); msg != "" {
		ps = append(ps, Problem{Field: "actor", Message: msg})
	}
	if len(ps) > 0 {
		return &InputError{Message: "invalid bulk " + r.Action, Problems: ps}
	}
	if r.ID == "" && !r.DryRun {
		r.ID = newID()[len("ld_"):]
	}
	return nil
}
