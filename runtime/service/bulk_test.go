package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const opsWorkflow = `workflow ops
start inbox

lead {
  email string
  vip   bool = false
}

event go

role ops
role boss

team sales {
  strategy round_robin
  member "ana@x.example"
  member "ben@x.example"
}

stage inbox {
  lifecycle inquiry
  owner { accountable ops  responsible team sales }
  on go -> work
  sla touch within 4h {
    breach { escalate boss }
  }
}

stage work {
  lifecycle sql
  owner { accountable ops  responsible team sales }
  after 30d -> done
}

stage done terminal { lifecycle won }
`

func startOps(t *testing.T) (*Service, func()) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ops.lead")
	writeWorkflow(t, path, opsWorkflow)
	return start(t, dir, path)
}

// TestAssign: an operator's change of owner is a step of its own, recorded
// with who, why and the previous owner; the stage's SLAs start again for
// the new owner. A bad request names every problem and changes nothing.
func TestAssign(t *testing.T) {
	svc, stop := startOps(t)
	defer stop()
	ctx := context.Background()
	v, _, err := svc.Capture(ctx, "ops", "l1", map[string]any{"email": "a@b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Owner != "ana@x.example" {
		t.Fatalf("routed to %q", v.Owner)
	}
	after, err := svc.Assign(ctx, "l1", "zoe@x.example", "covers ana's accounts", "ops-lead")
	if err != nil {
		t.Fatal(err)
	}
	if after.Owner != "zoe@x.example" || after.Stage != "inbox" {
		t.Fatalf("after assign: %+v", after)
	}
	steps, err := svc.History(ctx, "l1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	last := string(steps[len(steps)-1])
	for _, want := range []string{`"cause":"assign"`, `"assign":{"owner":"zoe@x.example","previous":"ana@x.example","reason":"covers ana's accounts","actor":"ops-lead"}`, `"state":"restarted"`} {
		if !strings.Contains(last, want) {
			t.Errorf("history step lacks %s:\n%s", want, last)
		}
	}

	_, err = svc.Assign(ctx, "l1", "zoe@x.example", "", "")
	var ie *InputError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 {
		t.Fatalf("assign to the owner without a reason: %v", err)
	}
	if ie.Problems[0].Field != "owner" || !strings.Contains(ie.Problems[0].Message, "already owns") || ie.Problems[1].Field != "reason" {
		t.Errorf("problems: %+v", ie.Problems)
	}
	if _, err := svc.Assign(ctx, "nope", "x", "r", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown lead: %v", err)
	}
	again, _ := svc.History(ctx, "l1", 0, 10)
	if len(again) != len(steps) {
		t.Errorf("a rejected assign added a step")
	}
}

// TestBulk: a dry run lists what would change and changes nothing; the
// action then changes each lead in one step of its own; running it again
// changes nothing twice; a big action goes a page at a time.
func TestBulk(t *testing.T) {
	svc, stop := startOps(t)
	defer stop()
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := svc.Capture(ctx, "ops", fmt.Sprintf("l%d", i), map[string]any{"email": "a@b.example"}); err != nil {
			t.Fatal(err)
		}
	}
	// l0, l2, l4 are ana's; l1, l3 ben's.
	ana := Filter{Workflow: "ops", Owner: "ana@x.example"}
	req := BulkRequest{Action: BulkAssign, Filter: ana, Owner: "ben@x.example", Reason: "ana left", Actor: "ops", DryRun: true, Limit: 100}
	dry, err := svc.Bulk(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Matched != 3 || dry.Changed != 3 || dry.ID != "" || !dry.DryRun {
		t.Fatalf("dry run: %+v", dry)
	}
	if to := dry.Leads[0].To; to == nil || to.Owner != "ben@x.example" || dry.Leads[0].From.Owner != "ana@x.example" {
		t.Errorf("dry run lead: %+v", dry.Leads[0])
	}
	if v, _ := svc.Lead(ctx, "l0"); v.Owner != "ana@x.example" {
		t.Fatalf("the dry run changed l0: %+v", v)
	}

	req.DryRun, req.ID = false, "b1"
	res, err := svc.Bulk(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 3 || res.Changed != 3 || res.Failed != 0 {
		t.Fatalf("bulk: %+v", res)
	}
	for _, id := range []string{"l0", "l2", "l4"} {
		v, _ := svc.Lead(ctx, id)
		h, _ := svc.History(ctx, id, 0, 10)
		if v.Owner != "ben@x.example" || len(h) != 2 || !strings.Contains(string(h[1]), `"event_id":"bulk:b1"`) {
			t.Errorf("%s after the bulk assign: %+v\n%s", id, v, h)
		}
	}
	// Again, on every lead of the workflow: those it changed are not
	// changed twice, those already ben's are unchanged.
	req.Filter = Filter{Workflow: "ops"}
	res, err = svc.Bulk(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 5 || res.Changed != 0 || res.Unchanged != 5 {
		t.Fatalf("bulk again: %+v", res)
	}

	// An override by lifecycle, a page at a time.
	ov := BulkRequest{ID: "b2", Action: BulkOverride, Filter: Filter{Workflow: "ops", Lifecycle: "inquiry"}, Stage: "work", Reason: "batch", Limit: 2}
	total := 0
	for {
		res, err := svc.Bulk(ctx, ov)
		if err != nil {
			t.Fatal(err)
		}
		total += res.Changed
		if res.NextCursor == "" {
			break
		}
		ov.Cursor = res.NextCursor
	}
	if total != 5 {
		t.Errorf("override moved %d leads, want 5", total)
	}
	for i := range 5 {
		if v, _ := svc.Lead(ctx, fmt.Sprintf("l%d", i)); v.Stage != "work" || v.Lifecycle != "sql" {
			t.Errorf("l%d: %+v", i, v)
		}
	}
}

// TestBulkRefusals: requests wrong as a whole change nothing and say why.
func TestBulkRefusals(t *testing.T) {
	svc, stop := startOps(t)
	defer stop()
	ctx := context.Background()
	if _, _, err := svc.Capture(ctx, "ops", "l1", map[string]any{"email": "a@b.example"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  BulkRequest
		want string
	}{
		{BulkRequest{Action: BulkAssign, Owner: "x", Reason: "r"}, "needs a filter"},
		{BulkRequest{Action: BulkAssign, Filter: Filter{Workflow: "opz"}, Owner: "x", Reason: "r"}, `did you mean "ops"?`},
		{BulkRequest{Action: BulkOverride, Filter: Filter{Workflow: "ops"}, Stage: "wrok", Reason: "r"}, "its stages are inbox, work, done"},
		{BulkRequest{Action: BulkOverride, Filter: Filter{Owner: "ana@x.example"}, Stage: "work", Reason: "r"}, "filter.workflow: is required"},
		{BulkRequest{Action: BulkAssign, Filter: Filter{Workflow: "ops"}, Owner: "x"}, "reason: is required"},
		{BulkRequest{Action: BulkAssign, Filter: Filter{Lifecycle: "sq"}, Owner: "x", Reason: "r"}, `did you mean "sql"?`},
	} {
		_, err := svc.Bulk(ctx, c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.req, err, c.want)
		}
	}
	if v, _ := svc.Lead(ctx, "l1"); v.Owner != "ana@x.example" || v.Stage != "inbox" {
		t.Errorf("a refused bulk action changed l1: %+v", v)
	}
	if h, _ := svc.History(ctx, "l1", 0, 10); len(h) != 1 {
		t.Errorf("a refused bulk action added steps: %s", h)
	}
}
