package store

// Key layout of the Badger store. "␀" is the byte 0x00; names (lead ids,
// workflows, versions, stages, owners, timer names, event ids, meta keys)
// may not contain control characters, so a name never contains ␀ and,
// as ␀ sorts below every byte a name may hold, one name is never mistaken
// for the prefix of another ("a" + "/b" cannot collide with "a/b"). Numbers
// are 8-byte big-endian so that byte order is numeric order.
//
//	l/<id>                              lead record: attributes, seq, timers, Data (codec.go)
//	h/<id>␀<seq>                        history entry seq of a lead
//	e/<id>␀<event id>                   result of an event id (dedup)
//	t/<due><id>␀<name>                  pending timer; due is Unix ns with the sign bit flipped
//	r/<row>                             a routing state row
//	i/w/<workflow>␀<id>                 index: every lead of a workflow
//	i/s/<workflow>␀<stage>␀<id>         index: leads in a stage
//	i/o/<owner>␀<id>                    index: leads of an owner (owned leads only)
//	i/x/<id>                            index: stuck leads
//	i/v/<workflow>␀<version>␀<id>       index: in-flight (non-terminal) leads per version
//	o/<seq>                             outbox notification
//	s/outbox                            next outbox seq (never reused)
//	q/<seq>                             step stream: lead seq (uvarint) + lead id
//	s/steps                             next step stream seq
//	c/<name>                            counter: 8-byte big-endian int64
//	s/format                            layout version; Open refuses another
//	v/<workflow>␀<version>              compiled version: SavedAt + IR
//	m/<key>                             meta value
//
// Index entries and timers have empty values: the key is the record.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/leadlang/lead/internal/batchq"
)

