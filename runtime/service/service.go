// Package service is the durable runtime behind `lead run`: it executes
// workflows with the engine against a Store, one writer per lead, with
// group commit (many leads' steps share one fsync), fires timers on time
// even across restarts, reloads workflows when their files change, and
// keeps every version a lead runs on.
//
// Data flow of one request: the step runs under the service's lock (engine
// steps are microseconds), the lead's new state goes into the cache at once
// so the next request for it sees it, and the step's writes join the commit
// queue in step order. The committer writes whole batches in one durable
// commit and only then acknowledges each request. A failed commit stops the
// service: nothing unacknowledged was promised, and a restart recovers the
// last durable state.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// Errors the API maps to status codes.
var (
	ErrNotFound        = errors.New("not found")
	ErrUnknownWorkflow = errors.New("unknown workflow")
	ErrConflict        = errors.New("conflict")
	ErrUnavailable     = errors.New("service unavailable")
	// ErrNoSpace: the store's disk is short of space; writes wait for it
	// (the store's own error, which the API maps to 507).
	ErrNoSpace = store.ErrNoSpace
)

// Config configures a Service.
type Config struct {
	// Paths are the workflow files and directories to serve.
	Paths []string
	// Store is the durable state; the service does not close it.
	Store store.Store
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Watch reloads workflows when their files change.
	Watch bool
	// Debounce is how long file changes settle before a reload (default 50ms).
	Debounce time.Duration
	// Webhook, if set, receives every notification by POST, at least once.
	Webhook string
	// StepsWebhook, if set, receives the step stream by POST, in batches
	// of NDJSON lines, at least once and in order.
	StepsWebhook string
	// Registerer receives the service's Prometheus metrics (nil: none).
	Registerer prometheus.Registerer
	// CacheSize bounds the number of idle leads kept in memory (default 100,000).
	CacheSize int
	// StandardsPath is searched for `conforms NAME` standards.
	StandardsPath []string
	// MaxBatch bounds the steps of one commit (default 4,096).
	MaxBatch int
	// Machines are compiled workflows to serve besides those of Paths
	// (`lead test` gives its suite's).
	Machines []*engine.Machine
	// ManualTimers leaves firing timers to RunTimers, on a virtual clock
	// (`lead test`), instead of a scheduler on Clock.
	ManualTimers bool
	// Observe, if set, is given every step's result once it is durable,
	// in commit order (`lead test` checks expectations on them).
	Observe func(*engine.Result)
	// NoReports leaves out the reports' aggregates (to measure what they
	// cost; the reports then count nothing new).
	NoReports bool
	// Ownership, if set, is which leads this service may step: it shares
	// its store with other nodes (runtime/cluster), and steps only the
	// leads of the partitions it holds.
	Ownership Ownership
}

// Ownership tells a service that shares its store with other nodes
// which leads it may step now.
type Ownership interface {
	// Holds reports whether this node holds the lead's partition now,
	// and at which epoch: a lead read from the store at one epoch is
	// stale at another (another node may have stepped it meanwhile).
	Holds(leadID string) (epoch int64, ok bool)
	// NewID returns a new lead id in a partition this node holds.
	NewID(random func() string) string
	// Node is this node's id, and Parts the partitions it holds now.
	Node() string
	Parts() []int32
	// Pushes reports whether this node is the one that delivers the
	// webhooks (--webhook, --steps-webhook) now.
	Pushes() bool
}

// Partitions returns the node's id and the partitions it holds, on a
// service that shares its store with other nodes (ok false otherwise).
func (s *Service) Partitions() (node string, parts []int32, ok bool) {
	o := s.cfg.Ownership
	if o == nil {
		return "", nil, false
	}
	return o.Node(), o.Parts(), true
}

// ErrNotOwner is returned (wrapped in ErrUnavailable) for a step of a
// lead whose partition another node holds.
var ErrNotOwner = errors.New("another node holds this lead's partition")

