package service

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

const sharedWorkflow = `workflow shared
start inbox

lead {
  email string
  pool  string = "rr"
}

event close

role ops

team rr {
  strategy round_robin
  member "a@x.example"
  member "b@x.example"
  member "c@x.example"
  member "d@x.example"
}

team capped {
  strategy least_loaded
  capacity 5
  member "p@x.example"
  member "q@x.example"
  member "r@x.example"
}

routing pick {
  when lead.pool == "rr" -> team rr
  else                   -> team capped
}

owner { accountable ops  responsible route pick }

on exception no_owner -> parked

stage inbox {
  on close -> done
}

stage parked {
  owner { accountable ops  responsible role ops }
}

stage done terminal
`

// TestRoutingSharedByNodes runs two services on one store, as two nodes
// sharing a database do, each with its own copy of the routing state,
// and routes leads through both at once: the round-robin team hands out
// its turns once each (every member gets exactly its share), no member
// of the capped team ever holds more than its capacity, and the stored
// open-lead counts are the leads' own. Before routing changes were
// committed as compare-and-set, each node turned its own copy of the
// team: members got leads twice in a row and the capacity was exceeded.
func TestRoutingSharedByNodes(t *testing.T) {
	for _, kind := range []string{"memory", "badger"} {
		t.Run(kind, func(t *testing.T) {
			var st store.Store = store.NewMemory()
			if kind == "badger" {
				b, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				st = b
			}
			defer st.Close()
			testRoutingShared(t, st)
		})
	}
}

func testRoutingShared(t *testing.T, st store.Store) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.lead")
	writeWorkflow(t, path, sharedWorkflow)
	var nodes []*Service
	for range 2 {
		svc := New(Config{Paths: []string{path}, Store: st})
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer svc.Close(ctx)
		nodes = append(nodes, svc)
	}
	const rr, capped = 200, 30 // capped: 15 places (3 members × 5)
	owners := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, rr+capped)
	capture := func(i int, pool string) {
		defer wg.Done()
		id := fmt.Sprintf("%s-%03d", pool, i)
		v, _, err := nodes[i%2].Capture(ctx, "shared", id, map[string]any{"email": id + "@y.example", "pool": pool})
		if err != nil {
			errs <- fmt.Errorf("capture %s: %w", id, err)
			return
		}
		mu.Lock()
		owners[pool+" "+v.Owner+" "+v.Stage]++
		mu.Unlock()
	}
	for i := range rr {
		wg.Add(1)
		go capture(i, "rr")
	}
	for i := range capped {
		wg.Add(1)
		go capture(i, "capped")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b", "c", "d"} {
		if n := owners["rr "+m+"@x.example inbox"]; n != rr/4 {
			t.Errorf("round robin: %s got %d leads, want %d (%v)", m, n, rr/4, owners)
		}
	}
	// The turns in commit order: a, b, c, d, a, ... whichever node took
	// each (with a copy of the team per node, each node starts at a).
	steps, err := st.Steps(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var turns []string
	for _, s := range steps {
		if strings.HasPrefix(s.LeadID, "rr-") {
			v, err := nodes[0].Lead(ctx, s.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			turns = append(turns, v.Owner[:1])
		}
	}
	for i, m := range turns {
		if want := string(rune('a' + (i+int(turns[0][0]-'a'))%4)); m != want {
			t.Fatalf("turn %d went to %s, want %s: %s", i, m, want, strings.Join(turns, ""))
		}
	}
	for _, m := range []string{"p", "q", "r"} {
		if n := owners["capped "+m+"@x.example inbox"]; n != 5 {
			t.Errorf("capacity 5: %s holds %d leads (%v)", m, n, owners)
		}
	}
	if n := owners["capped ops parked"]; n != capped-15 {
		t.Errorf("%d leads parked for want of an owner, want %d (%v)", n, capped-15, owners)
	}
	// Closing leads through the other node frees places under the
	// capacity, which both nodes see.
	for i := range 3 {
		id := fmt.Sprintf("capped-%03d", i)
		v, err := nodes[(i+1)%2].Lead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Stage == "inbox" {
			if _, err := nodes[(i+1)%2].Send(ctx, id, "close", "", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkOpenRows(t, st)
}

// checkOpenRows compares the stored open-lead counts with the leads.
func checkOpenRows(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Routing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := engine.RotationFromRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	cursor := ""
	for {
		page, next, err := st.Leads(ctx, store.Query{Workflow: "shared", Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			if !l.Terminal && l.Owner != "" {
				want[l.Owner]++
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(rot.Open) != fmt.Sprint(want) {
		t.Errorf("stored open-lead counts %v, want the leads' %v", rot.Open, want)
	}
}
