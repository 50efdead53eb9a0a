package postgres

import (
	"hash/fnv"
	"io"
)

// Fence is what a node that shares the database holds: the leases of
// some partitions, each at an epoch (runtime/cluster keeps them). With a
// fence set, a Commit writes only to partitions the fence holds, and the
// transaction checks on the server that the node still holds each of
// them at that epoch, with a lease that has not run out (lead_fence);
// ClaimDue and NextDue see only the timers of the partitions held.
type Fence interface {
	// Node is the node's id, the partitions' owner column.
	Node() string
	// Epoch returns the epoch at which the node holds a partition, and
	// whether it holds it (and may write to it) now.
	Epoch(part int) (int64, bool)
	// Parts lists the partitions the node holds now.
	Parts() []int32
}

type fenceHolder struct{ fence Fence }

// SetFence makes every later commit conditional on f's leases, and gives
// the node's counter increments a shard of their own (derived from its
// id, so a restarted node goes on with its rows). Set it before the
// first commit.
func (s *Store) SetFence(f Fence) {
	s.fence.Store(&fenceHolder{f})
	h := fnv.New32a()
	io.WriteString(h, f.Node())
	s.shard = int32(h.Sum32() % counterShards)
}

// counterShards bounds the rows of one counter: nodes whose ids hash to
// one shard share its rows (and wait for each other's locks on them).
const counterShards = 64