// Options tunes the Badger store. The zero value gives the defaults, which
// suit the runtime's workload: many small records (a lead of a few hundred
// bytes to a few KiB, history entries of a few hundred bytes, empty index
// and timer keys) written in group commits, read by key or short prefix
// scans, on a small machine. Each default says why; the figures are from
// this package's benchmarks on the 2-core development VM.
//
// Memory, from TestBig (a million leads with a million timers): a
// restarted store serves its first NextDue 15 ms after Open begins, at
// 35 MiB resident, and under 300 MiB after 10,000 reads spread over all
// leads (most of it pages of the mapped tables, which the kernel can
// reclaim). Loading at full speed peaks near 1.2 GiB resident, 900 MiB of
// it Go heap, because Go's GC lets the heap double between collections
// while compactions build tables in memory; a memory limit of 640 MiB for
// the process (GOMEMLIMIT, or debug.SetMemoryLimit in main) keeps that
// peak under 1 GiB (620 MiB anonymous) at the same speed.
//
// Fixed choices, not options:
//   - DetectConflicts off: the committer is the only writer and the
//     runtime orders each lead's steps, so conflict tracking is wasted.
//   - Badger's expvar metrics off: the runtime exports its own.
//   - Level 0 holds up to 10 tables before compacting (stall at 30;
//     Badger: 5 and 15), and level 1 is 32 MiB (Badger: 10 MiB): every
//     step rewrites keys all over the key space (lead, history, timer,
//     index), so each L0→L1 compaction rewrites most of L1; doing it less
//     often cut CPU per step by about 15% and raised sustained group
//     commits by as much.
//   - Tables are 1 MiB at the base level (Badger: 2 MiB), doubling per
//     level: a compaction builds up to a dozen tables at once in memory,
//     at about twice their size with compression. With 2 MiB tables, the
//     compaction that a million leads' timers set off around the 75,000th
//     firing took the Go heap from about 110 MiB to over 600 MiB, into the
//     memory limit; with 1 MiB tables it peaked near 390 MiB. Throughput
//     did not change measurably (BenchmarkDurableEvents, alternating runs).
//     Bigger tables cut compaction CPU by a few percent more, at that cost.
type Options struct {
	// MemTableSize is the size of one memtable: Badger's in-memory write
	// buffer, with its write-ahead log. Default 16 MiB (Badger: 64 MiB).
	// Throughput barely depends on it (8 to 64 MiB measured within the
	// benchmarks' ±5% noise), while memory does: a memtable's skiplist
	// arena is 1.3× its size (it reserves room for a maximal transaction)
	// and flushing it builds a table of that size in memory. The largest
	// transaction is 15% of it (2.4 MiB, some 2,000 typical steps).
	MemTableSize int64
	// NumMemtables is how many memtables may exist at once: the one being
	// written and those waiting to be flushed. Default 3 (Badger: 5): a
	// 16 MiB flush takes a fraction of a second, so two waiting absorb a
	// burst without stalling writes; memtables take about 60 MiB.
	NumMemtables int
	// BlockCacheSize caches decompressed table blocks, so that hot leads
	// and the front of the timer index are not decompressed on every
	// read. Default 32 MiB. Negative: no block cache (sensible only with
	// NoCompression, when blocks are read in place from the mapped
	// tables).
	BlockCacheSize int64
	// IndexCacheSize bounds the memory for table indexes and bloom
	// filters. Default 0: keep them all in memory, a few MiB at a million
	// leads, so that no lookup re-reads an index; set it only for stores
	// far bigger than RAM.
	IndexCacheSize int64
	// ValueThreshold is the value size from which Badger stores a value in
	// its value log instead of the LSM tree. Default 1 MiB, Badger's
	// maximum (capped at the largest transaction): every lead, history
	// entry and notification stays in the LSM tree, so a read is one
	// lookup and there is no value-log garbage to collect. A value over it
	// (a huge compiled workflow) still works, in the value log, which
	// Badger syncs with the same commit.
	ValueThreshold int64
	// NumCompactors is the number of compaction goroutines. Default 2,
	// Badger's minimum (one of them prioritises level 0): on a small
	// machine more only compete with the write path for CPU.
	NumCompactors int
	// NoCompression stores tables uncompressed. By default they are
	// Snappy-compressed: cheap in CPU, and fewer bytes flushed and
	// compacted means less background I/O queued in front of the log's
	// fsync: 10–20% more steps per second and a quarter less CPU per step
	// in BenchmarkCommitGroup, under half the disk for lead JSON
	// (TestBig), and fewer mapped table pages in resident memory.
	NoCompression bool
	// MinFreeSpace is the free space the store keeps on its file system:
	// below it, Health reports ErrNoSpace and the runtime refuses writes
	// until space is freed (space.go says why a full disk must never be
	// reached). Default max(512 MiB, 4 × MemTableSize). Open refuses a
	// file system with less than 4 × MemTableSize free, what Badger may
	// write while it opens.
	MinFreeSpace int64
	// Logger receives Badger's messages: its errors and warnings at their
	// levels, its routine info messages at debug level so that a healthy
	// store is quiet. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MemTableSize <= 0 {
		o.MemTableSize = 16 << 20
	}
	if o.NumMemtables <= 0 {
		o.NumMemtables = 3
	}
	switch {
	case o.BlockCacheSize == 0:
		o.BlockCacheSize = 32 << 20
	case o.BlockCacheSize < 0:
		o.BlockCacheSize = 0
	}
	if o.IndexCacheSize < 0 {
		o.IndexCacheSize = 0
	}
	maxValue := min(int64(1<<20), 15*o.MemTableSize/100)
	if o.ValueThreshold <= 0 || o.ValueThreshold > maxValue {
		o.ValueThreshold = maxValue
	}
	if o.NumCompactors < 2 {
		o.NumCompactors = 2
	}
	if o.MinFreeSpace <= 0 {
		o.MinFreeSpace = max(512<<20, 4*o.MemTableSize)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) badger(dir string) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueThreshold(o.ValueThreshold).
		WithNumCompactors(o.NumCompactors).
		// The LSM shape and the rest: "Fixed choices" on Options.
		WithNumLevelZeroTables(10).
		WithNumLevelZeroTablesStall(30).
		WithBaseLevelSize(32 << 20).
		WithBaseTableSize(1 << 20).
		WithSyncWrites(true). // a commit returns once durable (commit.go)
		// Every table was verified whole before Badger opens it
		// (verify.go); a block read later is verified again, so that
		// damage is an error, not a panic or a wrong answer.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithLogger(slogAdapter{o.Logger})
	if o.NoCompression {
		bo = bo.WithCompression(options.None)
	} else {
		bo = bo.WithCompression(options.Snappy)
	}
	return bo
}

