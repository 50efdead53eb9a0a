// Package store keeps the runtime's durable state: leads, their history,
// event-id dedup records, the due-time timer index, routing state, lookup
// indexes, the notification outbox, and compiled workflow versions.
//
// Store is deliberately small and knows nothing of the engine's semantics:
// a lead is an opaque encoded blob plus the few attributes the indexes need.
// Badger (badger.go) is the embedded implementation; the interface is shaped
// so a PostgreSQL store could serve several runtime nodes later.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for a lead, version or record that does not exist.
var ErrNotFound = errors.New("not found")

// Lead is a lead as the store sees it.
type Lead struct {
	ID       string
	Workflow string
	Version  string
	Stage    string
	Owner    string
	Terminal bool // in a terminal stage: not in flight
	Stuck    bool
	// Timers are the lead's pending timers (name → due): the store keeps
	// its due-time index in step with them.
	Timers map[string]time.Time
	// Data is the whole encoded lead, stored as is.
	Data []byte
}

// StepWrite is everything one engine step changes. A Commit applies each
// StepWrite atomically: all of it or none.
type StepWrite struct {
	Lead Lead
	// Prev is the lead before the step (nil for a capture); its attributes
	// say which index entries and timers to remove.
	Prev *Lead
	// Seq is the lead's history sequence number of this step (1, 2, ...);
	// Entry is the encoded history entry stored under it.
	Seq   uint64
	Entry []byte
	// Notifications are appended to the outbox in order.
	Notifications [][]byte
	// EventID, if set, records Result as the answer to a repeated
	// delivery of that event id for this lead.
	EventID string
	Result  []byte

	plan *stepPlan // set by Prepare
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
	// Commit applies steps, each atomically and in order, and returns once
	// they are durable (fsynced). Several steps of one lead may appear in
	// order in one batch. rotation, if not nil, is the routing state after
	// the last step and is stored in the same commit.
	Commit(ctx context.Context, steps []StepWrite, rotation []byte) error
	// EventResult returns the stored result of an event id of a lead.
	EventResult(ctx context.Context, leadID, eventID string) ([]byte, bool, error)
	// DueTimers returns up to limit timers due at or before t, earliest
	// first (ties by lead id, then name).
	DueTimers(ctx context.Context, t time.Time, limit int) ([]DueTimer, error)
	// NextDue returns the earliest due time, if any timer is pending.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// History returns up to limit encoded history entries of a lead with
	// sequence numbers after afterSeq, in order.
	History(ctx context.Context, leadID string, afterSeq uint64, limit int) ([][]byte, error)
	// Leads returns a page of leads matching q, in id order, and the
	// cursor of the next page ("" at the end).
	Leads(ctx context.Context, q Query) ([]Lead, string, error)
	// Outbox returns up to limit notifications after seq afterSeq.
	Outbox(ctx context.Context, afterSeq uint64, limit int) ([]OutboxItem, error)
	// Rotation returns the stored routing state (nil if none yet).
	Rotation(ctx context.Context) ([]byte, error)
	// SaveVersion stores a compiled workflow version (idempotent).
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

// Backuper is a Store that writes consistent online backups of itself
// (the Badger store; a database server has its own tools).
type Backuper interface {
	Backup(ctx context.Context, w io.Writer) error
}