// Service is the durable runtime.
type Service struct {
	cfg   Config
	st    store.Store
	reg   *registry
	log   *slog.Logger
	clock func() time.Time
	met   *metrics

	locked lockedQueue // refused inputs to plan again with their rows locked

	mu  sync.Mutex // engine steps, the cache and the routing state
	rot *engine.Rotation
	// rowsRead counts the locked commits' reads of routing rows: the
	// committer's own read of rows, made without their locks, is put in
	// rot only if no locked read came meanwhile (it could be older).
	rowsRead uint64
	cache    map[string]*cacheEntry
	// evicted counts the leads evict has dropped: a store read made
	// outside the lock for a lead missing from the cache is current if no
	// lead was dropped meanwhile (and the lead is still missing).
	evicted uint64
	failed  error // a commit failed: the service stops accepting work
	closing bool  // Close was called: no new steps start
	// short is set while the store is short of disk space and steps are
	// refused, so that the start and the end of it are logged once.
	short bool

	queue commitQueue
	tm    *timers
	dims  *report.Dims  // the reports' dimensions
	wake  chan struct{} // a commit set timers: the scheduler re-checks
	// sleepUntil is when the sleeping scheduler wakes by itself (Unix
	// nanoseconds by the service clock), 0 while it is awake: a commit
	// wakes it only for a timer due before then. Without this, every
	// commit that moved a lead (setting its next SLA or timeout, hours
	// away) cost two scans of the timer index: 7% of the CPU at 10,000
	// events a second.
	sleepUntil atomic.Int64
	kick       chan struct{} // a commit added notifications: their push looks
	stepKick   chan struct{} // a commit added steps: the step push looks

	runCtx context.Context // cancelled by Close: background work stops
	cancel context.CancelFunc
	wg     sync.WaitGroup
	busy   sync.WaitGroup // steps in flight, drained on Close; Add only under mu while !closing
}

// cacheEntry is a lead held in memory. Its lead may be ahead of the store
// by the steps still in the commit queue; last is the latest of them, which
// a reader waits for so that it never shows a state a crash could take
// back.
type cacheEntry struct {
	lead    *engine.Lead
	epoch   int64               // the partition's epoch it was read at (Ownership)
	pending int                 // steps not yet committed
	last    *pending            // the latest uncommitted step, nil if none
	events  map[string]*pending // uncommitted event ids → their step
	// idGen counts the lead's committed steps with an event id: a lookup
	// of an event id made outside the lock is current if it has not moved.
	idGen uint64
}

// New creates a service; Start loads the workflows and starts it.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 50 * time.Millisecond
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	s := &Service{
		cfg: cfg, st: cfg.Store, log: cfg.Logger, clock: cfg.Clock,
		reg:      newRegistry(compiler.Options{StandardsPath: cfg.StandardsPath}),
		cache:    map[string]*cacheEntry{},
		tm:       newTimers(),
		wake:     make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
		stepKick: make(chan struct{}, 1),
	}
	s.queue.cond = sync.NewCond(&s.queue.mu)
	s.met = newMetrics(cfg.Registerer, s)
	return s
}

// Start loads stored versions and the workflow files, restores routing
// state, and starts the committer, the timer scheduler, the file watcher and
// the webhook dispatcher.
func (s *Service) Start(ctx context.Context) error {
	if err := s.reg.loadStored(ctx, s.st); err != nil {
		return err
	}
	rows, err := s.st.Routing(ctx)
	if err != nil {
		return fmt.Errorf("read routing state: %w", err)
	}
	if err := s.checkCounters(ctx); err != nil {
		return err
	}
	seen, err := store.CounterMap(ctx, s.st, "d/", store.PrefixEnd("d/"))
	if err != nil {
		return fmt.Errorf("read the reports' dimensions: %w", err)
	}
	s.dims = report.NewDims(seen)
	if s.rot, err = engine.RotationFromRows(rows); err != nil {
		return fmt.Errorf("read routing state: %w", err)
	}
	files, err := discover(s.cfg.Paths)
	if err != nil {
		return fmt.Errorf("find workflows: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.runCtx, s.cancel = runCtx, cancel
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.commitLoop() }()
	s.locked.wake = make(chan struct{}, 1)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.lockedLoop(runCtx) }()
	for _, f := range files {
		s.reload(ctx, f)
	}
	if len(files) == 0 && len(s.cfg.Paths) > 0 {
		s.log.Warn("no workflow files found", "paths", strings.Join(s.cfg.Paths, ", "))
	}
	for _, m := range s.cfg.Machines {
		if err := s.reg.add(ctx, s.st, m, s.clock()); err != nil {
			s.Close(context.Background())
			return err
		}
	}
	if !s.cfg.ManualTimers {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.timerLoop(runCtx) }()
	}
	if s.cfg.Watch {
		if err := s.startWatcher(runCtx); err != nil {
			s.Close(context.Background())
			return err
		}
	}
	// Leads a crash kept from moving to their workflow's active version
	// (migrateAll runs after an activation, in the background).
	for _, w := range s.reg.infos() {
		counts, err := s.st.InFlight(ctx, w.Name)
		if err != nil {
			s.log.Error("count in-flight leads", "workflow", w.Name, "err", err)
			continue
		}
		for v, n := range counts {
			if v != w.Active && n > 0 {
				s.wg.Add(1)
				go func() { defer s.wg.Done(); s.migrateAll(runCtx, w.Name) }()
				break
			}
		}
	}
	for _, p := range []push{s.notificationPush(), s.stepPush()} {
		if p.url != "" {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.pushLoop(runCtx, p) }()
		}
	}
	return nil
}