// Badger is the Store on an embedded Badger database. Its key layout is at
// the top of badger.go, its group commit at the top of commit.go, the
// checks that keep it from opening damaged files in verify.go, and its
// free-space watermark in space.go.
//
// Concurrent Commits are grouped: a committer goroutine writes whatever
// has queued as one transaction, which Badger syncs once; each Commit
// returns once its steps are durable, and a reader only ever sees durable
// steps.
type Badger struct {
	rows rowLock // routing rows (locked.go)
	db   *badger.DB
	dir  string
	opts Options

	// mu guards closed against Commit enqueueing after Close.
	mu     sync.RWMutex
	closed bool

	pending batchq.Queue[*request] // Commit → committer
	done    sync.WaitGroup
	// broken is set when a write or sync failed and what is on disk is no
	// longer known to match what callers were told; every later write
	// fails with it until the store is reopened.
	broken atomic.Pointer[error]

	// Owned by the committer.
	nextOutbox uint64
	nextStep   uint64

	timers       timerFloor
	claims       claims
	recentLeads  recent[*Lead]
	recentCounts recent[int64]
	space        *space
	stats        commitStats
}

// commitStats counts the committer's work, for tests and benchmarks.
type commitStats struct {
	txns  atomic.Int64 // transactions committed, each with one sync
	bytes atomic.Int64 // their size as Badger counts it (keys, values, overhead)
}

// Stats are counts of the store's work since Open, for benchmarks.
type Stats struct {
	Commits int64 // Badger transactions committed, each with one sync
	Bytes   int64 // their size as Badger counts it (keys, values, overhead)
}

// Stats returns the store's counts so far.
func (s *Badger) Stats() Stats {
	return Stats{Commits: s.stats.txns.Load(), Bytes: s.stats.bytes.Load()}
}

// Open opens (creating if need be) the store in dir. It refuses a
// directory whose tables or manifest are damaged or missing (verify.go),
// and a file system too full to open on (space.go).
func Open(dir string, opts Options) (*Badger, error) {
	opts = opts.withDefaults()
	fail := func(err error) (*Badger, error) { return nil, fmt.Errorf("open store %s: %w", dir, err) }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	sp := newSpace(dir, opts.MinFreeSpace)
	if err := sp.canOpen(4 * opts.MemTableSize); err != nil {
		return fail(err)
	}
	bo := opts.badger(dir)
	if err := verifyFiles(dir, bo); err != nil {
		return fail(err)
	}
	db, err := openBadger(bo)
	if err != nil {
		return fail(err)
	}
	s := &Badger{db: db, dir: dir, opts: opts, timers: newTimerFloor(), space: sp, claims: claims{until: map[string]time.Time{}}}
	if err := s.init(); err != nil {
		db.Close()
		return fail(err)
	}
	s.done.Add(1)
	go s.commitLoop()
	return s, nil
}

// openBadger opens Badger, turning a panic in its opening (the goroutine
// that called it, not Badger's own) into an error: verifyFiles checks
// what it knows of, and a panic on some other damage must still not take
// the process down without saying which directory.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: badger failed to open it: %v; %s", ErrDamaged, r, restoreAdvice)
		}
	}()
	return badger.Open(bo)
}

