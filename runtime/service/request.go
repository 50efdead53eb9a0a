package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/leadlang/lead/runtime/engine"
)

// Problem is what is wrong with one field of a request, named by its
// place in the request's body ("fields.email", "data.amount", "actor").
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InputError is a request that is refused as it is: nothing was applied,
// and Problems name every bad field (a 422).
type InputError struct {
	Message  string
	Problems []Problem
}

func (e *InputError) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Field+": "+p.Message)
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// fromEngine converts the engine's problems.
func fromEngine(ps []engine.Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem(p)
	}
	return out
}

// Op is what a Request does to a lead.
type Op int

// The operations of requests.
const (
	OpCapture Op = iota
	OpEvent
	OpUpdate
	OpOverride
	OpAssign
)

// Request is one write to a lead, as the API and the CLI send it.
type Request struct {
	Op       Op
	Workflow string         // OpCapture: the workflow
	ID       string         // the lead's id (OpCapture: "" for a new one)
	Type     string         // OpEvent: the event
	EventID  string         // OpEvent: the idempotency key, if any
	Fields   map[string]any // OpCapture, OpUpdate: fields; OpEvent: the payload
	Stage    string         // OpOverride: the stage to move to
	Owner    string         // OpAssign: the new owner
	Reason   string         // OpOverride, OpAssign: why
	Actor    string         // OpOverride, OpAssign: who
}

// input is the engine's input for a request, and what is wrong with the
// request before the engine sees it.
func (r Request) input() (engine.Input, []Problem) {
	var ps []Problem
	switch r.Op {
	case OpCapture:
		if r.ID != "" && !ValidLeadID(r.ID) {
			ps = append(ps, Problem{Field: "id", Message: fmt.Sprintf("use 1 to %d characters: letters, digits and . _ - : @, not . or .. alone", MaxIDLength)})
		}
		return engine.Input{Kind: engine.Capture, LeadID: r.ID, Data: r.Fields}, ps
	case OpEvent:
		if msg := checkEventID(r.EventID); msg != "" {
			ps = append(ps, Problem{Field: "id", Message: msg})
		}
		return engine.Input{Kind: engine.Event, Event: r.Type, EventID: r.EventID, Data: r.Fields}, ps
	case OpUpdate:
		return engine.Input{Kind: engine.Update, Data: r.Fields}, nil
	case OpOverride:
		if r.Stage == "" {
			ps = append(ps, Problem{Field: "stage", Message: "is required: name the stage to move the lead to"})
		}
		if strings.TrimSpace(r.Reason) == "" {
			ps = append(ps, Problem{Field: "reason", Message: "is required: say why the lead is moved"})
		}
		if msg := checkName(r.Actor); msg != "" {
			ps = append(ps, Problem{Field: "actor", Message: msg})
		}
		return engine.Input{Kind: engine.Override, Stage: r.Stage, Reason: r.Reason, Actor: r.Actor}, ps
	case OpAssign:
		if strings.TrimSpace(r.Reason) == "" {
			ps = append(ps, Problem{Field: "reason", Message: "is required: say why the lead changes hands"})
		}
		if msg := checkName(r.Actor); msg != "" {
			ps = append(ps, Problem{Field: "actor", Message: msg})
		}
		return engine.Input{Kind: engine.Assign, Owner: r.Owner, Reason: r.Reason, Actor: r.Actor}, ps
	}
	panic(fmt.Sprintf("service: request op %d", r.Op))
}

// apply runs a request (dry: stops short of applying it).
func (s *Service) apply(ctx context.Context, r Request, dry bool) (outcome, error) {
	in, pre := r.input()
	return s.finish(ctx, s.plan(ctx, r.ID, r.Workflow, in, pre, dry))
}

// Reject refuses a request in which the caller found problems (a key of
// the wrong type in its body, say): it returns the *InputError naming
// them together with every other problem of the request, so that one
// answer names every bad field. Nothing is applied.
func (s *Service) Reject(ctx context.Context, r Request, found []Problem) error {
	if r.Op == OpCapture && r.ID == "" {
		r.ID = "rejected" // any valid id: the capture is never applied
	}
	_, err := s.apply(ctx, r, true)
	var ie *InputError
	if errors.As(err, &ie) {
		return &InputError{Message: ie.Message, Problems: mergeProblems(found, ie.Problems)}
	}
	return &InputError{Message: "invalid request", Problems: mergeProblems(found)}
}
