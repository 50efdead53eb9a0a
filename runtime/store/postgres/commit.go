package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store"
)

// Group commit.
//
// Commit validates its steps in the caller's goroutine and queues them;
// the committer takes everything queued, by any number of callers, and
// writes it as one transaction: a pipelined batch of set-based statements
// (each table's rows as arrays, unnest on the server) that PostgreSQL
// runs as one implicit transaction and makes durable at its end, in a
// single round trip. Only then are the callers released.
//
// Conditions. A step is conditional on its lead's stored sequence
// number; a commit of a node that shares the database is conditional on
// the node's leases of the partitions it writes to (fence.go). Both are
// checked by the statements themselves, on the server (lead_check,
// lead_fence): a failed check fails the transaction and nothing of it is
// written. Chains of steps of one lead inside the group are checked here
// first, so that the server only compares each lead's first step of the
// group with the stored lead. When the transaction of a group of several
// requests fails a check, each request is committed again alone, in
// order, so that only the requests that fail their checks fail (as on
// Badger: a conflicting request writes nothing; the others commit).
//
// Ordering. Requests are applied in queue order, so notifications and
// steps are numbered in commit order within a node; across nodes, a
// reader sees them in the order of the watermark (stream.go).
//
// Failure. An error other than a failed check (the connection broke, the
// server went away) leaves the outcome unknown: the callers get the
// error. The store stays usable: the next commit starts a new
// transaction, and what the failed one did is what the database says.

// prepared is a validated StepWrite with what the statements need.
type prepared struct {
	sw     store.StepWrite
	part   int32
	timers []byte
}

func (p *prepared) Step() *store.StepWrite { return &p.sw }

// Prepare validates a step as every store does (the same names, times and
// limit per step) and encodes its timers.
func (s *Store) Prepare(sw store.StepWrite) (store.Prepared, error) {
	if _, err := store.CheckStep(sw); err != nil {
		return nil, err
	}
	return &prepared{sw: sw, part: int32(Partition(sw.Lead.ID)), timers: encodeTimers(sw.Lead.Timers)}, nil
}

// request is a Commit on its way to the database.
type request struct {
	steps   []*prepared
	routing store.RoutingChange
	epochs  map[int32]int64 // the fence's epoch of each partition written
	err     error
	done    chan struct{}
}

// Commit applies steps, each conditional on its lead's Seq, and returns
// once they are durable: all of them, or (on a failed check) none.
func (s *Store) Commit(ctx context.Context, steps []store.Prepared, routing store.RoutingChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(steps) == 0 && routing.Empty() {
		return nil
	}
	r, err := s.request(steps, routing)
	if err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	s.pending.Put(r)
	s.mu.RUnlock()
	<-r.done // once queued, a request is not abandoned: its caller learns what became of it
	return r.err
}

// request validates a commit's steps and routing change, and takes the
// fence's epochs of the partitions it writes to.
func (s *Store) request(steps []store.Prepared, routing store.RoutingChange) (*request, error) {
	if err := store.CheckRouting(routing); err != nil {
		return nil, fmt.Errorf("commit: %w; nothing was written", err)
	}
	r := &request{routing: routing, steps: make([]*prepared, len(steps)), done: make(chan struct{})}
	for i, st := range steps {
		p, ok := st.(*prepared)
		if !ok {
			return nil, fmt.Errorf("commit: step %d of %d was not prepared by this store; nothing was written", i+1, len(steps))
		}
		r.steps[i] = p
	}
	if f := s.fence.Load(); f != nil {
		r.epochs = map[int32]int64{}
		for _, p := range r.steps {
			e, ok := f.fence.Epoch(int(p.part))
			if !ok {
				s.stats.Fenced.Add(1)
				return nil, fmt.Errorf("commit: lead %s: %w (partition %d); nothing was written", p.sw.Lead.ID, store.ErrFenced, p.part)
			}
			r.epochs[p.part] = e
		}
	}
	return r, nil
}

