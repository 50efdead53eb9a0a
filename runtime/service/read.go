package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// Lead returns a lead as the API shows it: its latest durable state (a
// step still committing is waited for, so that a read never shows what a
// crash could take back).
func (s *Service) Lead(ctx context.Context, id string) (LeadView, error) {
	s.mu.Lock()
	ent, m, _, err := s.load(ctx, id)
	var l *engine.Lead
	var last *pending
	if ent != nil {
		l, last = ent.lead, ent.last
	}
	s.mu.Unlock()
	if err != nil {
		return LeadView{}, err
	}
	if l == nil {
		return LeadView{}, fmt.Errorf("%w: lead %s", ErrNotFound, id)
	}
	if err := durable(ctx, last); err != nil {
		return LeadView{}, err
	}
	return View(m, l), nil
}

// History returns a lead's steps after sequence number after.
func (s *Service) History(ctx context.Context, id string, after uint64, limit int) ([]json.RawMessage, error) {
	if _, err := s.Lead(ctx, id); err != nil {
		return nil, err
	}
	raw, err := s.st.History(ctx, id, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(raw))
	for i, r := range raw {
		out[i] = r
	}
	return out, nil
}

// validCursor reports whether a cursor can be the store's (base64 of
// the last lead id of a page), so that a made-up one is a bad request
// rather than the store's internal error.
func validCursor(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) > 0 && checkName(string(b)) == ""
}

// Workflows describes the loaded workflows, with in-flight leads per version.
func (s *Service) Workflows(ctx context.Context) ([]WorkflowInfo, error) {
	infos := s.reg.infos()
	for i := range infos {
		counts, err := s.st.InFlight(ctx, infos[i].Name)
		if err != nil {
			return nil, err
		}
		for v, n := range counts {
			infos[i].Versions[v] = n
		}
	}
	return infos, nil
}

// Notification is an outbox entry as the API shows it.
type Notification struct {
	Cursor string          `json:"cursor"`
	Data   json.RawMessage `json:"notification"`
}

// Notifications returns up to limit outbox entries after the cursor ("" for
// the start) and the cursor to continue from.
func (s *Service) Notifications(ctx context.Context, since string, limit int) ([]Notification, string, error) {
	after := uint64(0)
	if since != "" {
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("%w: cursor %q is not a cursor from this API", ErrBadRequest, since)
		}
		after = n
	}
	items, err := s.st.Outbox(ctx, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := []Notification{}
	next := since
	for _, it := range items {
		c := strconv.FormatUint(it.Seq, 10)
		out = append(out, Notification{Cursor: c, Data: it.Data})
		next = c
	}
	return out, next, nil
}

// Backup writes a consistent backup of the store to w while the service
// runs (store.Backuper).
func (s *Service) Backup(ctx context.Context, w io.Writer) error {
	b, ok := s.st.(store.Backuper)
	if !ok {
		return fmt.Errorf("%w: this store does not make backups of itself; back up its database with the database's own tools", ErrBadRequest)
	}
	if err := b.Backup(ctx, w); err != nil {
		s.log.Error("backup failed", "err", err)
		return err
	}
	return nil
}

// ErrBadRequest marks a malformed request parameter.
var ErrBadRequest = errors.New("bad request")

// status returns a workflow's last reload.
func (r *registry) status(name string) ReloadStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if w := r.workflows[name]; w != nil {
		return w.reload
	}
	return ReloadStatus{}
}

// migrateAll moves a workflow's in-flight leads on other versions to the
// active one where their stage exists there; the others stay pinned and
// move when they leave their stage. The migrations of a page of leads are
// queued together, so they share group commits.
func (s *Service) migrateAll(ctx context.Context, workflow string) {
	active := s.reg.active(workflow)
	if active == nil {
		return
	}
	// Each migration is a step in the lead's history; the log says what
	// a reload did to the leads in flight, once.
	migrated, pinned := 0, map[string]int{} // pinned: by stage
	defer func() {
		if migrated == 0 && len(pinned) == 0 {
			return
		}
		args := []any{"workflow", workflow, "version", active.Version(), "migrated", migrated}
		if len(pinned) > 0 {
			var gone []string
			n := 0
			for st, c := range pinned {
				gone = append(gone, fmt.Sprintf("%s (%d)", st, c))
				n += c
			}
			sort.Strings(gone)
			args = append(args, "pinned", n, "stages_gone", strings.Join(gone, ", "))
		}
		s.log.Info("in-flight leads moved to the active version; pinned leads stay on theirs until they leave a stage it lacks", args...)
	}()
	cursor := ""
	for {
		page, next, err := s.st.Leads(ctx, store.Query{Workflow: workflow, Limit: 500, Cursor: cursor})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("migrate", "workflow", workflow, "err", err)
			}
			return
		}
		var queued []*pending
		for _, l := range page {
			if l.Version == active.Version() || l.Terminal {
				continue
			}
			p, err := s.migrate(ctx, l.ID)
			if errors.Is(err, ErrUnavailable) || errors.Is(err, store.ErrNoSpace) {
				return // the leads migrate at their next step
			}
			if err != nil {
				s.log.Error("migrate", "lead", l.ID, "err", err)
			}
			if p != nil {
				queued = append(queued, p)
			} else if err == nil {
				pinned[l.Stage]++
			}
		}
		for _, p := range queued {
			if err := durable(ctx, p); err != nil {
				return
			}
			s.met.migrations.Inc()
			migrated++
		}
		if next == "" || ctx.Err() != nil {
			return
		}
		cursor = next
	}
}

