package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store/postgres"
)

// NodeStatus is one node as the database sees it.
type NodeStatus struct {
	ID         string
	Addr       string
	Live       bool      // its heartbeat holds
	Expires    time.Time // until when its heartbeat holds
	Partitions int       // partitions it holds with a lease that holds
	// Due counts the timers due now in its partitions, and Lag is how
	// long the oldest of them has been due: the work it is behind on.
	Due int
	Lag time.Duration
}

// Status is the cluster as the database sees it.
type Status struct {
	Nodes []NodeStatus
	// Unowned counts the partitions no node holds now (changing hands),
	// and UnownedDue the timers due in them.
	Unowned, UnownedDue int
}

// ReadStatus reads the cluster's nodes, partitions and lag from the
// store's database (`lead cluster status`).
func ReadStatus(ctx context.Context, st *postgres.Store) (*Status, error) {
	now := time.Now()
	out := &Status{}
	byID := map[string]*NodeStatus{}
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT n.id, n.addr, n.expires_at > clock_timestamp(), n.expires_at,
	(SELECT count(*) FROM partitions p WHERE p.owner = n.id AND p.expires_at > clock_timestamp())
FROM nodes n ORDER BY n.id`)
		var ns NodeStatus
		if _, err := pgx.ForEachRow(rows, []any{&ns.ID, &ns.Addr, &ns.Live, &ns.Expires, &ns.Partitions}, func() error {
			out.Nodes = append(out.Nodes, ns)
			return nil
		}); err != nil {
			return err
		}
		for i := range out.Nodes {
			byID[out.Nodes[i].ID] = &out.Nodes[i]
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM partitions WHERE owner IS NULL OR expires_at <= clock_timestamp()").Scan(&out.Unowned); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT CASE WHEN p.expires_at > clock_timestamp() THEN p.owner END, count(*), min(t.due)
FROM timers t JOIN partitions p ON p.part = t.part WHERE t.due <= $1 GROUP BY 1`, now.UnixNano())
		var owner *string
		var due int
		var oldest int64
		_, err := pgx.ForEachRow(rows, []any{&owner, &due, &oldest}, func() error {
			if owner == nil {
				out.UnownedDue += due
				return nil
			}
			if n := byID[*owner]; n != nil {
				n.Due, n.Lag = due, now.Sub(time.Unix(0, oldest))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster status: %w", err)
	}
	return out, nil
}
