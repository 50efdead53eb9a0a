package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// TestMillionLeads measures the runtime with 1,000,000 leads and as many
// pending timers: restart to serving, resident memory, and the lag of the
// timers that fall due while it serves. It takes minutes and a few GiB of
// disk, so it runs only with LEAD_BIG=1:
//
//	LEAD_BIG=1 go test -run TestMillionLeads -v -timeout 30m ./runtime/service/
//
// The targets: restart to serving ≤ 5 s, resident memory ≤ 1 GiB, timer
// lag p99 ≤ 1 s.
func TestMillionLeads(t *testing.T) {
	if os.Getenv("LEAD_BIG") == "" {
		t.Skip("set LEAD_BIG=1 to run (slow: minutes)")
	}
	total, dueNow, window := 1_000_000, 100_000, 30*time.Second // dueNow timers fall due while it runs
	if n, err := strconv.Atoi(os.Getenv("LEAD_BIG")); err == nil && n > 1 {
		total, dueNow = n, n/10 // a smaller run, for profiling
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, `workflow w
start a
lead {
  email string
  n     int = 0
}
event ping
role ops
stage a {
  owner { accountable ops  responsible role ops }
  on ping -> b
  after 30d -> b
}
stage b {
  owner { accountable ops  responsible role ops }
  after 30d -> done
}
stage done terminal
`)
	r := compiler.CompileFile(path, compiler.Options{SkipTests: true})
	if r.Workflow == nil {
		t.Fatal(r.Diags)
	}
	m, err := engine.Load(r.Workflow)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(data, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(r.Workflow)
	if err := st.SaveVersion(context.Background(), store.Version{Workflow: "w", Version: r.Workflow.Version, IR: raw}); err != nil {
		t.Fatal(err)
	}
	// Load the leads: the first dueNow have their `after 30d` timer due
	// within the window after the service starts; the rest much later.
	start := time.Now().Add(time.Duration(total/10000)*time.Second + 30*time.Second) // loading takes less than that, even on a busy machine
	rot := engine.NewRotation()
	dims := report.NewDims(nil)
	loadStart := time.Now()
	batch := make([]store.Prepared, 0, 2000)
	for i := 0; i < total; i++ {
		now := time.Now()
		if i < dueNow {
			due := start.Add(5*time.Second + time.Duration(i)*window/time.Duration(dueNow))
			now = due.Add(-30 * 24 * time.Hour)
		}
		res, err := engine.Step(m, nil, engine.Input{Kind: engine.Capture, LeadID: "l" + strconv.Itoa(i), Data: map[string]any{"email": "x@y.example"}}, now, rot)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := encodeLead(m, res.Lead)
		if err != nil {
			t.Fatal(err)
		}
		entry, _ := appendEntry(nil, &res.Entry)
		// The reports' counters, as the service keeps them: without them
		// the restart would rebuild them from history first.
		p, err := st.Prepare(store.StepWrite{Lead: sl, Entry: entry, Counts: dims.Counts(m, res, m, nil)})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, p)
		if len(batch) == cap(batch) || i == total-1 {
			if err := st.Commit(context.Background(), batch, store.RoutingChange{}); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	t.Logf("loaded %d leads with %d timers in %s", total, total, time.Since(loadStart).Round(time.Second))
	if err := st.PutMeta(context.Background(), report.SchemaKey, []byte(report.Schema)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if start.Sub(time.Now()) < 10*time.Second {
		t.Fatalf("loading took too long: the first timers are due already")
	}
	time.Sleep(time.Until(start.Add(-10 * time.Second)))
	TuneProcess(os.Getenv) // as lead run does
	debug.FreeOSMemory()

	// Restart to serving.
	t0 := time.Now()
	logger := slog.New(slog.DiscardHandler)
	if f := os.Getenv("LEAD_BIG_LOG"); f != "" {
		w, _ := os.Create(f)
		logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	st, err = store.Open(data, store.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	svc := New(Config{Paths: []string{path}, Store: st, Registerer: reg})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lead(context.Background(), "l"+strconv.Itoa(total-1)); err != nil {
		t.Fatal(err)
	}
	restart := time.Since(t0)
	t.Logf("restart to serving: %s (target ≤ 5s)", restart.Round(time.Millisecond))
	for end := start.Add(5*time.Second + window + 5*time.Second); time.Now().Before(end); {
		time.Sleep(min(time.Second, time.Until(end)))
		fired, p99 := lagP99(t, reg, "lead_timer_lag_seconds")
		commits, c99 := lagP99(t, reg, "lead_commit_duration_seconds")
		t.Logf("%s: %d timers fired, lag p99 so far ≤ %s; %d commits, p99 ≤ %s", time.Now().Format("15:04:05"), fired, p99, commits, c99)
	}
	rss := vmRSS()
	t.Logf("resident memory while serving: %d MiB (target ≤ 1024)", rss>>20)
	fired, p99 := lagP99(t, reg, "lead_timer_lag_seconds")
	t.Logf("timers fired: %d of %d due; lag p99 ≤ %s (target ≤ 1s)", fired, dueNow, p99)
	svc.Close(context.Background())
	if fired != uint64(dueNow) {
		t.Errorf("%d timer steps for %d due timers: each should fire once", fired, dueNow)
	}
	if rss > 1<<30 {
		t.Errorf("resident memory %d MiB is over 1 GiB", rss>>20)
	}
	// Times are measured, not asserted (the machine's speed swings).
	if restart > 5*time.Second || p99 > time.Second {
		t.Logf("NOTE: a time target was missed: restart %s (target 5 s), timer lag p99 %s (target 1 s)", restart, p99)
	}
}

// lagP99 reads a histogram of seconds: how many observations, and the
// upper bound of the bucket holding the 99th percentile.
func lagP99(t *testing.T, reg *prometheus.Registry, name string) (uint64, time.Duration) {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		n := h.GetSampleCount()
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= 0.99*float64(n) {
				return n, time.Duration(b.GetUpperBound() * float64(time.Second))
			}
		}
		return n, time.Duration(1<<63 - 1)
	}
	t.Fatalf("no %s metric", name)
	return 0, 0
}

// vmRSS returns the process's resident memory from /proc (0 elsewhere).
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb uint64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
