package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store"
)

// The committed-through watermark.
//
// Notifications and steps are numbered from sequences as transactions
// insert them, but transactions commit in their own order: a reader that
// saw number 10 committed while 9's transaction was still under way, and
// went on after 10, would never see 9. So a reader reads only as far as
// the watermark: the highest number below which every number taken has
// either committed or will never commit.
//
// Every commit takes a shared advisory lock of its schema (streamKey)
// before it takes any number, and holds it until it ends. The lock
// manager's view (pg_locks) is not subject to snapshots: a reader that
// reads the sequences' positions and then lists the transactions
// holding the lock knows that every number up to those positions
// belongs either to a transaction that has ended (and is visible, or
// rolled back for good) or to one of the listed ones. Once none of the
// listed transactions holds the lock any more, the positions are
// committed through. Readers never block a commit: they only look.

// checkpoint is a pair of sequence positions and the transactions that
// may still hold numbers at or below them.
type checkpoint struct {
	outbox, steps uint64
	holders       []string // pg_locks.virtualtransaction
}

// watermark is what a store knows to be committed through.
type watermark struct {
	mu            sync.Mutex
	outbox, steps uint64
	pending       []checkpoint // oldest first
}

// through returns the watermark, after waiting a little (commits take
// milliseconds) for the transactions under way when it was called, so
// that a reader sees what was committed before it asked.
func (s *Store) through(ctx context.Context) (outbox, steps uint64, err error) {
	wait := time.Millisecond
	for {
		var reached bool
		outbox, steps, reached, err = s.advance(ctx)
		if err != nil || reached || wait > 16*time.Millisecond {
			return outbox, steps, err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// advance reads the sequences and the lock's holders, and returns the
// watermark: every checkpoint none of whose holders is left is reached.
// reached says the newest checkpoint, this call's, is.
func (s *Store) advance(ctx context.Context) (outbox, steps uint64, reached bool, err error) {
	var cp checkpoint
	var ob, st int64
	b := &pgx.Batch{}
	// The positions first, then the holders: one pipelined round trip,
	// run in this order.
	b.Queue("SELECT coalesce(pg_sequence_last_value('outbox_seq'), 0), coalesce(pg_sequence_last_value('steps_seq'), 0)").
		QueryRow(func(r pgx.Row) error { return r.Scan(&ob, &st) })
	b.Queue(`SELECT coalesce(array_agg(virtualtransaction), '{}') FROM pg_locks
WHERE locktype = 'advisory' AND database = $1 AND classid = $2 AND objid = $3 AND objsubid = 1`,
		s.dbOID, uint32(uint64(s.streamKey)>>32), uint32(uint64(s.streamKey))).
		QueryRow(func(r pgx.Row) error { return r.Scan(&cp.holders) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, false, fmt.Errorf("read the stream's watermark: %w", err)
	}
	cp.outbox, cp.steps = uint64(ob), uint64(st)
	w := &s.wm
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, cp)
	kept := w.pending[:0]
	for _, c := range w.pending {
		reached := true // none of its holders holds the lock now
		for _, h := range c.holders {
			if slices.Contains(cp.holders, h) {
				reached = false
				break
			}
		}
		if reached {
			w.outbox, w.steps = max(w.outbox, c.outbox), max(w.steps, c.steps)
			continue
		}
		kept = append(kept, c)
	}
	w.pending = kept
	// Readers polling while commits hold the lock: keep the newest few
	// checkpoints only. Dropping an older one only delays: a newer one,
	// once reached, covers every number the older covered.
	if len(w.pending) > 64 {
		w.pending = slices.Delete(w.pending, 0, len(w.pending)-64)
	}
	return w.outbox, w.steps, len(cp.holders) == 0, nil
}

// Outbox returns up to limit notifications after afterSeq, in order, as
// far as the watermark.
func (s *Store) Outbox(ctx context.Context, afterSeq uint64, limit int) ([]store.OutboxItem, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	through, _, err := s.through(ctx)
	if err != nil || afterSeq >= through || afterSeq >= math.MaxInt64 {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, "SELECT seq, data FROM outbox WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
		int64(afterSeq), int64(through), sqlLimit(limit))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboxItem, error) {
		var it store.OutboxItem
		var seq int64
		err := r.Scan(&seq, &it.Data)
		it.Seq = uint64(seq)
		if it.Data == nil {
			it.Data = []byte{}
		}
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	return out, nil
}

// Steps returns up to limit committed steps after afterSeq, in order, as
// far as the watermark.
func (s *Store) Steps(ctx context.Context, afterSeq uint64, limit int) ([]store.Step, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	_, through, err := s.through(ctx)
	if err != nil || afterSeq >= through || afterSeq >= math.MaxInt64 {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT s.seq, s.lead_id, h.entry FROM steps s JOIN history h ON h.lead_id = s.lead_id AND h.seq = s.lead_seq
WHERE s.seq > $1 AND s.seq <= $2 ORDER BY s.seq LIMIT $3`, int64(afterSeq), int64(through), sqlLimit(limit))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Step, error) {
		var st store.Step
		var seq int64
		err := r.Scan(&seq, &st.LeadID, &st.Entry)
		st.Seq = uint64(seq)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the step stream: %w", err)
	}
	return out, nil
}
