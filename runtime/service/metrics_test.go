package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestSLAExemptCounted: an SLA still running when the lead leaves through
// an override, an exception handler or while stuck is exempt in the
// history, in lead_sla_total and in the sla report; leaving by an event
// meets it.
func TestSLAExemptCounted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, `workflow w
start a

lead {
  email string
  rep   string = ""
  zero  int = 0
  n     int = 0
}

event go
event hand_over
event boom

role ops

owner { accountable ops  responsible role ops }

stage a {
  lifecycle mql
  on go -> done
  on hand_over { assign user lead.rep }
  on boom { set lead.n = 1 / lead.zero }
  on exception no_owner -> parked
  sla touch within 4h
}

stage parked {
  after 1d -> done
}

stage done terminal
`)
	reg := prometheus.NewRegistry()
	svc, stop := startWith(t, dir, Config{Paths: []string{path}, Registerer: reg})
	defer stop()
	for _, id := range []string{"met", "override", "handler", "stuck"} {
		if _, _, err := svc.Capture(ctx, "w", id, map[string]any{"email": id + "@x.example"}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(id, event string) {
		t.Helper()
		if _, err := svc.Send(ctx, id, event, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	send("met", "go")
	if _, err := svc.Override(ctx, "override", "done", "closed by hand", "ops"); err != nil {
		t.Fatal(err)
	}
	send("handler", "hand_over")
	send("stuck", "boom")
	send("stuck", "go")

	want := `
# HELP lead_sla_total SLA outcomes, by workflow, SLA, lifecycle label of its stage and outcome (met; breached; exempt: the lead left the stage through an exception, an override or while stuck).
# TYPE lead_sla_total counter
lead_sla_total{lifecycle="mql",outcome="exempt",sla="touch",workflow="w"} 3
lead_sla_total{lifecycle="mql",outcome="met",sla="touch",workflow="w"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lead_sla_total"); err != nil {
		t.Error(err)
	}
	for _, id := range []string{"override", "handler", "stuck"} {
		h, err := svc.History(ctx, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if last := string(h[len(h)-1]); !strings.Contains(last, `"name":"touch","stage":"a","state":"exempt"`) {
			t.Errorf("%s: the last step records no exempt SLA: %s", id, last)
		}
	}
	now := time.Now().UTC()
	r, err := svc.Report(ctx, "sla", ReportQuery{Workflow: "w", From: now.AddDate(0, 0, -1), To: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 {
		t.Fatalf("sla report rows: %v", r.Rows)
	}
	row := r.Rows[0]
	if fmt.Sprint(row["met"], row["exempt"], row["breached"], row["attainment"]) != "1 3 0 1" {
		t.Errorf("sla report row: %v", row)
	}
}
