// Package cluster lets several `lead run` nodes share one PostgreSQL
// store (runtime/store/postgres).
//
// Leads hash into a fixed number of partitions (postgres.Partitions).
// Each partition is leased by at most one node at a time in the
// partitions table: its owner, an epoch that grows by one at every change
// of hands, and until when the lease holds (the database's clock). A node
// heartbeats in the nodes table with the address it is reached at
// (--advertise), renews its leases every eighth of the lease time, and
// rebalances: with n live nodes, each aims at 256/n partitions (the
// first 256 mod n nodes by id one more), releases what it holds beyond
// that, and takes free or expired partitions up to it. A node that dies
// stops renewing: its partitions are taken over once its leases run out.
//
// Writes are fenced: the node is the store's Fence, so every commit
// checks, in its own transaction, that the node still holds each
// partition it writes to at the epoch it took it at (postgres.lead_fence).
// A node paused past its lease (a GC pause, SIGSTOP, a network partition)
// can never write again for a partition another node took: its commits
// fail whole. The service steps only the leads of the partitions the node
// holds (service.Ownership), and only they fire their timers (ClaimDue
// sees the partitions held); a lead read at one epoch is read again at
// another. Taking a partition over clears its timers' claims, so that
// the timers a dead node had claimed but not fired fire on the new owner
// at once, not after the claim's lease. Requests for a lead of another
// node's partition are forwarded to that node (Forward).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/runtime/store/postgres"
)

// Options configure a Node.
type Options struct {
	// ID names the node (default: Addr). Its counter shard derives from
	// it: a node restarted under its id goes on with its rows.
	ID string
	// Addr is the URL other nodes forward requests to (--advertise).
	Addr string
	// Lease is how long a partition's lease holds without renewal
	// (default 10s): a dead node's partitions are taken over within it.
	Lease time.Duration
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the node's metrics (nil: none).
	Registerer prometheus.Registerer
}

// DefaultLease is the lease time unless Options.Lease says otherwise.
const DefaultLease = 10 * time.Second

// holding is a partition the node holds.
type holding struct {
	epoch int64
	until time.Time // on the node's clock; the database's lease ends later
}

// Owner is who holds a partition, as the node last read it.
type Owner struct {
	Node string
	Addr string
}

// Node is one node of a cluster on a PostgreSQL store.
type Node struct {
	st    *postgres.Store
	pool  *pgxpool.Pool
	id    string
	addr  string
	lease time.Duration
	log   *slog.Logger
	met   *metrics

	mu     sync.RWMutex
	held   map[int32]holding
	owners map[int32]Owner // every partition's owner at the last tick
	share  int             // the node's fair share at the last tick
	// refreshed is when owners was last read; refreshing is set while a
	// read that a request asked for is under way.
	refreshed  time.Time
	refreshing bool

	live atomic.Pointer[func() error] // the service's health (SetLive)

	stop chan struct{}
	done chan struct{}
}

// Join registers the node, sets it as the store's fence and takes its
// first share of the partitions; the node then renews and rebalances in
// the background until Close.
func Join(ctx context.Context, st *postgres.Store, opts Options) (*Node, error) {
	if opts.Addr == "" {
		return nil, errors.New("cluster: the node needs the address it is reached at (--advertise)")
	}
	if opts.ID == "" {
		opts.ID = opts.Addr
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		st: st, pool: st.Pool(), id: opts.ID, addr: opts.Addr, lease: opts.Lease, log: opts.Logger,
		held: map[int32]holding{}, owners: map[int32]Owner{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	n.met = newMetrics(opts.Registerer, n)
	st.SetFence(n)
	if err := n.reclaim(ctx); err != nil {
		return nil, err
	}
	// Until the node holds its share (the other nodes hand partitions
	// back at their next tick; a dead node's run out with its leases), it
	// ticks more often, for at most a lease time and a half.
	deadline := time.Now().Add(n.lease + n.lease/2)
	for {
		if err := n.tick(ctx); err != nil {
			return nil, err
		}
		if len(n.Parts()) >= n.target() || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(n.lease / 8):
		}
	}
	go n.loop()
	return n, nil
}

// target is the node's fair share of the partitions at the last tick.
func (n *Node) target() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.share
}