// Close stops the service: new steps are refused (ErrUnavailable), the
// steps in flight finish and commit, then the background work stops. The
// store stays open.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.busy.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.queue.close()
	s.wg.Wait()
	return ctx.Err()
}

// reload compiles one workflow file and activates it if it compiles,
// then moves in-flight leads to the new version where they can go.
func (s *Service) reload(ctx context.Context, path string) {
	start := time.Now()
	name, activated, err := s.reg.compileFile(ctx, s.st, path, s.clock())
	if err != nil {
		s.log.Error("reload failed", "file", path, "err", err)
		return
	}
	info := s.reg.status(name)
	if !info.OK {
		msg := "workflow does not compile; the last good version keeps serving"
		if s.reg.active(name) == nil {
			msg = "workflow has errors; no version was ever active"
		}
		s.log.Warn(msg, "workflow", name, "file", path, "diagnostics", len(info.Diagnostics))
		for _, d := range info.Diagnostics {
			s.log.Warn(fmt.Sprintf("%s:%d:%d: %s[%s]: %s", d.File, d.Line, d.Column, d.Severity, d.Code, d.Message))
		}
		return
	}
	if activated {
		s.met.reloads.Inc()
		s.log.Info("workflow active", "workflow", name, "version", info.Version, "took", time.Since(start).Round(time.Millisecond))
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.migrateAll(s.runCtx, name) }()
	}
}

// ---------------------------------------------------------------------------
// Requests (request.go has the Request form of each, for Reject)

// Capture creates a lead in a workflow. An existing id returns the
// existing lead unchanged (created false).
func (s *Service) Capture(ctx context.Context, workflow, id string, fields map[string]any) (LeadView, bool, error) {
	given := id != ""
	if !given {
		if o := s.cfg.Ownership; o != nil {
			id = o.NewID(newID)
		} else {
			id = newID()
		}
	}
	o, err := s.apply(ctx, Request{Op: OpCapture, Workflow: workflow, ID: id, Fields: fields}, false)
	if errors.Is(err, errUnknownOutcome) && !given {
		// The client cannot retry this capture safely without the id
		// the lead may have been created with.
		err = fmt.Errorf("%w; the lead would have the id %s: after the restart, capture again with \"id\": %q so that it exists exactly once", err, id, id)
	}
	if err != nil {
		return LeadView{}, false, err
	}
	return o.view, o.created, nil
}

// Send delivers an event to a lead and returns the lead after it as JSON.
// A repeated eventID returns the original answer without applying the
// event again.
func (s *Service) Send(ctx context.Context, id, typ, eventID string, data map[string]any) (json.RawMessage, error) {
	o, err := s.apply(ctx, Request{Op: OpEvent, ID: id, Type: typ, EventID: eventID, Fields: data}, false)
	if err != nil {
		return nil, err
	}
	return o.raw, nil
}

// Update changes lead fields and runs the `updated` event.
func (s *Service) Update(ctx context.Context, id string, fields map[string]any) (LeadView, error) {
	o, err := s.apply(ctx, Request{Op: OpUpdate, ID: id, Fields: fields}, false)
	return o.view, err
}

// Override moves a lead to a stage by an operator's decision.
func (s *Service) Override(ctx context.Context, id, stage, reason, actor string) (LeadView, error) {
	o, err := s.apply(ctx, Request{Op: OpOverride, ID: id, Stage: stage, Reason: reason, Actor: actor}, false)
	return o.view, err
}

// Assign gives a lead to an owner by an operator's decision; the stage's
// SLAs that are not met start again for the new owner.
func (s *Service) Assign(ctx context.Context, id, owner, reason, actor string) (LeadView, error) {
	o, err := s.apply(ctx, Request{Op: OpAssign, ID: id, Owner: owner, Reason: reason, Actor: actor}, false)
	return o.view, err
}

// outcome is what a request returns.
type outcome struct {
	view    LeadView
	raw     json.RawMessage // the view as JSON: the stored answer for event ids
	created bool
	// duplicate is set when the event id was applied before: raw is the
	// first delivery's answer, and nothing was applied now.
	duplicate bool
}