// migrate queues the move of one lead to its workflow's active version,
// if it can move, and returns the queued step.
func (s *Service) migrate(ctx context.Context, id string) (*pending, error) {
	s.mu.Lock()
	if err := s.acquire(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	defer s.busy.Done()
	ent, m, _, err := s.load(ctx, id)
	if errors.Is(err, ErrNotOwner) {
		s.mu.Unlock()
		return nil, nil // its partition's owner moves it
	}
	if err != nil || ent == nil {
		s.mu.Unlock()
		return nil, err
	}
	active := s.reg.active(ent.lead.Workflow)
	if active == nil || !engine.CanMigrate(active, ent.lead) {
		s.mu.Unlock()
		return nil, nil
	}
	res := engine.Migrate(m, active, ent.lead, s.clock())
	p := s.enqueue(ent, res, "", nil, true)
	s.mu.Unlock()
	s.encode(p, active, res)
	return p, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.clock() }

// Steps returns up to limit committed steps after seq after, in commit
// order (the step stream for BI).
func (s *Service) Steps(ctx context.Context, after uint64, limit int) ([]Step, error) {
	steps, err := s.st.Steps(ctx, after, limit)
	out := make([]Step, len(steps))
	for i, st := range steps {
		out[i] = Step(st)
	}
	return out, err
}

// Step is a committed step in the step stream: its place in commit
// order, its lead, and the lead's history entry as JSON.
type Step struct {
	Seq    uint64
	LeadID string
	Entry  []byte
}

// ReportQuery selects what a report covers (report.Query).
type ReportQuery = report.Query

// Report is a report's rows and definitions (report.Report).
type Report = report.Report

// Report computes a report (report.Funnel, Velocity, SLA, Aging, Owners)
// from the aggregates the store keeps with every step. The machines of
// the workflows served give the lifecycle labels' order and the teams.
func (s *Service) Report(ctx context.Context, kind string, q ReportQuery) (*Report, error) {
	var machines []*engine.Machine
	for _, w := range s.reg.infos() {
		if m := s.reg.active(w.Name); m != nil && (q.Workflow == "" || q.Workflow == w.Name) {
			machines = append(machines, m)
		}
	}
	if q.Workflow != "" && len(machines) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorkflow, q.Workflow)
	}
	q.Workflows = nil
	for _, m := range machines {
		q.Workflows = append(q.Workflows, m.W.Name)
	}
	if q.By != "" && kind != "owners" {
		dims := report.Dimensions(machines)
		if kind == "sla" {
			dims = append(dims, "owner", "team")
		}
		if !slices.Contains(dims, q.By) {
			return nil, fmt.Errorf("%w: by=%s: a report breaks down by an enum or string field of the lead: %s", ErrBadRequest, q.By, strings.Join(dims, ", "))
		}
	}
	labels := report.Labels(machines)
	switch kind {
	case "funnel":
		return report.Funnel(ctx, s.st, q, labels)
	case "velocity":
		return report.Velocity(ctx, s.st, q, labels)
	case "sla":
		return report.SLA(ctx, s.st, q)
	case "aging":
		r, err := report.Aging(ctx, s.st, q, s.clock())
		if err != nil {
			return nil, err
		}
		yes := true
		page, _, err := s.Leads(ctx, Filter{Workflow: q.Workflow, Stuck: &yes}, 100, "")
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			r.Stuck = append(r.Stuck, map[string]any{"id": l.ID, "workflow": l.Workflow, "stage": l.Stage, "owner": l.Owner, "stuck": l.Stuck})
		}
		return r, nil
	case "owners":
		// From the store, not this node's copy of the routing state: nodes
		// that share the store each see their own leads first.
		rows, err := s.st.Routing(ctx)
		if err != nil {
			return nil, err
		}
		rot, err := engine.RotationFromRows(rows)
		if err != nil {
			return nil, err
		}
		return report.Owners(ctx, s.st, q, machines, rot.Open)
	}
	return nil, fmt.Errorf("%w: no report %q: the reports are funnel, velocity, sla, aging and owners", ErrBadRequest, kind)
}

// Version returns a stored version of a workflow as its compiled graph
// (the JSON of `lead graph --format json`).
func (s *Service) Version(ctx context.Context, workflow, version string) (json.RawMessage, error) {
	for _, m := range s.reg.machinesOf(workflow) {
		if m.Version() == version {
			return json.Marshal(m.W)
		}
	}
	if len(s.reg.machinesOf(workflow)) == 0 {
		return nil, s.noWorkflow(workflow)
	}
	return nil, fmt.Errorf("%w: workflow %s has no version %q (GET /v1/workflows lists the versions leads run on)", ErrNotFound, workflow, version)
}