// init checks the layout version and loads the committer's state.
func (s *Badger) init() error {
	var format []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		format, err = get(txn, kFormat)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case format == nil:
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(kFormat, []byte(formatVersion)) }); err != nil {
			return err
		}
	case string(format) == formatV1:
		if err := s.upgradeV1(); err != nil {
			return err
		}
	case string(format) != formatVersion:
		return fmt.Errorf("the directory holds a %q store; this build reads %q", format, formatVersion)
	}
	return s.db.View(func(txn *badger.Txn) error {
		var err error
		if s.nextOutbox, err = nextSeq(txn, kOutboxNext, pOutbox); err != nil {
			return err
		}
		s.nextStep, err = nextSeq(txn, kStepNext, pStep)
		return err
	})
}

// nextSeq returns the next number of a sequence of keys prefix<seq>, by
// its stored counter counterKey and its last key (a second witness should
// the counter ever lag).
func nextSeq(txn *badger.Txn, counterKey []byte, prefix string) (uint64, error) {
	next := uint64(1)
	v, err := get(txn, counterKey)
	if err != nil {
		return 0, err
	}
	if len(v) == 8 {
		next = max(next, binary.BigEndian.Uint64(v))
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), Reverse: true})
	defer it.Close()
	it.Seek(binary.BigEndian.AppendUint64([]byte(prefix), ^uint64(0)))
	if it.Valid() {
		next = max(next, binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])+1)
	}
	return next, nil
}

// Close waits for queued commits, then flushes and closes the database.
func (s *Badger) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.pending.Close()
	s.mu.Unlock()
	s.done.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.dir, err)
	}
	return nil
}

// Health reports whether the store takes writes now: nil, an error
// wrapping ErrNoSpace while its file system has less free space than
// MinFreeSpace, the error that broke it (a failed commit: reopen), or
// ErrClosed. It is cheap enough to call before every write (space.go).
func (s *Badger) Health() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := s.broken.Load(); err != nil {
		return *err
	}
	return s.space.check()
}

// view runs f in a read transaction, unless the store is closed. A panic
// in Badger while reading (a table damaged since Open) is an error naming
// the directory, not the end of the process.
func (s *Badger) view(ctx context.Context, f func(txn *badger.Txn) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store %s: %w: a read failed: %v; %s", s.dir, ErrDamaged, r, restoreAdvice)
		}
	}()
	return s.db.View(f)
}

// get returns a copy of the value of k (not nil, even if empty), or nil if
// k is absent.
func get(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(make([]byte, 0, item.ValueSize()))
}

// GetLead returns a lead, or ErrNotFound.
func (s *Badger) GetLead(ctx context.Context, id string) (*Lead, error) {
	if checkName("lead id", id, true) != nil {
		return nil, fmt.Errorf("lead %q: %w", id, ErrNotFound)
	}
	var l *Lead
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		l, err = readLead(txn, id, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("lead %q: %w", id, ErrNotFound)
	}
	return l, nil
}

// readLead reads a lead, nil if absent.
func readLead(txn *badger.Txn, id string, data bool) (*Lead, error) {
	item, err := txn.Get(leadKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l *Lead
	err = item.Value(func(v []byte) error {
		l, err = decodeLead(id, v, data)
		return err
	})
	return l, err
}

// EventResult returns the stored result of an event id of a lead.
func (s *Badger) EventResult(ctx context.Context, leadID, eventID string) ([]byte, bool, error) {
	if checkName("lead id", leadID, true) != nil || checkName("event id", eventID, true) != nil {
		return nil, false, nil
	}
	var v []byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(leadID, eventID))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// timerFloor is a lower bound on the due time of every pending timer, so
// that scans of the timer index seek past the deletion markers that fired
// and cancelled timers leave at its front until compaction drops them
// (without it, each NextDue after a million fired timers would step over
// a million tombstones).
//
// The committer lowers the floor and the pending minimum before committing
// timers, and on committing closes a generation, remembering the earliest
// timer it committed. A reader reads the generation before its snapshot;
// when it has seen the first live timer in its snapshot, it raises the
// floor to that timer — or to any earlier timer committed since its
// generation, or still pending — so a timer its snapshot missed is never
// left below the floor. The raise works under continuous commits: it only
// needs the generations a scan overlapped, not a quiet moment.
type timerFloor struct {
	mu      sync.Mutex
	floor   uint64 // encoded as in timer keys
	pending uint64 // earliest timer being committed, ^0 if none
	gen     uint64
	// recent[g % len] is the earliest timer committed in generation g,
	// for the last len(recent) generations.
	recent [256]uint64
}

func newTimerFloor() timerFloor { return timerFloor{pending: ^uint64(0)} }

// lower is called before committing a timer due at due.
func (f *timerFloor) lower(due uint64) {
	f.mu.Lock()
	f.floor = min(f.floor, due)
	f.pending = min(f.pending, due)
	f.mu.Unlock()
}

// committed is called after committing timers.
func (f *timerFloor) committed() {
	f.mu.Lock()
	f.gen++
	f.recent[f.gen%uint64(len(f.recent))] = f.pending
	f.pending = ^uint64(0)
	f.mu.Unlock()
}

func (f *timerFloor) generation() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

func (f *timerFloor) get() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.floor
}

