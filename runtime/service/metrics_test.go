package service

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestGauges: stuck leads per workflow and open leads per stage, read
// from the store when Prometheus scrapes; lifecycle labels on the funnel,
// transitions and SLAs.
func TestGauges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	src := strings.Replace(listWorkflow, "event done\n", "event done\nevent boom { by int }\n", 1)
	src = strings.Replace(src, "  on go -> b\n", "  on go -> b\n  on boom when 1 / event.by > 0 -> b\n", 1)
	writeWorkflow(t, path, src)
	reg := prometheus.NewRegistry()
	svc, stop := startWith(t, dir, Config{Paths: []string{path}, Registerer: reg})
	defer stop()
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		if _, _, err := svc.Capture(ctx, "w", id, map[string]any{"email": id + "@x.example"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Send(ctx, "a1", "go", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(ctx, "a2", "go", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(ctx, "a2", "done", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(ctx, "a3", "boom", "", map[string]any{"by": 0}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP lead_open_leads Leads now in each non-terminal stage, by workflow, stage and its lifecycle label (from the reports' counters; absent with --no-reports).
# TYPE lead_open_leads gauge
lead_open_leads{lifecycle="inquiry",stage="a",workflow="w"} 2
lead_open_leads{lifecycle="mql",stage="b",workflow="w"} 1
# HELP lead_stuck_leads Leads stuck in place until an operator moves them, by workflow.
# TYPE lead_stuck_leads gauge
lead_stuck_leads{workflow="w"} 1
# HELP lead_lifecycle_reached_total Leads that reached a lifecycle label for the first time, by workflow and label: the funnel, each lead counted once per label.
# TYPE lead_lifecycle_reached_total counter
lead_lifecycle_reached_total{lifecycle="inquiry",workflow="w"} 4
lead_lifecycle_reached_total{lifecycle="mql",workflow="w"} 2
lead_lifecycle_reached_total{lifecycle="won",workflow="w"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lead_open_leads", "lead_stuck_leads", "lead_lifecycle_reached_total"); err != nil {
		t.Error(err)
	}
}