// ID returns the node's id.
func (n *Node) ID() string { return n.id }

// Addr returns the node's advertised address.
func (n *Node) Addr() string { return n.addr }

// Lease returns the lease time.
func (n *Node) Lease() time.Duration { return n.lease }

// Node is the fence's node id (postgres.Fence).
func (n *Node) Node() string { return n.id }

// Epoch returns the epoch at which the node holds a partition, if it
// holds it now (postgres.Fence).
func (n *Node) Epoch(part int) (int64, bool) {
	n.mu.RLock()
	h, ok := n.held[int32(part)]
	n.mu.RUnlock()
	if !ok || !time.Now().Before(h.until) {
		return 0, false
	}
	return h.epoch, true
}

// Parts lists the partitions the node holds now (postgres.Fence).
func (n *Node) Parts() []int32 {
	now := time.Now()
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]int32, 0, len(n.held))
	for p, h := range n.held {
		if now.Before(h.until) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Holds reports whether the node may step a lead now, and at which epoch
// of its partition (service.Ownership).
func (n *Node) Holds(leadID string) (int64, bool) { return n.Epoch(postgres.Partition(leadID)) }

// NewID returns a new lead id in a partition the node holds
// (service.Ownership): random ids are drawn until one falls in one.
func (n *Node) NewID(random func() string) string {
	if len(n.Parts()) == 0 {
		return random()
	}
	for {
		id := random()
		if _, ok := n.Holds(id); ok {
			return id
		}
	}
}

// Pushes reports whether the node delivers the webhooks now: the holder
// of partition 0 does (service.Ownership), so that each notification is
// posted by one node (at least once, as on one node).
func (n *Node) Pushes() bool {
	_, ok := n.Epoch(0)
	return ok
}

// OwnerOf returns the node that held a lead's partition at the last
// tick, if any.
func (n *Node) OwnerOf(leadID string) (Owner, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	o, ok := n.owners[int32(postgres.Partition(leadID))]
	return o, ok
}

// loop renews and rebalances every eighth of the lease time.
func (n *Node) loop() {
	defer close(n.done)
	t := time.NewTicker(n.lease / 8)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.lease/2)
		if err := n.tick(ctx); err != nil {
			n.log.Error("cluster: renew the partitions' leases", "err", err)
		}
		cancel()
	}
}

// mine selects and locks the partitions node $1 holds, in partition
// order: every statement that changes partitions locks them in that
// order, as commits do (lead_fence), so that a renewal and a commit of
// the node cannot deadlock.
const mine = "SELECT part FROM partitions WHERE owner = $1 ORDER BY part FOR UPDATE"

// ms is a duration in milliseconds, as the statements take it.
func ms(d time.Duration) int64 { return d.Milliseconds() }