// raise moves the floor up to first (the first live timer a reader saw in
// a snapshot taken after generation gen, or ^0 for none), bounded by every
// timer committed since gen and every timer being committed.
func (f *timerFloor) raise(gen, first uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gen-gen >= uint64(len(f.recent)) {
		return // the scan overlapped too many commits to know
	}
	bound := min(first, f.pending)
	for g := gen + 1; g <= f.gen; g++ {
		bound = min(bound, f.recent[g%uint64(len(f.recent))])
	}
	f.floor = max(f.floor, bound)
}

// scanTimers calls yield for pending timers in due order, starting at the
// floor, until yield returns false.
func (s *Badger) scanTimers(ctx context.Context, yield func(k []byte) bool) error {
	gen := s.timers.generation()
	return s.view(ctx, func(txn *badger.Txn) error {
		floor := s.timers.get()
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pTimer)})
		defer it.Close()
		start := binary.BigEndian.AppendUint64([]byte(pTimer), floor)
		it.Seek(start)
		first := ^uint64(0)
		if it.Valid() {
			first = binary.BigEndian.Uint64(it.Item().Key()[len(pTimer):])
		}
		s.timers.raise(gen, first)
		for ; it.Valid(); it.Next() {
			if !yield(it.Item().Key()) {
				break
			}
		}
		return nil
	})
}

// claims are the timers handed out by ClaimDue and not yet expired, by
// timer key. They live in memory: after a restart every timer is free to
// claim again, which is what a claim that outlived its claimant means.
//
// A commit that removes a timer ends its claim, but a scan that began
// before the commit reads a snapshot that still holds the timer: were it
// free, the scan would claim it again and its lead would get a stale
// timer step. So while scans run, a release is remembered with the
// number of releases so far (gen), and a scan treats a timer released
// after it began as held.
type claims struct {
	mu       sync.Mutex
	until    map[string]time.Time
	gen      uint64            // releases so far
	released map[string]uint64 // timer key → gen of its release, while a scan might not see it
	scans    map[uint64]int    // scans in progress, by the gen they began at
}

func (c *claims) held(k []byte, now time.Time) (time.Time, bool) {
	u, ok := c.until[string(k)]
	return u, ok && u.After(now)
}

// release ends the claims on timers a commit removed.
func (c *claims) release(keys [][]byte) {
	if len(keys) == 0 {
		return
	}
	c.mu.Lock()
	c.gen++
	for _, k := range keys {
		delete(c.until, string(k))
		if len(c.scans) > 0 {
			if c.released == nil {
				c.released = map[string]uint64{}
			}
			c.released[string(k)] = c.gen
		}
	}
	c.mu.Unlock()
}

// begin starts a scan (c.mu held): it returns the gen it began at.
func (c *claims) begin() uint64 {
	if c.scans == nil {
		c.scans = map[uint64]int{}
	}
	c.scans[c.gen]++
	return c.gen
}

// releasedSince says whether a commit removed timer k after a scan that
// began at gen started (c.mu held).
func (c *claims) releasedSince(k []byte, gen uint64) bool {
	g, ok := c.released[string(k)]
	return ok && g > gen
}