// pending is one step's writes waiting for the committer.
type pending struct {
	res     *engine.Result
	prev    *engine.Lead // the lead before the step, nil for a capture
	write   store.Prepared
	route   *store.RoutingChange // its routing change, nil for none
	leadID  string
	eventID string
	ready   chan struct{} // write encoded (or encErr set)
	done    chan struct{} // closed once committed (or failed: err)
	err     error
	encErr  error // the write could not be encoded: the batch must not commit
	timers  []engine.TimerSet
	notes   int
	raw     json.RawMessage
	enqueue time.Time
}

// errClosing is returned for work that arrives after Close.
var errClosing = fmt.Errorf("%w: the server is shutting down", ErrUnavailable)

// errUnknownOutcome marks a step whose commit failed: the store may or
// may not hold it after a restart.
var errUnknownOutcome = fmt.Errorf("%w: the store failed while committing this step, which may or may not have been applied; the server takes no more writes until it is restarted", ErrUnavailable)

// acquire registers a step in flight; it refuses once the service is
// closing or has failed, and while the store is short of disk space
// (store.ErrNoSpace: nothing is applied, and steps resume by themselves
// once space is freed). Called with s.mu held.
func (s *Service) acquire() error {
	switch {
	case s.closing:
		return errClosing
	case s.failed != nil:
		return fmt.Errorf("%w: %v", ErrUnavailable, s.failed)
	}
	if err := s.st.Health(); errors.Is(err, store.ErrNoSpace) {
		if !s.short {
			s.short = true
			s.log.Warn("writes refused: the store is short of disk space", "err", err)
		}
		return err
	} else if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if s.short {
		s.short = false
		s.log.Info("disk space freed: writes resume")
	}
	s.busy.Add(1)
	return nil
}

// Ready reports whether the service takes writes now: nil, or why not
// (shutting down, a failed commit, a store short of disk space). Reads are
// served either way.
func (s *Service) Ready() error {
	s.mu.Lock()
	closing, failed := s.closing, s.failed
	s.mu.Unlock()
	switch {
	case closing:
		return errClosing
	case failed != nil:
		return fmt.Errorf("%w: %v", ErrUnavailable, failed)
	}
	return s.st.Health()
}

// Live reports whether the process is worth keeping: nil, or the failed
// commit after which only a restart recovers (its supervisor should
// restart it).
func (s *Service) Live() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, s.failed)
	}
	return nil
}

// planned is what plan decided for an input: an answer (out, err) given
// without a step of its own, possibly once an earlier step is durable
// (wait), or a step queued for commit.
type planned struct {
	start        time.Time
	id, workflow string
	in           engine.Input
	busy         bool // a step in flight: finish releases it

	out  outcome
	err  error
	wait *pending // answer once this step is durable
	dup  bool     // the answer is wait's stored answer (a repeated event id)

	m, final       *engine.Machine // the step's machine, and the lead's after it
	res, mig, post *engine.Result
	p, migP, postP *pending
}

// plan and finish are the heart of the runtime: plan runs the engine
// step for an input under the service's lock and queues its writes; pre
// are problems already found in the request (with any, nothing is
// applied). finish encodes the step and waits for it to be durable,
// without the lock. Steps are queued in the order they are planned: the
// lock's order is the steps' order. With dry set, plan stops short of
// queuing the step and answers what the lead would be after it (a bulk
// action's dry run, Reject).
func (s *Service) plan(ctx context.Context, id, workflow string, in engine.Input, pre []Problem, dry bool) *planned {
	return s.planStep(ctx, id, workflow, in, pre, dry, true)
}

