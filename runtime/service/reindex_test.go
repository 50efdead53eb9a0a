package service

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// TestReindexAcrossVersions: leads captured on one version, moved to a
// version whose fields are laid out differently, and stepped there: the
// counters rebuilt from history are the counters kept live; and a store
// whose counters follow another schema has them rebuilt when it starts.
func TestReindexAcrossVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, listWorkflow)
	svc, stop := start(t, dir, path)
	tiers := []string{"hot", "warm"}
	for i := range 20 {
		id := fmt.Sprintf("l%02d", i)
		if _, _, err := svc.Capture(ctx, "w", id, map[string]any{"email": id + "@x.example", "tier": tiers[i%2]}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := svc.Send(ctx, id, "go", "", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop()

	v2 := strings.Replace(listWorkflow, "lead {\n", "lead {\n  note  string = \"n\"\n  score int = 1\n", 1)
	writeWorkflow(t, path, v2)
	svc, stop = start(t, dir, path)
	old := ""
	deadline := time.Now().Add(20 * time.Second)
	for {
		infos, err := svc.Workflows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		moved := true
		for v, n := range infos[0].Versions {
			if v != infos[0].Active && n > 0 {
				moved, old = false, v
			}
		}
		if moved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leads still on version %s: %+v", old, infos)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 20 {
		if i%2 == 0 {
			if _, err := svc.Send(ctx, fmt.Sprintf("l%02d", i), "go", "", nil); err != nil && !strings.Contains(err.Error(), "does not take") {
				t.Fatal(err)
			}
		}
	}
	live, err := store.CounterMap(ctx, svc.st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := store.CounterMap(ctx, svc.st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(live, rebuilt) {
		t.Errorf("rebuilt counters differ from the live ones:\n live %v\n rebuilt %v", live, rebuilt)
	}

	// Counters of another schema, with a wrong one among them: rebuilt
	// when the store next starts.
	if err := svc.st.PutMeta(ctx, report.SchemaKey, []byte("0")); err != nil {
		t.Fatal(err)
	}
	if err := svc.st.ReplaceCounters(ctx, "a/", map[string]int64{"a/w/a/2020-01-01/%2A": 99}); err != nil {
		t.Fatal(err)
	}
	stop()
	svc, stop = start(t, dir, path)
	defer stop()
	again, err := store.CounterMap(ctx, svc.st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(live, again) {
		t.Errorf("counters after a start with another schema:\n got %v\nwant %v", again, live)
	}
}
