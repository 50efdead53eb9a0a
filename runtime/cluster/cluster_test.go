package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/pgtest"
	"github.com/leadlang/lead/runtime/cluster"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
	"github.com/leadlang/lead/runtime/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

func open(t *testing.T, url, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func join(t *testing.T, s *postgres.Store, id string, lease time.Duration) *cluster.Node {
	t.Helper()
	n, err := cluster.Join(ctx, s, cluster.Options{ID: id, Addr: "http://" + id + ".invalid", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// leadIn returns a lead id in partition part.
func leadIn(part int) string {
	for i := 0; ; i++ {
		if id := fmt.Sprintf("l%d", i); postgres.Partition(id) == part {
			return id
		}
	}
}

// TestFence: a node paused past its lease, whose partitions another node
// took over, cannot write to them, even while it still believes it holds
// them: the commit's own transaction checks the partition's owner, epoch
// and lease. The new owner writes; nothing of the paused node's lands.
func TestFence(t *testing.T) {
	sa, sb := twoStores(t)
	const lease = 4 * time.Second
	a := join(t, sa, "a", lease)
	if got := len(a.Parts()); got != postgres.Partitions {
		t.Fatalf("a alone holds %d partitions, want %d", got, postgres.Partitions)
	}
	id := leadIn(7)
	storetest.Commit(t, sa, storetest.Capture(storetest.Lead(id, "w", "s", "")))

	// a stops renewing (a SIGSTOP); its leases run out on the database's
	// clock while its own view says it holds them for a while yet (the
	// test moves the database's side forward rather than wait).
	a.Pause()
	if _, err := sa.Pool().Exec(ctx, "UPDATE partitions SET expires_at = clock_timestamp() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Pool().Exec(ctx, "UPDATE nodes SET expires_at = clock_timestamp() - interval '1 second' WHERE id = 'a'"); err != nil {
		t.Fatal(err)
	}
	b := join(t, sb, "b", lease)
	if got := len(b.Parts()); got != postgres.Partitions {
		t.Fatalf("b took %d partitions over, want %d", got, postgres.Partitions)
	}
	if _, ok := a.Holds(id); !ok {
		t.Fatal("the test needs a to still believe it holds the partition")
	}
	l := storetest.Lead(id, "w", "s", "")
	storetest.Commit(t, sb, storetest.Next(l, 2))

	p, err := sa.Prepare(storetest.Next(l, 3))
	if err != nil {
		t.Fatal(err)
	}
	err = sa.Commit(ctx, []store.Prepared{p}, store.RoutingChange{})
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the paused node's commit: %v; want ErrFenced", err)
	}
	got, err := sb.GetLead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 2 {
		t.Fatalf("lead at step %d after the fenced commit, want 2", got.Seq)
	}
	h, err := sb.History(ctx, id, 0, 0)
	if err != nil || len(h) != 2 {
		t.Fatalf("history: %d entries (%v), want 2", len(h), err)
	}
	// b goes on writing.
	storetest.Commit(t, sb, storetest.Next(l, 3))
}

// TestRebalance: a node that joins has half of the partitions when Join
// returns, the first hands them back, and each partition has one owner;
// when a node leaves, the other takes everything back. (How soon is
// runtime/integration's BenchmarkCluster/join to measure: the waits here
// are deadlines of several lease times.)
func TestRebalance(t *testing.T) {
	sa, sb := twoStores(t)
	const lease = 2 * time.Second
	a := join(t, sa, "a", lease)
	defer a.Close(ctx)
	start := time.Now()
	b := join(t, sb, "b", lease)
	took := time.Since(start)
	if na, nb := len(a.Parts()), len(b.Parts()); nb != postgres.Partitions/2 {
		t.Fatalf("after b joined: a holds %d, b %d; want b to hold %d", na, nb, postgres.Partitions/2)
	}
	t.Logf("b held its share %v after joining", took.Round(time.Millisecond))
	deadline := time.Now().Add(5 * lease)
	for len(a.Parts()) != postgres.Partitions/2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	held := map[int32]string{}
	for _, n := range []*cluster.Node{a, b} {
		for _, p := range n.Parts() {
			if o, ok := held[p]; ok {
				t.Fatalf("partition %d held by %s and %s", p, o, n.ID())
			}
			held[p] = n.ID()
		}
	}
	if len(held) != postgres.Partitions {
		t.Fatalf("%d partitions held, want %d", len(held), postgres.Partitions)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * lease)
	for len(a.Parts()) != postgres.Partitions && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(a.Parts()); got != postgres.Partitions {
		t.Fatalf("b left; a holds %d partitions 5 lease times later, want %d", got, postgres.Partitions)
	}
}

// TestAbdicate: a node whose service can no longer write (a commit with
// an unknown outcome) gives its partitions back, and the other node takes
// them (at its next renewal; the wait is a deadline of several leases).
func TestAbdicate(t *testing.T) {
	sa, sb := twoStores(t)
	const lease = 2 * time.Second
	a := join(t, sa, "a", lease)
	defer a.Close(ctx)
	b := join(t, sb, "b", lease)
	defer b.Close(ctx)
	a.SetLive(func() error { return errors.New("a commit failed") })
	deadline := time.Now().Add(5 * lease)
	for (len(a.Parts()) != 0 || len(b.Parts()) != postgres.Partitions) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if na, nb := len(a.Parts()), len(b.Parts()); na != 0 || nb != postgres.Partitions {
		t.Fatalf("5 lease times after a's service failed: a holds %d partitions, b %d; want 0 and %d", na, nb, postgres.Partitions)
	}
}

// twoStores opens two handles on one fresh schema, as two nodes do.
func twoStores(t *testing.T) (*postgres.Store, *postgres.Store) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	return open(t, url, schema), open(t, url, schema)
}