// end ends a scan that began at gen, and forgets the releases every
// scan still running sees.
func (c *claims) end(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scans[gen]--; c.scans[gen] == 0 {
		delete(c.scans, gen)
	}
	oldest := c.gen
	for g := range c.scans {
		oldest = min(oldest, g)
	}
	for k, g := range c.released {
		if g <= oldest {
			delete(c.released, k)
		}
	}
}

// ClaimDue returns up to limit unclaimed timers due at or before now,
// earliest first (ties by lead id, then name), and claims them until
// now+lease.
func (s *Badger) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]DueTimer, error) {
	bound := timerBound(now)
	var due []DueTimer
	var bad error
	s.claims.mu.Lock()
	for k, u := range s.claims.until {
		if !u.After(now) {
			delete(s.claims.until, k)
		}
	}
	began := s.claims.begin() // before the scan's snapshot is taken
	s.claims.mu.Unlock()
	defer s.claims.end(began)
	// The scan takes the lock key by key: a commit releasing claims
	// (the committer) never waits for a whole scan.
	err := s.scanTimers(ctx, func(k []byte) bool {
		if bytes.Compare(k, bound) >= 0 {
			return false
		}
		dt, ok := parseTimerKey(k)
		if !ok {
			bad = fmt.Errorf("timer key %q: %w", k, errCorrupt)
			return false
		}
		s.claims.mu.Lock()
		_, held := s.claims.held(k, now)
		held = held || s.claims.releasedSince(k, began)
		if !held && lease > 0 {
			s.claims.until[string(k)] = now.Add(lease)
		}
		s.claims.mu.Unlock()
		if !held {
			due = append(due, dt)
		}
		return limit <= 0 || len(due) < limit
	})
	if err == nil {
		err = bad
	}
	return due, err
}

// Hold extends the claims of timers until until.
func (s *Badger) Hold(ctx context.Context, timers []DueTimer, until time.Time) error {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	for _, t := range timers {
		if checkTime(t.Due) == nil {
			s.claims.until[string(timerKey(t.Due, t.LeadID, t.Name))] = until
		}
	}
	return nil
}

// NextDue returns the earliest time at or after now when ClaimDue could
// return a timer: the first unclaimed timer's due time, or the end of an
// earlier timer's claim.
func (s *Badger) NextDue(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var next time.Time
	found := false
	err := s.scanTimers(ctx, func(k []byte) bool {
		dt, ok := parseTimerKey(k)
		if !ok {
			return false
		}
		if found && !dt.Due.Before(next) {
			return false // every later timer is due later still
		}
		at := dt.Due
		s.claims.mu.Lock()
		u, held := s.claims.held(k, now)
		s.claims.mu.Unlock()
		if held && u.After(at) {
			at = u
		}
		if !found || at.Before(next) {
			next, found = at, true
		}
		return held // an unclaimed timer ends the search
	})
	if found && next.Before(now) {
		next = now
	}
	return next, found, err
}

// History returns up to limit encoded history entries of a lead with
// sequence numbers after afterSeq, in order; limit <= 0 means all of them.
// A lead without history, or no lead, has none.
func (s *Badger) History(ctx context.Context, leadID string, afterSeq uint64, limit int) ([][]byte, error) {
	if afterSeq == ^uint64(0) || checkName("lead id", leadID, true) != nil {
		return nil, nil
	}
	var entries [][]byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixKey(pHistory, leadID), PrefetchValues: true, PrefetchSize: prefetch(limit)})
		defer it.Close()
		for it.Seek(historyKey(leadID, afterSeq+1)); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			entries = append(entries, v)
			if limit > 0 && len(entries) == limit {
				break
			}
		}
		return nil
	})
	return entries, err
}

// prefetch is the iterator prefetch size for a scan of up to limit values.
func prefetch(limit int) int {
	if limit <= 0 || limit > 100 {
		return 100
	}
	return limit
}

