package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
	"github.com/leadlang/lead/runtime/store/storetest"
)

var ctx = context.Background()

// TestWatermarkLateCommit: a notification numbered before another but
// committed after it is not skipped: a reader does not read past the
// number of a transaction still under way.
func TestWatermarkLateCommit(t *testing.T) {
	url := testURL(t)
	schema := newSchema(t, url)
	s := open(t, url, schema)
	defer s.Close()
	a := storetest.Capture(storetest.Lead("a", "w", "s", ""))
	a.Notifications = [][]byte{[]byte("first")}
	storetest.Commit(t, s, a)

	// A slow writer (another node, say) takes number 2 and does not
	// commit yet, the way a commit of the store does: the stream's lock
	// first.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		"SET LOCAL search_path = " + schema,
		"SELECT pg_advisory_xact_lock_shared(" + fmt.Sprint(postgres.StreamKey(t, s)) + ")",
		"INSERT INTO outbox (seq, data) VALUES (nextval('outbox_seq'), 'late')",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	b := storetest.Capture(storetest.Lead("b", "w", "s", ""))
	b.Notifications = [][]byte{[]byte("third")}
	storetest.Commit(t, s, b)

	// The reader may see the first (or, not knowing yet, nothing), but
	// not the third: continuing after it, it would skip the second.
	items, err := s.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(items); got != "1:first" && got != "" {
		t.Fatalf("while number 2 is uncommitted, the outbox reads %q; want at most 1:first", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var after uint64
	if len(items) > 0 {
		after = items[len(items)-1].Seq
	}
	rest, err := s.Outbox(ctx, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(append(items, rest...)); got != "1:first 2:late 3:third" {
		t.Fatalf("after it commits, the outbox reads %q; want 1:first 2:late 3:third", got)
	}
}

func render(items []store.OutboxItem) string {
	out := ""
	for i, it := range items {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%d:%s", it.Seq, it.Data)
	}
	return out
}

// TestSharedStream: several stores on one schema (several nodes) commit
// at once, and readers paging through the outbox and the step stream
// while they do see every entry, once, in order.
func TestSharedStream(t *testing.T) {
	url := testURL(t)
	schema := newSchema(t, url)
	const nodes, writers, steps = 3, 4, 25
	var stores []store.Store
	for range nodes {
		s := open(t, url, schema)
		defer s.Close()
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	for n, s := range stores {
		for w := range writers {
			wg.Go(func() {
				l := storetest.Lead(fmt.Sprintf("n%d-w%d", n, w), "w", "s", "")
				for seq := uint64(1); seq <= steps; seq++ {
					sw := storetest.Next(l, seq)
					sw.Notifications = [][]byte{fmt.Appendf(nil, "%d", seq)}
					storetest.Commit(t, s, sw)
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	reader := stores[0]
	var notes []store.OutboxItem
	var stream []store.Step
	deadline := time.After(60 * time.Second)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		case <-deadline:
			t.Fatal("the writers did not finish within 60s")
		default:
		}
		// After the writers finish, read to the end.
		for {
			var after uint64
			if len(notes) > 0 {
				after = notes[len(notes)-1].Seq
			}
			items, err := reader.Outbox(ctx, after, 5)
			if err != nil {
				t.Fatal(err)
			}
			notes = append(notes, items...)
			if !finished || len(items) == 0 {
				break
			}
		}
		for {
			var after uint64
			if len(stream) > 0 {
				after = stream[len(stream)-1].Seq
			}
			page, err := reader.Steps(ctx, after, 5)
			if err != nil {
				t.Fatal(err)
			}
			stream = append(stream, page...)
			if !finished || len(page) == 0 {
				break
			}
		}
	}
	if want := nodes * writers * steps; len(notes) != want || len(stream) != want {
		t.Fatalf("readers saw %d notifications and %d steps of %d", len(notes), len(stream), want)
	}
	seen := map[uint64]bool{}
	for i, it := range notes {
		if seen[it.Seq] || (i > 0 && it.Seq <= notes[i-1].Seq) {
			t.Fatalf("notification %d after %d", it.Seq, notes[i-1].Seq)
		}
		seen[it.Seq] = true
	}
	last := map[string]int{}
	for _, st := range stream {
		last[st.LeadID]++
		if want := fmt.Sprintf("step %d of %s", last[st.LeadID], st.LeadID); string(st.Entry) != want {
			t.Fatalf("stream: %q, want %q", st.Entry, want)
		}
	}
}