// tick heartbeats, renews the node's leases, and rebalances.
func (n *Node) tick(ctx context.Context) error {
	if f := n.live.Load(); f != nil {
		if err := (*f)(); err != nil {
			return n.abdicate(ctx, err)
		}
	}
	start := time.Now()
	var renewed map[int32]int64
	var live []string
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO nodes (id, addr, started_at, expires_at)
VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET addr = EXCLUDED.addr, expires_at = EXCLUDED.expires_at`, n.id, n.addr, ms(n.lease)); err != nil {
			return err
		}
		// Every partition still ours is renewed, even one whose lease ran
		// out: no one took it (that would have changed its owner and
		// epoch), so no one wrote to it.
		rows, _ := tx.Query(ctx, `UPDATE partitions p SET expires_at = clock_timestamp() + $2 * interval '1 millisecond'
FROM (`+mine+`) m WHERE p.part = m.part RETURNING p.part, p.epoch`, n.id, ms(n.lease))
		renewed = map[int32]int64{}
		var p int32
		var e int64
		if _, err := pgx.ForEachRow(rows, []any{&p, &e}, func() error { renewed[p] = e; return nil }); err != nil {
			return err
		}
		// Nodes gone for an hour are forgotten (lead cluster status lists
		// the others, live or not).
		if _, err := tx.Exec(ctx, "DELETE FROM nodes WHERE expires_at < clock_timestamp() - interval '1 hour'"); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, "SELECT id FROM nodes WHERE expires_at > clock_timestamp() ORDER BY id")
		var err error
		live, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	until := start.Add(n.lease - n.lease/5)
	n.mu.Lock()
	lost := 0
	for p := range n.held {
		if _, ok := renewed[p]; !ok {
			lost++
		}
	}
	n.held = map[int32]holding{}
	for p, e := range renewed {
		n.held[p] = holding{epoch: e, until: until}
	}
	n.mu.Unlock()
	if lost > 0 {
		n.log.Warn("cluster: partitions were taken over by other nodes", "node", n.id, "lost", lost)
		n.met.lost.Add(float64(lost))
	}

	target := share(live, n.id)
	n.mu.Lock()
	n.share = target
	n.mu.Unlock()
	held := n.Parts()
	switch {
	case len(held) > target:
		if err := n.release(ctx, held[target:]); err != nil {
			return err
		}
	case len(held) < target:
		if err := n.acquire(ctx, target-len(held), start); err != nil {
			return err
		}
	}
	return n.readOwners(ctx)
}

// SetLive gives the node the check of its service's health: while it
// fails (a commit failed with an unknown outcome, and the service takes
// no writes until it is restarted), the node holds no partition, so that
// the other nodes serve its leads.
func (n *Node) SetLive(live func() error) { n.live.Store(&live) }

// abdicate gives every partition back and leaves the cluster's live
// nodes: the node cannot write.
func (n *Node) abdicate(ctx context.Context, why error) error {
	n.mu.Lock()
	had := len(n.held)
	n.held = map[int32]holding{}
	n.mu.Unlock()
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE partitions p SET owner = NULL, expires_at = '-infinity' FROM ("+mine+") m WHERE p.part = m.part", n.id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE nodes SET expires_at = clock_timestamp() WHERE id = $1", n.id)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: give the partitions back: %w", err)
	}
	if had > 0 {
		n.log.Error("cluster: the service takes no writes: gave every partition back to the other nodes", "node", n.id, "partitions", had, "err", why)
		n.met.released.Add(float64(had))
	}
	return nil
}

// share is a node's fair share of the partitions among the live nodes
// (sorted): 256/n, and one more for the first 256 mod n.
func share(live []string, id string) int {
	i := sort.SearchStrings(live, id)
	if i == len(live) || live[i] != id {
		return 0 // not live by the database's clock: take nothing
	}
	k := len(live)
	t := postgres.Partitions / k
	if i < postgres.Partitions%k {
		t++
	}
	return t
}

// release gives partitions back (a node joined): the node stops writing
// to them first, then frees them; a commit of the node still under way
// holds the rows' share lock, and the release waits for it.
func (n *Node) release(ctx context.Context, parts []int32) error {
	n.mu.Lock()
	for _, p := range parts {
		delete(n.held, p)
	}
	n.mu.Unlock()
	if _, err := n.pool.Exec(ctx, `UPDATE partitions p SET owner = NULL, expires_at = '-infinity'
FROM (SELECT part FROM partitions WHERE owner = $1 AND part = ANY($2::integer[]) ORDER BY part FOR UPDATE) m
WHERE p.part = m.part`, n.id, parts); err != nil {
		return fmt.Errorf("cluster: release partitions: %w", err)
	}
	n.met.released.Add(float64(len(parts)))
	n.log.Info("cluster: released partitions to rebalance", "node", n.id, "count", len(parts))
	return nil
}

// acquire takes up to k free or expired partitions, and clears the claims
// of their timers: claims of the previous owner, which can no longer
// commit their steps.
func (n *Node) acquire(ctx context.Context, k int, start time.Time) error {
	got := map[int32]int64{}
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		// SKIP LOCKED: a partition whose old owner is committing right now
		// (lead_fence holds its row) is left for the next tick.
		rows, _ := tx.Query(ctx, `WITH free AS (
	SELECT part FROM partitions WHERE owner IS NULL OR expires_at <= clock_timestamp()
	ORDER BY part LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE partitions p SET owner = $1, epoch = p.epoch + 1, expires_at = clock_timestamp() + $3 * interval '1 millisecond'
FROM free WHERE p.part = free.part RETURNING p.part, p.epoch`, n.id, k, ms(n.lease))
		var p int32
		var e int64
		if _, err := pgx.ForEachRow(rows, []any{&p, &e}, func() error { got[p] = e; return nil }); err != nil {
			return err
		}
		if len(got) == 0 {
			return nil
		}
		parts := make([]int32, 0, len(got))
		for p := range got {
			parts = append(parts, p)
		}
		_, err := tx.Exec(ctx, "UPDATE timers SET claimed_until = NULL WHERE part = ANY($1::integer[]) AND claimed_until IS NOT NULL", parts)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: acquire partitions: %w", err)
	}
	if len(got) == 0 {
		return nil
	}
	until := start.Add(n.lease - n.lease/5)
	n.mu.Lock()
	for p, e := range got {
		n.held[p] = holding{epoch: e, until: until}
	}
	n.mu.Unlock()
	n.met.acquired.Add(float64(len(got)))
	n.log.Info("cluster: acquired partitions", "node", n.id, "count", len(got), "holds", len(n.Parts()))
	return nil
}

// reclaim takes over, as from another node, the partitions that a
// previous run of this node (its id) still holds: a new epoch fences
// anything of that run that might still write, and their timers' claims,
// which that run made and will never fire, are cleared.
func (n *Node) reclaim(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, "UPDATE partitions p SET epoch = p.epoch + 1 FROM ("+mine+") m WHERE p.part = m.part RETURNING p.part", n.id)
		parts, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil || len(parts) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE timers SET claimed_until = NULL WHERE part = ANY($1::integer[]) AND claimed_until IS NOT NULL", parts)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: take back this node's partitions: %w", err)
	}
	return nil
}

// readOwners reads every partition's current owner, for forwarding.
func (n *Node) readOwners(ctx context.Context) error {
	rows, _ := n.pool.Query(ctx, `SELECT p.part, p.owner, n.addr FROM partitions p JOIN nodes n ON n.id = p.owner
WHERE p.expires_at > clock_timestamp()`)
	owners := map[int32]Owner{}
	var p int32
	var o Owner
	if _, err := pgx.ForEachRow(rows, []any{&p, &o.Node, &o.Addr}, func() error { owners[p] = o; return nil }); err != nil {
		return fmt.Errorf("cluster: read the partitions' owners: %w", err)
	}
	n.mu.Lock()
	n.owners, n.refreshed = owners, time.Now()
	n.mu.Unlock()
	return nil
}

// Close stops renewing, and hands the node's partitions back at once
// (rather than when their leases run out) and deregisters it: call it
// after the service stopped writing.
func (n *Node) Close(ctx context.Context) error {
	close(n.stop)
	<-n.done
	n.mu.Lock()
	n.held = map[int32]holding{}
	n.mu.Unlock()
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE partitions p SET owner = NULL, expires_at = '-infinity' FROM ("+mine+") m WHERE p.part = m.part", n.id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM nodes WHERE id = $1", n.id)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}