// Outbox returns up to limit notifications after seq afterSeq; limit <= 0
// means all of them.
func (s *Badger) Outbox(ctx context.Context, afterSeq uint64, limit int) ([]OutboxItem, error) {
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	var items []OutboxItem
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pOutbox), PrefetchValues: true, PrefetchSize: prefetch(limit)})
		defer it.Close()
		for it.Seek(outboxKey(afterSeq + 1)); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			items = append(items, OutboxItem{Seq: binary.BigEndian.Uint64(item.Key()[len(pOutbox):]), Data: v})
			if limit > 0 && len(items) == limit {
				break
			}
		}
		return nil
	})
	return items, err
}

// Steps returns up to limit committed steps after afterSeq, in commit
// order; limit <= 0 means all of them. A reader sees only whole commits,
// and the committer numbers steps as it commits them, so no step before
// the last one returned can appear later.
func (s *Badger) Steps(ctx context.Context, afterSeq uint64, limit int) ([]Step, error) {
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	var steps []Step
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pStep), PrefetchValues: true, PrefetchSize: prefetch(limit)})
		defer it.Close()
		for it.Seek(stepKey(afterSeq + 1)); it.Valid(); it.Next() {
			item := it.Item()
			var st Step
			st.Seq = binary.BigEndian.Uint64(item.Key()[len(pStep):])
			var leadSeq uint64
			err := item.Value(func(v []byte) error {
				r := reader{b: v}
				leadSeq = r.uvarint()
				st.LeadID = string(r.b)
				if r.err != nil || st.LeadID == "" {
					return fmt.Errorf("step %d: %w", st.Seq, errCorrupt)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if st.Entry, err = get(txn, historyKey(st.LeadID, leadSeq)); err != nil {
				return err
			}
			if st.Entry == nil {
				return fmt.Errorf("step %d names history entry %d of lead %s, which is missing: %w", st.Seq, leadSeq, st.LeadID, errCorrupt)
			}
			steps = append(steps, st)
			if limit > 0 && len(steps) == limit {
				break
			}
		}
		return nil
	})
	return steps, err
}

// Counters calls fn with every counter whose name is in [from, to).
func (s *Badger) Counters(ctx context.Context, from, to string, fn func(string, int64)) error {
	end := []byte(pCounter + to)
	return s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pCounter)}) // values are 8 bytes, in the LSM tree: read inline
		defer it.Close()
		for it.Seek([]byte(pCounter + from)); it.Valid(); it.Next() {
			item := it.Item()
			if to != "" && bytes.Compare(item.Key(), end) >= 0 {
				break
			}
			err := item.Value(func(v []byte) error {
				if len(v) != 8 {
					return fmt.Errorf("counter %q: %w", item.Key(), errCorrupt)
				}
				fn(string(item.Key()[len(pCounter):]), int64(binary.BigEndian.Uint64(v)))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Routing returns the named routing state rows, or every row.
func (s *Badger) Routing(ctx context.Context, names ...string) (map[string][]byte, error) {
	rows := map[string][]byte{}
	err := s.view(ctx, func(txn *badger.Txn) error {
		if len(names) > 0 {
			for _, k := range names {
				it, err := txn.Get(routingKey(k))
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if rows[k], err = it.ValueCopy(nil); err != nil {
					return err
				}
			}
			return nil
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pRouting), PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			rows[string(it.Item().Key()[len(pRouting):])] = v
		}
		return nil
	})
	return rows, err
}

// Versions returns every stored version, by workflow and then version.
func (s *Badger) Versions(ctx context.Context) ([]Version, error) {
	var vs []Version
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pVersion), PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			wf, ver, ok := bytes.Cut(item.Key()[len(pVersion):], []byte{sep})
			if !ok {
				return fmt.Errorf("version key %q: %w", item.Key(), errCorrupt)
			}
			err := item.Value(func(b []byte) error {
				v, err := decodeVersion(string(wf), string(ver), b)
				vs = append(vs, v)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return vs, err
}

// InFlight counts the non-terminal leads of a workflow per version. It
// scans the workflow's in-flight index, keys only.
func (s *Badger) InFlight(ctx context.Context, workflow string) (map[string]int, error) {
	counts := map[string]int{}
	if err := checkName("workflow", workflow, true); err != nil {
		return nil, fmt.Errorf("in flight: %w", err)
	}
	prefix := prefixKey(pInFlight, workflow)
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		var last []byte
		var lastVersion string
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			ver, _, ok := bytes.Cut(it.Item().Key()[len(prefix):], []byte{sep})
			if !ok {
				return fmt.Errorf("in-flight key %q: %w", it.Item().Key(), errCorrupt)
			}
			if !bytes.Equal(ver, last) {
				last, lastVersion = append(last[:0], ver...), string(ver)
			}
			counts[lastVersion]++
		}
		return nil
	})
	return counts, err
}