// CommitLocked commits steps that plan makes while the named routing
// rows are locked: in one transaction, it locks the rows against every
// other commit, reads them, calls plan with them, and commits what plan
// returns. Where optimistic routing decisions keep losing the race for a
// team's row to another node's commits, a decision made this way cannot
// lose it: nothing changes the rows between its read and its commit.
// The transaction holds a pooled connection while plan runs; callers
// make one such commit at a time.
func (s *Store) CommitLocked(ctx context.Context, names []string, plan func(rows map[string][]byte) ([]store.Prepared, store.RoutingChange, error)) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	for _, n := range names {
		if err := store.CheckRowName("routing row", n); err != nil {
			return fmt.Errorf("commit: %w; nothing was written", err)
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, sqlRoutingLock, slices.Sorted(slices.Values(names)), routingLock); err != nil {
		return s.commitErr(err)
	}
	got, err := readRouting(ctx, tx, names)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	steps, ch, err := plan(got)
	if err != nil {
		return err
	}
	if len(steps) == 0 && ch.Empty() {
		return nil
	}
	r, err := s.request(steps, ch)
	if err != nil {
		return err
	}
	// Rows the plan named beyond names are locked only if no one holds
	// them: waiting for them here, out of the order every commit locks
	// rows in, could deadlock. If one is held, nothing is written, and
	// the caller plans again with every row named.
	locked := map[string]bool{}
	for _, n := range names {
		locked[n] = true
	}
	var extra []string
	ch.Names(func(n string) {
		if !locked[n] {
			locked[n] = true
			extra = append(extra, n)
		}
	})
	if len(extra) > 0 {
		var ok bool
		if err := tx.QueryRow(ctx, sqlRoutingTryLock, extra, routingLock).Scan(&ok); err != nil {
			return s.commitErr(err)
		}
		if !ok {
			return fmt.Errorf("commit: %w: routing rows %v are being changed by another commit; nothing was written", store.ErrConflict, extra)
		}
	}
	at := map[string]uint64{}
	if err := chain(r, at); err != nil {
		return err
	}
	g := collect([]*request{r})
	ctx = context.Background() // a commit under way is not abandoned
	if err := tx.SendBatch(ctx, s.batch(g)).Close(); err != nil {
		return s.commitErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.commitErr(err)
	}
	s.stats.Commits.Add(1)
	s.stats.Steps.Add(int64(g.steps))
	return nil
}

