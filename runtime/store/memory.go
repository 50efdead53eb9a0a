package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is the Store kept in memory: what `lead test` runs its tests on,
// each test on a store of its own. It keeps the contract (storetest) as
// Badger does, with the same validation and the same limits as Badger at
// its default options, and it is gone with the process.
type Memory struct {
	rows     rowLock // routing rows (locked.go)
	mu       sync.Mutex
	closed   bool
	leads    map[string]*Lead
	history  map[string][][]byte // entry seq-1 of each lead
	events   map[string]map[string][]byte
	timers   map[timerID]struct{}
	claims   map[timerID]time.Time
	outbox   []OutboxItem
	steps    []Step // Entry shared with history
	counters map[string]int64
	routing  map[string][]byte
	meta     map[string][]byte
	versions map[[2]string]Version
}

type timerID struct {
	due  int64 // Unix nanoseconds
	lead string
	name string
}

func (a timerID) compare(b timerID) int {
	return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.lead, b.lead), cmp.Compare(a.name, b.name))
}

func (t timerID) timer() DueTimer {
	return DueTimer{LeadID: t.lead, Name: t.name, Due: time.Unix(0, t.due).UTC()}
}

// memoryStepLimit is the largest step Memory takes: Badger's at its
// default memtable size (maxTxnSize/2), so that a test refuses what
// `lead run` would.
const memoryStepLimit = 15 * (16 << 20) / 100 / 10 * 9 / 2

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		leads: map[string]*Lead{}, history: map[string][][]byte{}, events: map[string]map[string][]byte{},
		timers: map[timerID]struct{}{}, claims: map[timerID]time.Time{}, routing: map[string][]byte{},
		meta: map[string][]byte{}, versions: map[[2]string]Version{}, counters: map[string]int64{},
	}
}