// Meta reads a small named value.
func (s *Badger) Meta(ctx context.Context, key string) ([]byte, bool, error) {
	if checkName("meta key", key, true) != nil {
		return nil, false, nil
	}
	var v []byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		v, err = get(txn, metaKey(key))
		return err
	})
	return v, v != nil, err
}

// Leads returns a page of leads matching q, in id order, and the cursor of
// the next page ("" at the end). It walks the most selective index q
// allows (stuck; workflow and stage; owner; workflow; all leads) and
// filters on the rest of q.
func (s *Badger) Leads(ctx context.Context, q Query) ([]Lead, string, error) {
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
	var prefix []byte
	switch {
	case q.Stuck != nil && *q.Stuck:
		prefix = []byte(pStuck)
	case q.Workflow != "" && q.Stage != "":
		prefix = prefixKey(pStage, q.Workflow, q.Stage)
	case q.Owner != "":
		prefix = prefixKey(pOwner, q.Owner)
	case q.Workflow != "":
		prefix = prefixKey(pWorkflow, q.Workflow)
	default:
		prefix = []byte(pLead)
	}
	direct := string(prefix) == pLead
	var page []Lead
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: direct, PrefetchSize: prefetch(limit)})
		defer it.Close()
		start := prefix
		if after != "" {
			start = append(append(bytes.Clone(prefix), after...), sep)
		}
		for it.Seek(start); it.Valid() && len(page) <= limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := string(it.Item().Key()[len(prefix):])
			var l *Lead
			var err error
			if direct {
				err = it.Item().Value(func(v []byte) error {
					l, err = decodeLead(id, v, true)
					return err
				})
			} else {
				l, err = readLead(txn, id, true)
			}
			if err != nil {
				return err
			}
			if l == nil {
				return fmt.Errorf("index key %q names a missing lead: %w", it.Item().Key(), errCorrupt)
			}
			if matches(l, q) {
				page = append(page, *l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(page) > limit {
		return page[:limit], base64.RawURLEncoding.EncodeToString([]byte(page[limit-1].ID)), nil
	}
	return page, "", nil
}

func matches(l *Lead, q Query) bool {
	return (q.Workflow == "" || l.Workflow == q.Workflow) &&
		(q.Stage == "" || l.Stage == q.Stage) &&
		(q.Owner == "" || l.Owner == q.Owner) &&
		(q.Stuck == nil || l.Stuck == *q.Stuck)
}

// slogAdapter is a badger.Logger writing to a slog.Logger. Badger logs
// routine events (tables opened, replays, compactions) at info; they go to
// debug so that a healthy store is quiet.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if a.l.Enabled(ctx, level) {
		a.l.Log(ctx, level, "badger: "+string(bytes.TrimSpace([]byte(fmt.Sprintf(format, args...)))))
	}
}

func (a slogAdapter) Errorf(f string, args ...any)   { a.log(slog.LevelError, f, args) }
func (a slogAdapter) Warningf(f string, args ...any) { a.log(slog.LevelWarn, f, args) }
func (a slogAdapter) Infof(f string, args ...any)    { a.log(slog.LevelDebug, f, args) }
func (a slogAdapter) Debugf(f string, args ...any)   { a.log(slog.LevelDebug-4, f, args) }