// planStep is plan; with push false, the steps are not put on the
// commit queue: the caller commits them (finishLocked).
func (s *Service) planStep(ctx context.Context, id, workflow string, in engine.Input, pre []Problem, dry, push bool) *planned {
	pl := &planned{start: time.Now(), id: id, workflow: workflow, in: in}
	// An event id is looked up in the store before the lock is taken: a
	// store read may wait for the sync in progress, and every other lead's
	// request would wait behind it. Under the lock the lookup is used if no
	// step of the lead with an event id committed meanwhile.
	var seen eventLookup
	if in.EventID != "" && len(pre) == 0 {
		if seen = s.lookupEvent(ctx, id, in.EventID); seen.err != nil {
			pl.err = seen.err
			return pl
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pl.err = s.acquire(); pl.err != nil {
		return pl
	}
	pl.busy = true
	ent, m, epoch, err := s.load(ctx, id)
	if err != nil {
		pl.err = err
		return pl
	}
	now := s.clock()
	var prev *engine.Lead
	switch {
	case in.Kind == engine.Capture && ent != nil:
		if ent.lead.Workflow != workflow {
			pl.err = fmt.Errorf("%w: lead %s already exists in workflow %s", ErrConflict, id, ent.lead.Workflow)
			return pl
		}
		// The lead may still be committing (a concurrent capture of the
		// same id): answer once it is durable.
		pl.wait, pl.m, pl.out.view = ent.last, m, View(m, ent.lead)
		s.met.events.WithLabelValues(workflow, "existing").Inc()
		return pl
	case in.Kind == engine.Capture:
		if m = s.reg.active(workflow); m == nil {
			pl.err = s.noWorkflow(workflow)
			return pl
		}
	case ent == nil:
		pl.err = fmt.Errorf("%w: lead %s", ErrNotFound, id)
		return pl
	default:
		prev = ent.lead
		if in.EventID != "" && len(pre) == 0 {
			if p := ent.events[in.EventID]; p != nil {
				s.met.events.WithLabelValues(prev.Workflow, "duplicate").Inc()
				pl.wait, pl.dup = p, true
				return pl
			}
			raw, ok, err := seen.raw, seen.ok, error(nil)
			if !seen.current(s, ent) {
				// Stale: look again, here.
				raw, ok, err = s.st.EventResult(ctx, id, in.EventID)
			}
			if err != nil || ok {
				if ok {
					s.met.events.WithLabelValues(prev.Workflow, "duplicate").Inc()
				}
				pl.out.raw, pl.out.duplicate, pl.err = raw, ok, err
				return pl
			}
		}
		active := s.reg.active(prev.Workflow)
		switch {
		case active == nil || active == m:
		case engine.CanMigrate(active, prev),
			// An operator may move a pinned lead into a stage only the
			// active version has: the override takes it to that version.
			in.Kind == engine.Override && m.Stage(in.Stage) == nil && active.Stage(in.Stage) != nil:
			pl.mig = engine.Migrate(m, active, prev, now)
			prev, m = pl.mig.Lead, active
		}
	}
	res, err := engine.Step(m, prev, in, now, s.rot)
	var ie *InputError
	if eie := (*engine.InputError)(nil); errors.As(err, &eie) {
		ie = &InputError{Message: eie.Message, Problems: requestProblems(m, in, fromEngine(eie.Problems))}
	} else if err == nil && !res.Stale {
		if ps := storable(m, res); len(ps) > 0 {
			ie = &InputError{Message: "the step's result cannot be stored", Problems: ps}
		}
	}
	switch {
	case ie != nil || (err == nil && len(pre) > 0):
		msg, ps := "invalid request", []Problem(nil)
		if ie != nil {
			msg, ps = ie.Message, ie.Problems
		}
		s.met.events.WithLabelValues(m.W.Name, "rejected").Inc()
		pl.err = &InputError{Message: msg, Problems: mergeProblems(pre, ps)}
		return pl
	case err != nil:
		pl.err = err
		return pl
	case res.Stale || dry:
		pl.out.view = View(m, res.Lead)
		return pl
	}
	// A lead pinned to an older version (its stage is gone from the active
	// one) moves to the active version as soon as it leaves that stage.
	pl.m, pl.final, pl.res = m, m, res
	if prev != nil && res.Lead.Stage != prev.Stage {
		if active := s.reg.active(res.Lead.Workflow); active != nil && active != m && engine.CanMigrate(active, res.Lead) {
			pl.post, pl.final = engine.Migrate(m, active, res.Lead, now), active
		}
	}
	rt := s.applyRouting(res.Routing)
	if ent == nil {
		ent = &cacheEntry{epoch: epoch}
		s.admit(id, ent)
	}
	if pl.mig != nil {
		pl.migP = s.enqueue(ent, pl.mig, "", nil, push)
	}
	pl.p = s.enqueue(ent, res, in.EventID, rt, push)
	if pl.post != nil {
		pl.postP = s.enqueue(ent, pl.post, "", nil, push)
	}
	return pl
}

// applyRouting applies a step's routing delta to this node's copy of the
// routing state and returns its change to the rows (nil for none): the
// rows its decisions read, with the values this node's copy had; the
// teams' new states; the changes to owners' open-lead counts. Several
// nodes that share a store each route with their own copy; the store
// commits a decision only if the rows it read are still as they were, so
// no two nodes give out one round-robin turn or one place under a
// member's capacity. Called with s.mu.
func (s *Service) applyRouting(d engine.RoutingDelta) *store.RoutingChange {
	if d.Empty() {
		return nil
	}
	r := &store.RoutingChange{Expect: make(map[string][]byte, len(d.Read)+len(d.Teams))}
	for _, name := range d.Read {
		r.Expect[name] = s.rot.Row(name)
	}
	for _, t := range d.Teams {
		// A team's state is written whole: it is expected too.
		name := engine.TeamRow + t.Key
		if _, read := r.Expect[name]; !read {
			r.Expect[name] = s.rot.Row(name)
		}
	}
	s.rot.Apply(d)
	if len(d.Teams) > 0 {
		r.Set = make(map[string][]byte, len(d.Teams))
		for _, t := range d.Teams {
			r.Set[engine.TeamRow+t.Key] = s.rot.Row(engine.TeamRow + t.Key)
		}
	}
	if len(d.Open) > 0 {
		r.Add = make(map[string]int64, len(d.Open))
		for _, o := range d.Open {
			r.Add[engine.OpenRow+o.Owner] += int64(o.Change)
		}
	}
	return r
}

// maxReplans bounds how often a step whose commit the store refused is
// planned again before the request fails.
const maxReplans = 10

// finish answers a planned input without the lock: it encodes a queued
// step (on the caller's core, not the committer's) and waits until it is
// durable. A step whose commit the store refused (another node changed a
// routing row its decision read, say) wrote nothing: it is planned again,
// on the state as the store has it now; a routed step with the routing
// rows it read locked (finishLocked), so that its decision cannot lose
// the race for them again.
func (s *Service) finish(ctx context.Context, pl *planned) (outcome, error) {
	out, err := s.finishOnce(ctx, pl)
	for try := 1; ; try++ {
		var rf *refusal
		if !errors.As(err, &rf) {
			return out, err
		}
		if try == maxReplans {
			return outcome{}, fmt.Errorf("%w: the store refused this step %d times, as other writers kept changing what it depends on (last: %v); nothing was applied", ErrUnavailable, try, rf.err)
		}
		s.met.replans.Inc()
		if len(rf.rows) > 0 {
			var next *planned
			if next, out, err = s.finishLocked(ctx, pl, rf.rows); next == nil {
				return out, err
			}
			pl = next
			continue
		}
		start := pl.start
		pl = s.plan(ctx, pl.id, pl.workflow, pl.in, nil, false)
		pl.start = start
		out, err = s.finishOnce(ctx, pl)
	}
}

// refusal is a step whose commit the store refused: nothing was written.
// rows names the routing rows its decision read or changed.
type refusal struct {
	err  error
	rows []string
}

func (r *refusal) Error() string { return r.err.Error() }

// finishOnce answers a planned input once: its step committed, refused
// (a *refusal) or failed.
func (s *Service) finishOnce(ctx context.Context, pl *planned) (outcome, error) {
	if pl.busy {
		defer s.busy.Done()
	}
	if pl.p == nil { // no step of its own
		return s.answerWithout(ctx, pl)
	}
	s.encodeAll(pl)
	return s.answer(ctx, pl)
}

// answerWithout answers an input that has no step of its own.
func (s *Service) answerWithout(ctx context.Context, pl *planned) (outcome, error) {
	if pl.err != nil || pl.wait == nil {
		return pl.out, pl.err
	}
	if pl.dup {
		select {
		case <-pl.wait.ready:
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
	}
	if err := durable(ctx, pl.wait); err != nil {
		return outcome{}, err
	}
	if pl.dup {
		return outcome{raw: pl.wait.raw, duplicate: true}, nil
	}
	raw, err := pl.out.view.appendJSON(make([]byte, 0, 512))
	return outcome{view: pl.out.view, raw: raw}, err
}

// encodeAll encodes a planned input's answer and its steps' writes.
func (s *Service) encodeAll(pl *planned) {
	final := pl.res.Lead
	if pl.post != nil {
		final = pl.post.Lead
	}
	pl.out.view = View(pl.final, final)
	raw, err := pl.out.view.appendJSON(make([]byte, 0, 512))
	if err != nil {
		s.log.Error("encode answer", "lead", final.ID, "err", err)
	}
	pl.out.raw = raw
	pl.p.raw = raw // before p.ready: duplicates and the event-id record read it
	if pl.migP != nil {
		s.encode(pl.migP, pl.m, pl.mig)
	}
	s.encode(pl.p, pl.m, pl.res)
	if pl.postP != nil {
		s.encode(pl.postP, pl.final, pl.post)
	}
}

// steps returns a planned input's queued steps, in order.
func (pl *planned) steps() []*pending {
	var ps []*pending
	for _, p := range []*pending{pl.migP, pl.p, pl.postP} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// answer waits until a planned input's steps are settled and answers it.
func (s *Service) answer(ctx context.Context, pl *planned) (outcome, error) {
	ps := pl.steps()
	first, last := ps[0], ps[len(ps)-1]
	select {
	case <-last.done:
	case <-ctx.Done():
		// The step will still commit; the caller just stops waiting.
		return outcome{}, ctx.Err()
	}
	switch {
	case refused(first.err), refused(pl.p.err):
		var rows []string
		if r := pl.p.route; r != nil {
			r.Names(func(name string) { rows = append(rows, name) })
		}
		return outcome{}, &refusal{err: pl.p.err, rows: rows}
	case pl.p.err != nil:
		return outcome{}, fmt.Errorf("%w (%v)", errUnknownOutcome, pl.p.err)
	case refused(last.err):
		// The step is durable; only the lead's move to the active
		// version after it was refused, which its next step makes.
		s.log.Warn("the move of a lead to the active version was refused; its next step moves it", "lead", pl.p.leadID, "err", last.err)
	case last.err != nil:
		return outcome{}, fmt.Errorf("%w (%v)", errUnknownOutcome, last.err)
	}
	for _, r := range []*engine.Result{pl.mig, pl.post} {
		if r != nil {
			s.met.migrations.Inc()
			s.log.Info("lead moved to the active version", "lead", r.Lead.ID, "from_version", r.Entry.Extra["from_version"], "to_version", r.Entry.Extra["to_version"], "stage", r.Lead.Stage)
		}
	}
	s.observe(pl.m, pl.res, pl.p.prev, time.Since(pl.start))
	return outcome{view: pl.out.view, raw: pl.out.raw, created: pl.in.Kind == engine.Capture}, nil
}

// eventLookup is an event id looked up in the store, with the lead's
// cache entry and its idGen when the lookup began (or, for a lead not in
// the cache, the eviction count).
type eventLookup struct {
	raw     []byte
	ok      bool
	err     error
	ent     *cacheEntry
	gen     uint64
	evicted uint64
}

// current reports whether the lookup still holds for the lead's cache
// entry ent: no step of the lead with an event id has committed since it
// began. A lead missing from the cache then had every step committed, so
// the lookup saw them; if it has not been dropped since (no eviction), the
// entry loaded after it has committed no step with an event id (idGen 0).
// Called with s.mu.
func (l eventLookup) current(s *Service, ent *cacheEntry) bool {
	if l.ent != nil {
		return l.ent == ent && l.gen == ent.idGen
	}
	return ent.idGen == 0 && s.evicted == l.evicted
}

// lookupEvent looks an event id of a lead up in the store, without the lock.
func (s *Service) lookupEvent(ctx context.Context, id, eventID string) eventLookup {
	var l eventLookup
	s.mu.Lock()
	if ent := s.cache[id]; ent != nil {
		l.ent, l.gen = ent, ent.idGen
	}
	l.evicted = s.evicted
	s.mu.Unlock()
	l.raw, l.ok, l.err = s.st.EventResult(ctx, id, eventID)
	return l
}

// durable waits until a lead's latest step (nil: none pending) is durable.
func durable(ctx context.Context, p *pending) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, p.err)
	}
	return nil
}

// load returns a lead from the cache or the store, with its machine.
// Called with s.mu held; on a cache miss it lets go of the lock while it
// reads the store.
func (s *Service) load(ctx context.Context, id string) (*cacheEntry, *engine.Machine, int64, error) {
	var sl *store.Lead
	var err error
	var epoch int64
	if o := s.cfg.Ownership; o != nil {
		var ok bool
		if epoch, ok = o.Holds(id); !ok {
			return nil, nil, 0, fmt.Errorf("%w: lead %s: %w", ErrUnavailable, id, ErrNotOwner)
		}
	}
	for try := 0; ; try++ {
		if ent, ok := s.cache[id]; ok {
			if ent.epoch != epoch {
				// Read while this node held the partition before: another
				// node may have stepped it since.
				if ent.pending > 0 {
					return nil, nil, 0, fmt.Errorf("%w: lead %s: its partition changed hands while it had steps in flight", ErrUnavailable, id)
				}
				delete(s.cache, id)
				s.evicted++
				continue
			}
			m := s.reg.machine(ent.lead.Version)
			if m == nil {
				return nil, nil, 0, fmt.Errorf("lead %s runs on version %s, which is not loaded", id, ent.lead.Version)
			}
			return ent, m, epoch, nil
		}
		if try == 3 {
			// Evictions keep overtaking the reads: read under the lock.
			sl, err = s.st.GetLead(ctx, id)
			break
		}
		// A store read may wait for the sync in progress; under the lock,
		// every other lead's step would wait behind it (at a million leads
		// the timers of cold leads stalled for seconds). A lead missing
		// from the cache has every step committed, so a read that starts
		// now sees them all; it is still current when the lock is back if
		// the lead is still missing and none was dropped meanwhile (else
		// it may have been loaded, stepped and dropped).
		evicted := s.evicted
		s.mu.Unlock()
		sl, err = s.st.GetLead(ctx, id)
		s.mu.Lock()
		if _, ok := s.cache[id]; !ok && s.evicted == evicted {
			break
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, epoch, nil
	}
	if err != nil {
		return nil, nil, 0, err
	}
	_, version, err := leadHeader(sl.Data)
	if err != nil {
		return nil, nil, 0, err
	}
	m := s.reg.machine(version)
	if m == nil {
		return nil, nil, 0, fmt.Errorf("lead %s runs on version %s, which is not stored", id, version)
	}
	l, err := decodeLead(m, sl.Data)
	if err != nil {
		return nil, nil, 0, err
	}
	ent := &cacheEntry{lead: l, epoch: epoch}
	s.admit(id, ent)
	return ent, m, epoch, nil
}

// admit puts a lead into the cache, first dropping idle leads if the cache
// is full. The new entry is idle too until its caller's step is queued, so
// it goes in after the drop: dropped, it would leave that step detached and
// the next request would read the lead without it. Called with s.mu.
func (s *Service) admit(id string, ent *cacheEntry) {
	if len(s.cache) >= s.cfg.CacheSize {
		s.evict()
	}
	s.cache[id] = ent
}

// evict drops idle leads down to nine tenths of the cache size. Called
// with s.mu.
func (s *Service) evict() {
	drop := len(s.cache) - s.cfg.CacheSize*9/10
	for id, ent := range s.cache {
		if drop == 0 {
			return
		}
		if ent.pending == 0 {
			delete(s.cache, id)
			s.evicted++
			drop--
		}
	}
}

// enqueue puts a step's writes on the commit queue, in step order, and
// makes its lead the cached one. Called with s.mu held; the writes are
// encoded later, outside the lock, and the committer waits for that.
func (s *Service) enqueue(ent *cacheEntry, res *engine.Result, eventID string, rt *store.RoutingChange, push bool) *pending {
	p := &pending{
		res: res, prev: ent.lead, leadID: res.Lead.ID, eventID: eventID, route: rt,
		ready: make(chan struct{}), done: make(chan struct{}),
		timers: res.SetTimers, notes: len(res.Notifications), enqueue: time.Now(),
	}
	ent.pending++
	ent.last = p
	ent.lead = res.Lead
	if eventID != "" {
		if ent.events == nil {
			ent.events = map[string]*pending{}
		}
		ent.events[eventID] = p
	}
	if push {
		s.queue.push(p)
	}
	return p
}

// encode fills a pending step's store writes, prepared by the store in
// this goroutine, and marks it ready. A write that cannot be encoded
// (storable should have caught it) fails its batch.
func (s *Service) encode(p *pending, m *engine.Machine, res *engine.Result) {
	defer close(p.ready)
	w := store.StepWrite{EventID: p.eventID, Result: p.raw}
	var err error
	if w.Lead, err = encodeLead(m, res.Lead); err != nil {
		p.encErr = err
		return
	}
	if w.Entry, err = appendEntry(make([]byte, 0, 512), &res.Entry); err != nil {
		p.encErr = fmt.Errorf("encode history entry of lead %s: %w", res.Lead.ID, err)
		return
	}
	if p.eventID != "" && p.raw == nil {
		p.encErr = fmt.Errorf("encode the answer to event %s of lead %s", p.eventID, res.Lead.ID)
		return
	}
	for i, n := range res.Notifications {
		b, err := json.Marshal(outboxNote{
			ID: fmt.Sprintf("%s:%d:%d", res.Lead.ID, res.Entry.Seq, i), Notification: n, Workflow: res.Lead.Workflow,
		})
		if err != nil {
			p.encErr = fmt.Errorf("encode notification of lead %s: %w", res.Lead.ID, err)
			return
		}
		w.Notifications = append(w.Notifications, b)
	}
	if !s.cfg.NoReports {
		pm := m
		if p.prev != nil && p.prev.Version != res.Lead.Version {
			pm = s.reg.machine(p.prev.Version)
		}
		w.Counts = s.dims.Counts(m, res, pm, p.prev)
	}
	if p.write, err = s.st.Prepare(w); err != nil {
		p.encErr = fmt.Errorf("lead %s: %w", res.Lead.ID, err)
	}
}

// outboxNote is a notification as the outbox and the webhook carry it.
type outboxNote struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	engine.Notification
}

// newID returns a random lead id.
func newID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "ld_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