// lock takes the store's lock unless it is closed.
func (m *Memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// copyLead copies a lead, Data and Timers included.
func copyLead(l *Lead, data bool) *Lead {
	c := *l
	c.Timers = maps.Clone(l.Timers)
	c.Data = nil
	if data {
		c.Data = bytes.Clone(l.Data)
	}
	return &c
}

// GetLead returns a lead, or ErrNotFound.
func (m *Memory) GetLead(ctx context.Context, id string) (*Lead, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	l := m.leads[id]
	if l == nil {
		return nil, fmt.Errorf("lead %q: %w", id, ErrNotFound)
	}
	return copyLead(l, true), nil
}

// Prepare validates a step as Badger does and keeps a copy of it.
func (m *Memory) Prepare(sw StepWrite) (Prepared, error) {
	p, err := prepare(sw)
	if err != nil {
		return nil, err
	}
	if p.size > memoryStepLimit {
		return nil, fmt.Errorf("lead %q: the step writes %d bytes; the limit per step is %d bytes", sw.Lead.ID, p.size, memoryStepLimit)
	}
	c := &p.sw
	c.Lead = *copyLead(&sw.Lead, true)
	c.Entry, c.Result = bytes.Clone(sw.Entry), bytes.Clone(sw.Result)
	c.Counts = maps.Clone(sw.Counts)
	c.Notifications = make([][]byte, len(sw.Notifications))
	for i, n := range sw.Notifications {
		c.Notifications[i] = bytes.Clone(n)
	}
	return p, nil
}

// Commit applies prepared steps, each conditional on its lead's Seq,
// all of them or (on a conflict) none.
func (m *Memory) Commit(ctx context.Context, steps []Prepared, routing RoutingChange) error {
	return m.rows.commit(routing, func() error { return m.commit(ctx, steps, routing) })
}

func (m *Memory) commit(ctx context.Context, steps []Prepared, routing RoutingChange) error {
	if err := CheckRouting(routing); err != nil {
		return fmt.Errorf("commit: %w; nothing was written", err)
	}
	ps := make([]*prepared, len(steps))
	for i, st := range steps {
		p, ok := st.(*prepared)
		if !ok {
			return fmt.Errorf("commit: step %d of %d was not prepared by this store; nothing was written", i+1, len(steps))
		}
		ps[i] = p
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	at := map[string]uint64{}
	for i, p := range ps {
		l := &p.sw.Lead
		seq, ok := at[l.ID]
		if !ok {
			if cur := m.leads[l.ID]; cur != nil {
				seq = cur.Seq
			}
		}
		if l.Seq != seq+1 {
			return fmt.Errorf("commit: step %d of %d: %w: lead %s is at step %d, and this is step %d; nothing was written", i+1, len(ps), ErrConflict, l.ID, seq, l.Seq)
		}
		at[l.ID] = l.Seq
	}
	if err := checkExpect(routing, func(k string) ([]byte, error) { return m.routing[k], nil }); err != nil {
		return err
	}
	added := make(map[string][]byte, len(routing.Add))
	for k, d := range routing.Add {
		v, err := AddCount(m.routing[k], d)
		if err != nil {
			return fmt.Errorf("commit: %w; nothing was written", err)
		}
		added[k] = v
	}
	for _, p := range ps {
		m.apply(&p.sw)
	}
	for _, rows := range []map[string][]byte{routing.Set, added} {
		for k, v := range rows {
			if v == nil {
				delete(m.routing, k)
			} else {
				m.routing[k] = bytes.Clone(v)
			}
		}
	}
	return nil
}

// checkExpect compares the rows a routing change expects with the stored
// ones (get returns nil for a missing row).
func checkExpect(c RoutingChange, get func(name string) ([]byte, error)) error {
	for k, want := range c.Expect {
		got, err := get(k)
		if err != nil {
			return fmt.Errorf("commit: read routing row %s: %w; nothing was written", k, err)
		}
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			return fmt.Errorf("commit: %w: routing row %s changed since the step read it; nothing was written", ErrConflict, k)
		}
	}
	return nil
}

// apply writes one checked step. Called with m.mu.
func (m *Memory) apply(sw *StepWrite) {
	l := copyLead(&sw.Lead, true)
	if prev := m.leads[l.ID]; prev != nil {
		for name, due := range prev.Timers {
			id := timerID{due.UnixNano(), l.ID, name}
			delete(m.timers, id)
			delete(m.claims, id)
		}
	}
	for name, due := range l.Timers {
		m.timers[timerID{due.UnixNano(), l.ID, name}] = struct{}{}
	}
	m.leads[l.ID] = l
	m.history[l.ID] = append(m.history[l.ID], sw.Entry)
	if sw.EventID != "" {
		if m.events[l.ID] == nil {
			m.events[l.ID] = map[string][]byte{}
		}
		m.events[l.ID][sw.EventID] = sw.Result
	}
	for _, n := range sw.Notifications {
		m.outbox = append(m.outbox, OutboxItem{Seq: uint64(len(m.outbox)) + 1, Data: n})
	}
	m.steps = append(m.steps, Step{Seq: uint64(len(m.steps)) + 1, LeadID: l.ID, Entry: sw.Entry})
	for name, d := range sw.Counts {
		if m.counters[name] += d; m.counters[name] == 0 {
			delete(m.counters, name)
		}
	}
}

// EventResult returns the stored result of an event id of a lead.
func (m *Memory) EventResult(ctx context.Context, leadID, eventID string) ([]byte, bool, error) {
	if err := m.lock(ctx); err != nil {
		return nil, false, err
	}
	defer m.mu.Unlock()
	r, ok := m.events[leadID][eventID]
	return bytes.Clone(r), ok, nil
}

// sortedTimers returns the timers due at or before now in index order.
// Called with m.mu.
func (m *Memory) sortedTimers(now time.Time) []timerID {
	var ts []timerID
	for id := range m.timers {
		if id.due <= now.UnixNano() {
			ts = append(ts, id)
		}
	}
	slices.SortFunc(ts, timerID.compare)
	return ts
}

// ClaimDue returns up to limit unclaimed timers due at or before now and
// claims them until now+lease.
func (m *Memory) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]DueTimer, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for id, u := range m.claims {
		if !u.After(now) {
			delete(m.claims, id)
		}
	}
	var out []DueTimer
	for _, id := range m.sortedTimers(now) {
		if limit > 0 && len(out) == limit {
			break
		}
		if _, held := m.claims[id]; held {
			continue
		}
		if lease > 0 {
			m.claims[id] = now.Add(lease)
		}
		out = append(out, id.timer())
	}
	return out, nil
}

// Hold extends the claims of timers until until.
func (m *Memory) Hold(ctx context.Context, timers []DueTimer, until time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, t := range timers {
		m.claims[timerID{t.Due.UnixNano(), t.LeadID, t.Name}] = until
	}
	return nil
}

// NextDue returns the earliest time at or after now when ClaimDue could
// return a timer.
func (m *Memory) NextDue(ctx context.Context, now time.Time) (time.Time, bool, error) {
	if err := m.lock(ctx); err != nil {
		return time.Time{}, false, err
	}
	defer m.mu.Unlock()
	var next time.Time
	found := false
	for id := range m.timers {
		at := time.Unix(0, id.due).UTC()
		if u, held := m.claims[id]; held && u.After(now) && u.After(at) {
			at = u
		}
		if !found || at.Before(next) {
			next, found = at, true
		}
	}
	if found && next.Before(now) {
		next = now
	}
	return next, found, nil
}

// History returns up to limit history entries of a lead after afterSeq.
func (m *Memory) History(ctx context.Context, leadID string, afterSeq uint64, limit int) ([][]byte, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	h := m.history[leadID]
	if afterSeq >= uint64(len(h)) {
		return nil, nil
	}
	h = h[afterSeq:]
	if limit > 0 && len(h) > limit {
		h = h[:limit]
	}
	out := make([][]byte, len(h))
	for i, e := range h {
		out[i] = bytes.Clone(e)
	}
	return out, nil
}