// commitLoop is the committer.
func (s *Store) commitLoop() {
	for {
		reqs, ok := s.pending.Take()
		if !ok {
			return
		}
		s.commitGroup(reqs, true)
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// Server-side failures of a commit's checks.
const (
	stateConflict = "LD409" // lead_check: a lead is not where its step was computed from
	stateFenced   = "LD410" // lead_fence: a partition's lease is lost
	stateUnique   = "23505" // a capture of an existing lead, or an event id recorded already
)

// maxRetries bounds the tries of a commit the database rolled back for a
// deadlock or a serialization failure.
const maxRetries = 5

// retryable reports whether a commit that failed with SQLSTATE state
// wrote nothing and may be tried again as it is.
func retryable(state string) bool {
	return state == "40P01" || state == "40001" // deadlock_detected, serialization_failure
}

// commitGroup commits reqs in one transaction and sets the err of each
// request that fails; with retry, a group that fails a check is
// committed again one request at a time.
func (s *Store) commitGroup(reqs []*request, retry bool) {
	var in []*request
	at := map[string]uint64{} // the last step of each lead in the group so far
	for _, r := range reqs {
		if err := chain(r, at); err != nil {
			r.err = err
			continue
		}
		in = append(in, r)
	}
	if len(in) == 0 {
		return
	}
	// A transaction holds one request's routing change at most: each is
	// checked against the rows as the requests before it left them, which
	// only the database knows (another node may write them too).
	routed := 0
	for i, r := range in {
		if r.routing.Empty() {
			continue
		}
		if routed++; routed > 1 {
			s.commitGroup(in[:i], retry)
			s.commitGroup(in[i:], retry)
			return
		}
	}
	err := s.write(in)
	// A deadlock victim or a serialization failure was rolled back
	// whole: it is tried again.
	for try := 1; try < maxRetries && retryable(sqlState(err)); try++ {
		s.log.Warn("commit rolled back by the database; trying again", "err", err, "try", try)
		err = s.write(in)
	}
	if err == nil {
		return
	}
	state := sqlState(err)
	checked := state == stateConflict || state == stateFenced || state == stateUnique
	if checked && retry && len(in) > 1 {
		for _, r := range in {
			s.commitGroup([]*request{r}, false)
		}
		return
	}
	err = s.commitErr(err)
	for _, r := range in {
		r.err = err
	}
}

// commitErr names a failed commit's error as the Store contract does.
func (s *Store) commitErr(err error) error {
	switch sqlState(err) {
	case stateConflict, stateUnique, "40P01", "40001":
		return fmt.Errorf("commit: %w (%v); nothing was written", store.ErrConflict, err)
	case stateFenced:
		s.stats.Fenced.Add(1)
		return fmt.Errorf("commit: %w (%v); nothing was written", store.ErrFenced, err)
	}
	return fmt.Errorf("commit: %w", err)
}

// chain checks the steps of r against the steps before them in the group
// (at) and records them there: each step of a lead one after the last.
// A lead's first step in the group is checked against the stored lead on
// the server.
func chain(r *request, at map[string]uint64) error {
	var mine map[string]uint64
	for i, p := range r.steps {
		l := &p.sw.Lead
		last, ok := mine[l.ID]
		if !ok {
			last, ok = at[l.ID]
		}
		if ok && l.Seq != last+1 {
			return fmt.Errorf("commit: step %d of %d: %w: lead %s is at step %d, and this is step %d; nothing was written", i+1, len(r.steps), store.ErrConflict, l.ID, last, l.Seq)
		}
		if mine == nil {
			mine = map[string]uint64{}
		}
		mine[l.ID] = l.Seq
	}
	for id, seq := range mine {
		at[id] = seq
	}
	return nil
}

// group is a transaction's rows, column by column.
type group struct {
	// leads inserted (their first step in the group is a capture) and
	// updated (from prev, the stored seq).
	ins, upd leadRows
	prev     []int64

	histLead  []string
	histSeq   []int64
	histEntry [][]byte

	evLead, evID []string
	evResult     [][]byte

	staleLeads           []string // leads whose stored timers may go
	timerLead, timerName []string
	timerDue             []int64
	timerPart            []int32
	notes                [][]byte
	stepLead             []string
	stepSeq              []int64
	counterName          []string
	counterN             []int64
	routeLock            []string // every routing row named, sorted
	expectName           []string
	expectValue          [][]byte
	routeName            []string
	routeValue           [][]byte
	routeGone            []string
	addName              []string
	addN                 []int64
	fenceParts           []int32
	fenceEpochs          []int64
	steps                int
}

type leadRows struct {
	id                              []string
	part                            []int32
	workflow, version, stage, owner []string
	terminal, stuck                 []bool
	seq                             []int64
	timers, data                    [][]byte
}

func (r *leadRows) add(p *prepared) {
	l := &p.sw.Lead
	r.id = append(r.id, l.ID)
	r.part = append(r.part, p.part)
	r.workflow = append(r.workflow, l.Workflow)
	r.version = append(r.version, l.Version)
	r.stage = append(r.stage, l.Stage)
	r.owner = append(r.owner, l.Owner)
	r.terminal = append(r.terminal, l.Terminal)
	r.stuck = append(r.stuck, l.Stuck)
	r.seq = append(r.seq, int64(l.Seq))
	r.timers = append(r.timers, p.timers)
	data := l.Data
	if data == nil {
		data = []byte{}
	}
	r.data = append(r.data, data)
}

// collect turns requests into a group's rows: each lead's final state,
// every step's history entry, event result, notifications and stream
// entry, the counters summed, the routing change (of one request at
// most: commitGroup).
func collect(reqs []*request) *group {
	g := &group{}
	type leadPlan struct {
		first, last *prepared
	}
	plans := map[string]*leadPlan{}
	var order []string
	counts := map[string]int64{}
	var routing store.RoutingChange
	epochs := map[int32]int64{}
	for _, r := range reqs {
		for _, p := range r.steps {
			l := &p.sw.Lead
			lp := plans[l.ID]
			if lp == nil {
				lp = &leadPlan{first: p}
				plans[l.ID] = lp
				order = append(order, l.ID)
			}
			lp.last = p
			g.histLead = append(g.histLead, l.ID)
			g.histSeq = append(g.histSeq, int64(l.Seq))
			g.histEntry = append(g.histEntry, nonNil(p.sw.Entry))
			if p.sw.EventID != "" {
				g.evLead = append(g.evLead, l.ID)
				g.evID = append(g.evID, p.sw.EventID)
				g.evResult = append(g.evResult, nonNil(p.sw.Result))
			}
			for _, n := range p.sw.Notifications {
				g.notes = append(g.notes, nonNil(n))
			}
			g.stepLead = append(g.stepLead, l.ID)
			g.stepSeq = append(g.stepSeq, int64(l.Seq))
			for name, d := range p.sw.Counts {
				counts[name] += d
			}
			g.steps++
		}
		if !r.routing.Empty() {
			routing = r.routing
		}
		for part, e := range r.epochs {
			epochs[part] = e
		}
	}
	for _, id := range order {
		lp := plans[id]
		if lp.first.sw.Lead.Seq == 1 {
			g.ins.add(lp.last)
		} else {
			g.upd.add(lp.last)
			g.prev = append(g.prev, int64(lp.first.sw.Lead.Seq-1))
			g.staleLeads = append(g.staleLeads, id)
		}
		for name, due := range lp.last.sw.Lead.Timers {
			g.timerLead = append(g.timerLead, id)
			g.timerName = append(g.timerName, name)
			g.timerDue = append(g.timerDue, due.UnixNano())
			g.timerPart = append(g.timerPart, lp.last.part)
		}
	}
	// Counters and routing rows in name order: two transactions that
	// lock rows in one order cannot deadlock.
	for _, name := range slices.Sorted(mapsKeys(counts)) {
		if d := counts[name]; d != 0 {
			g.counterName = append(g.counterName, name)
			g.counterN = append(g.counterN, d)
		}
	}
	lock := map[string]bool{}
	routing.Names(func(name string) { lock[name] = true })
	g.routeLock = slices.Sorted(mapsKeys(lock))
	for _, name := range slices.Sorted(mapsKeys(routing.Expect)) {
		g.expectName = append(g.expectName, name)
		g.expectValue = append(g.expectValue, routing.Expect[name])
	}
	for _, name := range slices.Sorted(mapsKeys(routing.Set)) {
		if v := routing.Set[name]; v == nil {
			g.routeGone = append(g.routeGone, name)
		} else {
			g.routeName = append(g.routeName, name)
			g.routeValue = append(g.routeValue, v)
		}
	}
	for _, name := range slices.Sorted(mapsKeys(routing.Add)) {
		g.addName = append(g.addName, name)
		g.addN = append(g.addN, routing.Add[name])
	}
	for _, part := range slices.Sorted(func(yield func(int32) bool) {
		for p := range epochs {
			if !yield(p) {
				return
			}
		}
	}) {
		g.fenceParts = append(g.fenceParts, part)
		g.fenceEpochs = append(g.fenceEpochs, epochs[part])
	}
	return g
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// routingLock is the class (the first key) of the advisory locks on
// routing rows; the step stream's lock is a one-key lock, which
// PostgreSQL keeps apart from two-key ones.
const routingLock int32 = 0x4c44 // "LD"

// The statements of a commit.
const (
	sqlStreamLock = "SELECT pg_advisory_xact_lock_shared($1)"
	sqlFence      = "SELECT lead_fence($1, $2, $3)"
	sqlInsertLead = `INSERT INTO leads (id, part, workflow, version, stage, owner, terminal, stuck, seq, timers, data)
SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::boolean[], $9::bigint[], $10::bytea[], $11::bytea[])`
	sqlUpdateLead = `WITH u AS (
	UPDATE leads l SET workflow = u.workflow, version = u.version, stage = u.stage, owner = u.owner,
		terminal = u.terminal, stuck = u.stuck, seq = u.seq, timers = u.timers, data = u.data
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::boolean[], $9::bigint[], $10::bytea[], $11::bytea[])
		AS u(id, prev, workflow, version, stage, owner, terminal, stuck, seq, timers, data)
	WHERE l.id = u.id AND l.seq = u.prev
	RETURNING 1)
SELECT lead_check((SELECT count(*) FROM u) = $12, 'LD409', 'a lead is not at the step its next step was computed from')`
	sqlHistory     = "INSERT INTO history (lead_id, seq, entry) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])"
	sqlEvents      = "INSERT INTO events (lead_id, event_id, result) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])"
	sqlStaleTimers = `DELETE FROM timers t USING unnest($1::text[]) AS s(id)
WHERE t.lead_id = s.id AND NOT EXISTS (
	SELECT 1 FROM unnest($2::text[], $3::text[]) AS k(lead_id, name) WHERE k.lead_id = t.lead_id AND k.name = t.name)`
	// A timer whose due is unchanged keeps its row and its claim; one
	// that moved is a new timer, free to claim.
	sqlTimers = `INSERT INTO timers (lead_id, name, due, part)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[])
ON CONFLICT (lead_id, name) DO UPDATE SET due = EXCLUDED.due, claimed_until = NULL WHERE timers.due <> EXCLUDED.due`
	// Volatile functions in the select list are evaluated after ORDER BY:
	// numbers are taken in the notifications' order.
	sqlOutbox = `INSERT INTO outbox (seq, data)
SELECT nextval('outbox_seq'), d FROM unnest($1::bytea[]) WITH ORDINALITY AS x(d, o) ORDER BY o`
	sqlSteps = `INSERT INTO steps (seq, lead_id, lead_seq)
SELECT nextval('steps_seq'), l, s FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS x(l, s, o) ORDER BY o`
	sqlCounters = `INSERT INTO counters (name, shard, n)
SELECT name, $3, n FROM unnest($1::text[], $2::bigint[]) AS c(name, n) ORDER BY name
ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + EXCLUDED.n`
	sqlZeroCounters = "DELETE FROM counters WHERE shard = $2 AND name = ANY($1::text[]) AND n = 0"
	// A routing change holds a transaction-scoped lock on each row it
	// names, taken in one order (so two commits cannot deadlock), until
	// it commits: the rows it expects cannot change between its check
	// and its commit, nor can a row it expects to be missing appear.
	// Locks by the rows' hash, in a class of their own (routingLock).
	sqlRoutingLock    = `SELECT pg_advisory_xact_lock($2, h) FROM (SELECT DISTINCT hashtext(n) AS h FROM unnest($1::text[]) AS n ORDER BY 1) AS x`
	sqlRoutingTryLock = `SELECT coalesce(bool_and(pg_try_advisory_xact_lock($2, h)), true) FROM (SELECT DISTINCT hashtext(n) AS h FROM unnest($1::text[]) AS n) AS x`
	// The rest of a routing change is one call (migrations/0003_routing.sql).
	sqlRoute = "SELECT lead_route($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)

// write commits requests in one transaction: one pipelined batch, which
// PostgreSQL runs as one implicit transaction.
func (s *Store) write(reqs []*request) error {
	g := collect(reqs)
	ctx := context.Background() // a commit under way is not abandoned
	if err := s.pool.SendBatch(ctx, s.batch(g)).Close(); err != nil {
		return err
	}
	s.stats.Commits.Add(1)
	s.stats.Steps.Add(int64(g.steps))
	return nil
}

// batch is a group's statements, in the order they must run.
func (s *Store) batch(g *group) *pgx.Batch {
	b := &pgx.Batch{}
	// Every commit appends to the step stream: the watermark's lock
	// first, before any number is taken from the sequences.
	b.Queue(sqlStreamLock, s.streamKey)
	if f := s.fence.Load(); f != nil && len(g.fenceParts) > 0 {
		b.Queue(sqlFence, f.fence.Node(), g.fenceParts, g.fenceEpochs)
	}
	if len(g.routeLock) > 0 {
		b.Queue(sqlRoute, routingLock, g.routeLock, g.expectName, g.expectValue, g.routeName, g.routeValue, g.routeGone, g.addName, g.addN)
	}
	if n := len(g.ins.id); n > 0 {
		r := &g.ins
		b.Queue(sqlInsertLead, r.id, r.part, r.workflow, r.version, r.stage, r.owner, r.terminal, r.stuck, r.seq, r.timers, r.data)
	}
	if n := len(g.upd.id); n > 0 {
		r := &g.upd
		b.Queue(sqlUpdateLead, r.id, g.prev, r.workflow, r.version, r.stage, r.owner, r.terminal, r.stuck, r.seq, r.timers, r.data, int64(n))
	}
	if len(g.histLead) > 0 {
		b.Queue(sqlHistory, g.histLead, g.histSeq, g.histEntry)
		b.Queue(sqlSteps, g.stepLead, g.stepSeq)
	}
	if len(g.evLead) > 0 {
		b.Queue(sqlEvents, g.evLead, g.evID, g.evResult)
	}
	if len(g.staleLeads) > 0 {
		b.Queue(sqlStaleTimers, g.staleLeads, g.timerLead, g.timerName)
	}
	if len(g.timerLead) > 0 {
		b.Queue(sqlTimers, g.timerLead, g.timerName, g.timerDue, g.timerPart)
	}
	if len(g.notes) > 0 {
		b.Queue(sqlOutbox, g.notes)
	}
	if len(g.counterName) > 0 {
		b.Queue(sqlCounters, g.counterName, g.counterN, s.shard)
		b.Queue(sqlZeroCounters, g.counterName, s.shard)
	}
	return b
}
