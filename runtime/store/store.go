// Package store keeps the runtime's durable state: leads, their history,
// event-id dedup records, the due-time timer index, routing state, lookup
// indexes, the notification outbox, and compiled workflow versions.
//
// Store is deliberately small and knows nothing of the engine's semantics:
// a lead is an opaque encoded blob plus the few attributes the indexes need,
// routing state is a set of opaque rows. The contract every implementation
// keeps is written in the interface below and tested by the suite in
// runtime/store/storetest, which each implementation runs: Badger
// (badger.go) is the embedded default, memstore the in-memory store that
// `lead test` runs on. The interface is shaped so that several runtime
// nodes can share one database server: commits are conditional on each
// lead's sequence number, due timers are claimed with a lease, and the
// outbox is read only as far as every earlier entry is committed.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Errors every implementation returns for the same conditions.
var (
	// ErrNotFound is returned for a lead, version or record that does not
	// exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by Commit when a step's lead is not at the
	// sequence number the step was computed from: another writer moved it.
	// Nothing of the Commit is written.
	ErrConflict = errors.New("the lead changed since the step was computed")
	// ErrClosed is returned by every method of a closed store.
	ErrClosed = errors.New("store is closed")
	// ErrNoSpace is returned by Health while the store's disk is too full
	// to write safely.
	ErrNoSpace = errors.New("not enough free disk space")
	// ErrFenced is returned by Commit on a store that several nodes
	// share when the committing node no longer holds the lease of a
	// step's partition (it ran out, or another node took the partition
	// over): nothing of the Commit is written.
	ErrFenced = errors.New("this node no longer holds the lead's partition")
)

// Lead is a lead as the store sees it.
type Lead struct {
	ID       string
	Workflow string
	Version  string
	Stage    string
	Owner    string
	Terminal bool // in a terminal stage: not in flight
	Stuck    bool
	// Seq is the sequence number of the lead's last step (1 after its
	// capture): the version a conditional commit checks.
	Seq uint64
	// Timers are the lead's pending timers (name → due): the store keeps
	// its due-time index in step with them.
	Timers map[string]time.Time
	// Data is the whole encoded lead, stored as is.
	Data []byte
}

// StepWrite is everything one engine step changes. A Commit applies each
// step atomically: all of it or none.
type StepWrite struct {
	// Lead is the lead after the step; its Seq must be the step's
	// sequence number, one more than the stored lead's (1 for a capture,
	// whose lead must not exist yet).
	Lead Lead
	// Entry is the encoded history entry stored under Lead.Seq.
	Entry []byte
	// Notifications are appended to the outbox in order.
	Notifications [][]byte
	// EventID, if set, records Result as the answer to a repeated
	// delivery of that event id for this lead.
	EventID string
	Result  []byte
	// Counts are increments of named counters (the reports' aggregates),
	// applied with the step: a counter exists while it is not zero.
	Counts map[string]int64
}

// Step is a committed step in the step stream: its place in commit order,
// its lead, and its history entry.
type Step struct {
	Seq    uint64
	LeadID string
	Entry  []byte
}

// Prepared is a StepWrite that a store has validated and encoded for
// itself, in the caller's goroutine (Store.Prepare), ready for Commit.
// Its contents belong to the store that prepared it.
type Prepared interface {
	// Step is the StepWrite that was prepared.
	Step() *StepWrite
}

// DueTimer is a timer in the due-time index.
type DueTimer struct {
	LeadID string
	Name   string
	Due    time.Time
}

// Query selects leads by index. Empty fields match everything.
type Query struct {
	Workflow string
	Stage    string
	Owner    string
	Stuck    *bool
	Limit    int    // at most this many (0: a default of 100)
	Cursor   string // from a previous page; "" for the first
}

// OutboxItem is a stored notification with its position in the outbox.
type OutboxItem struct {
	Seq  uint64
	Data []byte
}

// Version is a stored compiled workflow version.
type Version struct {
	Workflow string
	Version  string
	IR       []byte
	SavedAt  time.Time
}