// Leads returns a page of leads matching q, in id order.
func (m *Memory) Leads(ctx context.Context, q Query) ([]Lead, string, error) {
	for _, c := range []struct{ what, v string }{{"workflow", q.Workflow}, {"stage", q.Stage}, {"owner", q.Owner}} {
		if err := checkName(c.what, c.v, false); err != nil {
			return nil, "", fmt.Errorf("leads: %w", err)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var after string
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || checkName("cursor", string(b), true) != nil {
			return nil, "", fmt.Errorf("leads: invalid cursor %q: pass the cursor of the previous page unchanged", q.Cursor)
		}
		after = string(b)
	}
	if err := m.lock(ctx); err != nil {
		return nil, "", err
	}
	defer m.mu.Unlock()
	var ids []string
	for id, l := range m.leads {
		if (after == "" || id > after) && matches(l, q) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(ids[limit-1]))
	}
	page := make([]Lead, len(ids))
	for i, id := range ids {
		page[i] = *copyLead(m.leads[id], true)
	}
	return page, next, nil
}

// Outbox returns up to limit notifications after afterSeq: all committed,
// since a commit appends under the store's lock.
func (m *Memory) Outbox(ctx context.Context, afterSeq uint64, limit int) ([]OutboxItem, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if afterSeq >= uint64(len(m.outbox)) {
		return nil, nil
	}
	items := m.outbox[afterSeq:]
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	out := make([]OutboxItem, len(items))
	for i, it := range items {
		out[i] = OutboxItem{Seq: it.Seq, Data: bytes.Clone(it.Data)}
	}
	return out, nil
}

// Steps returns up to limit committed steps after afterSeq.
func (m *Memory) Steps(ctx context.Context, afterSeq uint64, limit int) ([]Step, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if afterSeq >= uint64(len(m.steps)) {
		return nil, nil
	}
	steps := m.steps[afterSeq:]
	if limit > 0 && len(steps) > limit {
		steps = steps[:limit]
	}
	out := make([]Step, len(steps))
	for i, st := range steps {
		out[i] = Step{Seq: st.Seq, LeadID: st.LeadID, Entry: bytes.Clone(st.Entry)}
	}
	return out, nil
}

// Counters returns every counter whose name starts with prefix.
func (m *Memory) Counters(ctx context.Context, from, to string, fn func(string, int64)) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	var names []string
	for k := range m.counters {
		if k >= from && (to == "" || k < to) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	counts := make([]int64, len(names))
	for i, k := range names {
		counts[i] = m.counters[k]
	}
	m.mu.Unlock() // fn may call the store
	for i, k := range names {
		fn(k, counts[i])
	}
	return nil
}

// ReplaceCounters replaces every counter under prefix with counts.
func (m *Memory) ReplaceCounters(ctx context.Context, prefix string, counts map[string]int64) error {
	for name := range counts {
		if err := checkNameLen("counter", name, true, 2*maxName); err != nil {
			return fmt.Errorf("replace counters: %w", err)
		}
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k := range m.counters {
		if strings.HasPrefix(k, prefix) {
			delete(m.counters, k)
		}
	}
	for k, v := range counts {
		if v != 0 {
			m.counters[k] = v
		}
	}
	return nil
}

// Routing returns the named routing state rows, or every row.
func (m *Memory) Routing(ctx context.Context, names ...string) (map[string][]byte, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(m.routing))
	if len(names) > 0 {
		for _, k := range names {
			if v, ok := m.routing[k]; ok {
				out[k] = bytes.Clone(v)
			}
		}
		return out, nil
	}
	for k, v := range m.routing {
		out[k] = bytes.Clone(v)
	}
	return out, nil
}

// SaveVersion stores a compiled workflow version (idempotent).
func (m *Memory) SaveVersion(ctx context.Context, v Version) error {
	if err := checkVersion(&v); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := [2]string{v.Workflow, v.Version}
	if _, ok := m.versions[k]; !ok {
		v.IR = bytes.Clone(v.IR)
		m.versions[k] = v
	}
	return nil
}

// Versions returns every stored version, by workflow and then version.
func (m *Memory) Versions(ctx context.Context) ([]Version, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(m.versions), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	out := make([]Version, len(keys))
	for i, k := range keys {
		v := m.versions[k]
		v.IR = bytes.Clone(v.IR)
		out[i] = v
	}
	return out, nil
}

// InFlight counts the non-terminal leads of a workflow per version.
func (m *Memory) InFlight(ctx context.Context, workflow string) (map[string]int, error) {
	if err := checkName("workflow", workflow, true); err != nil {
		return nil, fmt.Errorf("in flight: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	counts := map[string]int{}
	for _, l := range m.leads {
		if l.Workflow == workflow && !l.Terminal {
			counts[l.Version]++
		}
	}
	return counts, nil
}

// Meta reads a small named value.
func (m *Memory) Meta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := m.lock(ctx); err != nil {
		return nil, false, err
	}
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	return bytes.Clone(v), ok, nil
}

// PutMeta writes a small named value.
func (m *Memory) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := checkName("meta key", key, true); err != nil {
		return fmt.Errorf("put meta: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	m.meta[key] = v
	return nil
}

// Health reports nil: memory is never short of disk space.
func (m *Memory) Health() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// Close drops nothing (the store is garbage once unreferenced) but
// refuses every later call.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	return nil
}
