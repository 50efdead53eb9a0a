package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store"
)

// The due-time index is the timers table, ordered by (due, lead_id,
// name). A claim sets claimed_until; a step that removes a timer deletes
// its row (and so its claim), one that moves it resets the claim. On a
// node that shares the database, every query is limited to the
// partitions the node holds: timers fire only on their partition's owner.

// nanos is t as Unix nanoseconds, clamped to what int64 holds.
func nanos(t time.Time) int64 {
	switch y := t.Year(); {
	case y < 1678:
		return math.MinInt64
	case y > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// addNanos is a+d, saturating.
func addNanos(a int64, d time.Duration) int64 {
	if d > 0 && a > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return a + int64(d)
}

// owned adds the fence's partitions to a timer query: the SQL condition
// and its argument, or "" if the store has no fence.
func (s *Store) owned(args *[]any) string {
	f := s.fence.Load()
	if f == nil {
		return ""
	}
	*args = append(*args, f.fence.Parts())
	return fmt.Sprintf(" AND part = ANY($%d::integer[])", len(*args))
}

// free is the condition of an unclaimed timer at $1.
const free = "(claimed_until IS NULL OR claimed_until <= $1)"

// ClaimDue returns up to limit unclaimed timers due at or before now,
// earliest first, and claims them until now+lease.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.DueTimer, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	at := nanos(now)
	args := []any{at, sqlLimit(limit)}
	part := s.owned(&args)
	pick := "SELECT lead_id, name, due FROM timers WHERE due <= $1 AND " + free + part + " ORDER BY due, lead_id, name LIMIT $2"
	sql := pick
	if lease > 0 {
		args = append(args, addNanos(at, lease))
		// SKIP LOCKED: a timer whose lead is being committed right now
		// is left to the next claim, rather than waited for.
		sql = fmt.Sprintf(`WITH c AS (%s FOR UPDATE SKIP LOCKED)
UPDATE timers t SET claimed_until = $%d FROM c WHERE t.lead_id = c.lead_id AND t.name = c.name
RETURNING t.lead_id, t.name, t.due`, strings.Replace(pick, "SELECT lead_id, name, due", "SELECT lead_id, name", 1), len(args))
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DueTimer, error) {
		var t store.DueTimer
		var due int64
		err := r.Scan(&t.LeadID, &t.Name, &due)
		t.Due = time.Unix(0, due).UTC()
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due timers: %w", err)
	}
	slices.SortFunc(out, func(a, b store.DueTimer) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		if c := strings.Compare(a.LeadID, b.LeadID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Hold extends the claims of timers until until.
func (s *Store) Hold(ctx context.Context, timers []store.DueTimer, until time.Time) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	if len(timers) == 0 {
		return nil
	}
	leads := make([]string, len(timers))
	names := make([]string, len(timers))
	dues := make([]int64, len(timers))
	for i, t := range timers {
		leads[i], names[i], dues[i] = t.LeadID, t.Name, nanos(t.Due)
	}
	_, err := s.pool.Exec(ctx, `UPDATE timers t SET claimed_until = $4
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(lead_id, name, due)
WHERE t.lead_id = h.lead_id AND t.name = h.name AND t.due = h.due`, leads, names, dues, nanos(until))
	if err != nil {
		return fmt.Errorf("hold timers: %w", err)
	}
	return nil
}

// NextDue returns the earliest time at or after now when ClaimDue could
// return a timer: the first unclaimed due time, or the end of a claim.
func (s *Store) NextDue(ctx context.Context, now time.Time) (time.Time, bool, error) {
	if err := s.live(ctx); err != nil {
		return time.Time{}, false, err
	}
	args := []any{nanos(now)}
	part := s.owned(&args)
	// Both halves walk an index: timers by due time (past the few that
	// are claimed), and the claims by their end.
	var next *int64
	err := s.pool.QueryRow(ctx, `SELECT least(
	(SELECT due FROM timers WHERE `+free+part+` ORDER BY due LIMIT 1),
	(SELECT min(greatest(due, claimed_until)) FROM timers WHERE claimed_until IS NOT NULL AND claimed_until > $1`+part+`))`, args...).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due timer: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	at := time.Unix(0, *next).UTC()
	if at.Before(now) {
		at = now
	}
	return at, true, nil
}