// Store is the runtime's durable state.
type Store interface {
	// GetLead returns a lead, or ErrNotFound.
	GetLead(ctx context.Context, id string) (*Lead, error)
	// Prepare validates a step and encodes it for Commit. It reads
	// nothing and may run in any goroutine, so that a caller with many
	// steps in flight spreads the work over its cores; sw must not change
	// afterwards. It returns the error Commit would return for the step.
	Prepare(sw StepWrite) (Prepared, error)
	// Commit applies prepared steps, each atomically and in order, and
	// returns once they are durable. Several steps of one lead may come in
	// order in one call. Each step is conditional: if its lead's stored
	// Seq is not one less than the step's, Commit writes nothing and
	// returns an error wrapping ErrConflict. routing is the steps' change
	// to the routing state rows, conditional as a whole (RoutingChange)
	// and stored in the same commit.
	Commit(ctx context.Context, steps []Prepared, routing RoutingChange) error
	// CommitLocked is how writers that share a store (several nodes on
	// one database), each deciding routing from its own copy of the
	// rows, stop losing the race for a row to each other's commits again
	// and again. It locks the named routing rows against every other
	// commit, reads them, calls plan with them, and commits the steps and
	// change plan returns, as one commit: a decision made from those rows
	// cannot be refused for them (ErrConflict remains possible for a
	// lead, or for a row plan did not name and another commit holds). A
	// plan error is returned as it is, with nothing written.
	CommitLocked(ctx context.Context, names []string, plan func(rows map[string][]byte) ([]Prepared, RoutingChange, error)) error
	// EventResult returns the stored result of an event id of a lead.
	EventResult(ctx context.Context, leadID, eventID string) ([]byte, bool, error)
	// ClaimDue returns up to limit timers due at or before now that no
	// one holds, earliest first (ties by lead id, then name), and holds
	// them until now+lease: a second claim does not return them until
	// then (a lease of 0 holds nothing). A timer leaves the index when a step removes or moves it;
	// a claim expires by itself, so a timer whose step never committed
	// (the claimant failed or died) is claimed again after the lease.
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]DueTimer, error)
	// Hold extends the claims of timers until until (a failed step
	// retried after a backoff).
	Hold(ctx context.Context, timers []DueTimer, until time.Time) error
	// NextDue returns the earliest time at or after now when ClaimDue
	// could return a timer (a due time, or the end of a claim), if any
	// timer is pending.
	NextDue(ctx context.Context, now time.Time) (time.Time, bool, error)
	// History returns up to limit encoded history entries of a lead with
	// sequence numbers after afterSeq, in order (limit <= 0: all).
	History(ctx context.Context, leadID string, afterSeq uint64, limit int) ([][]byte, error)
	// Leads returns a page of leads matching q, in id order, and the
	// cursor of the next page ("" at the end).
	Leads(ctx context.Context, q Query) ([]Lead, string, error)
	// Outbox returns up to limit notifications after sequence number
	// afterSeq, in order (limit <= 0: all), but only as far as every
	// entry before them is committed: a reader that continues from the
	// last one it got never skips an entry committed late.
	Outbox(ctx context.Context, afterSeq uint64, limit int) ([]OutboxItem, error)
	// Steps returns up to limit committed steps after sequence number
	// afterSeq, in commit order (limit <= 0: all), as far as every step
	// before them is committed, as Outbox does.
	Steps(ctx context.Context, afterSeq uint64, limit int) ([]Step, error)
	// Counters calls fn with every counter whose name is in [from, to)
	// (to "" for no end), in name order: a report reads a window of days
	// as one range.
	Counters(ctx context.Context, from, to string, fn func(name string, n int64)) error
	// ReplaceCounters replaces every counter under prefix with counts,
	// durably (rebuilding the aggregates from history). It is not
	// atomic against concurrent commits: run it on a store no one is
	// writing to.
	ReplaceCounters(ctx context.Context, prefix string, counts map[string]int64) error
	// Routing returns the stored routing state rows with the given names
	// (a name not stored is left out), or every row if no name is given.
	Routing(ctx context.Context, names ...string) (map[string][]byte, error)
	// SaveVersion stores a compiled workflow version (idempotent: a
	// version stored before is left as it is).
	SaveVersion(ctx context.Context, v Version) error
	// Versions returns every stored version.
	Versions(ctx context.Context) ([]Version, error)
	// InFlight counts the non-terminal leads of a workflow per version.
	InFlight(ctx context.Context, workflow string) (map[string]int, error)
	// Meta reads and PutMeta writes (durably) a small named value, such as
	// the webhook dispatcher's cursor.
	Meta(ctx context.Context, key string) ([]byte, bool, error)
	PutMeta(ctx context.Context, key string, value []byte) error
	// Health reports whether the store takes writes now: nil, an error
	// wrapping ErrNoSpace while its disk is too full to write safely, or
	// the error that broke it. The store does not refuse a write for want
	// of space by itself (a caller may have applied the step in memory
	// already): callers ask before they start a step. It is cheap enough
	// to call before every one.
	Health() error
	// Close flushes and closes the store.
	Close() error
}

// RoutingChange is what a commit does to the routing state rows (one row
// per team and one per owner with open leads, engine.TeamRow and
// engine.OpenRow). Nodes that share a store each decide with their own
// copy of the rows, so a decision is committed only if the rows it was
// made from are still as it saw them: a routing change is a compare and
// set, which makes every routing decision of the nodes serializable (a
// round-robin turn or a member's capacity is never taken twice).
type RoutingChange struct {
	// Expect holds the rows the steps' decisions read (or change), each
	// with the value it must have when the commit is applied (nil: no
	// such row). If a stored row differs, Commit writes nothing and
	// returns an error wrapping ErrConflict.
	Expect map[string][]byte
	// Set writes rows (a nil value deletes one).
	Set map[string][]byte
	// Add changes count rows (a decimal integer; a missing row is 0) by a
	// number; a count at or under zero is deleted.
	Add map[string]int64
}

// Empty reports whether the change reads and writes no row.
func (c RoutingChange) Empty() bool {
	return len(c.Expect) == 0 && len(c.Set) == 0 && len(c.Add) == 0
}

// Names calls fn with every row the change names, once or more.
func (c RoutingChange) Names(fn func(name string)) {
	for k := range c.Expect {
		fn(k)
	}
	for k := range c.Set {
		fn(k)
	}
	for k := range c.Add {
		fn(k)
	}
}

// AddCount returns a count row's value (nil: no row) changed by d, as
// RoutingChange.Add leaves it: nil at or under zero.
func AddCount(row []byte, d int64) ([]byte, error) {
	n := int64(0)
	if row != nil {
		var err error
		if n, err = strconv.ParseInt(string(row), 10, 64); err != nil {
			return nil, fmt.Errorf("routing count row %q is not a number", row)
		}
	}
	if n += d; n <= 0 {
		return nil, nil
	}
	return strconv.AppendInt(nil, n, 10), nil
}

// Backuper is a Store that writes consistent online backups of itself
// (the Badger store; a database server has its own tools).
type Backuper interface {
	Backup(ctx context.Context, w io.Writer) error
}

// CounterMap reads the counters in [from, to) into a map.
func CounterMap(ctx context.Context, s Store, from, to string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.Counters(ctx, from, to, func(name string, n int64) { out[name] = n })
	return out, err
}

// PrefixEnd returns the end of the range of names that start with p (""
// for none): Counters(ctx, p, PrefixEnd(p)) reads the counters under p.
func PrefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
