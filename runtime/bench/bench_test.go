package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

// workflow is a typical event's work: a workflow handler, a guard, a move
// and routing to a team on entry, a timeout and an SLA per stage. http.sh
// serves the same file to wrk.
//
//go:embed testdata/bench.lead
var workflow string

// leads is the number of concurrently active leads; perLead is how many
// events each has in flight (the runtime keeps each lead's events in order
// and still commits them in groups).
const (
	leads   = 64
	perLead = 4
)

func setup(tb testing.TB) (*service.Service, store.Store) { return setupWith(tb, false) }

// setupWith is setup, keeping the reports' counters or not.
func setupWith(tb testing.TB, noReports bool) (*service.Service, store.Store) {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "bench.lead")
	if err := os.WriteFile(path, []byte(workflow), 0o644); err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	svc := service.New(service.Config{Paths: []string{path}, Store: st, NoReports: noReports})
	if err := svc.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		svc.Close(context.Background())
		st.Close()
	})
	return svc, st
}

// BenchmarkDurableEvents measures events acknowledged after fsync through
// the engine and the store, with 64 leads active at once: "group" is the
// runtime (group commit across leads); "group-no-reports" the same
// without the reports' counters (lead run --no-reports), for their cost;
// "naive" commits one fsync'd Badger transaction per event, one event at
// a time.
func BenchmarkDurableEvents(b *testing.B) {
	b.Run("group", func(b *testing.B) { benchGroup(b, false) })
	b.Run("group-no-reports", func(b *testing.B) { benchGroup(b, true) })
	b.Run("naive", func(b *testing.B) {
		benchNaive(b)
	})
}

// benchGroup is the runtime's side of BenchmarkDurableEvents.
func benchGroup(b *testing.B, noReports bool) {
	svc, st := setupWith(b, noReports)
	ctx := context.Background()
	for i := 0; i < leads; i++ {
		if _, _, err := svc.Capture(ctx, "bench", fmt.Sprintf("l%d", i), map[string]any{"email": "x@y.example"}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	stats := st.(*store.Badger).Stats()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < leads*perLead; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("l%d", i%leads)
			for next.Add(1) <= int64(b.N) {
				if _, err := svc.Send(ctx, id, "ping", "", map[string]any{"size": 1}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	after := st.(*store.Badger).Stats()
	b.ReportMetric(float64(b.N)/float64(after.Commits-stats.Commits), "events/sync")
	b.ReportMetric(float64(after.Bytes-stats.Bytes)/float64(b.N), "B/event")
}

// benchNaive is the baseline: each event is one engine step and one Badger
// transaction with SyncWrites, committed before the next event starts.
func benchNaive(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.lead")
	os.WriteFile(path, []byte(workflow), 0o644)
	r := compiler.CompileFile(path, compiler.Options{SkipTests: true})
	if r.Workflow == nil {
		b.Fatal(r.Diags)
	}
	m, err := engine.Load(r.Workflow)
	if err != nil {
		b.Fatal(err)
	}
	opts := badger.DefaultOptions(filepath.Join(dir, "naive")).WithSyncWrites(true).WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rot := engine.NewRotation()
	ls := make([]*engine.Lead, leads)
	now := time.Now()
	for i := range ls {
		res, err := engine.Step(m, nil, engine.Input{Kind: engine.Capture, LeadID: fmt.Sprintf("l%d", i), Data: map[string]any{"email": "x@y.example"}}, now, rot)
		if err != nil {
			b.Fatal(err)
		}
		rot.Apply(res.Routing)
		ls[i] = res.Lead
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		l := ls[i%leads]
		res, err := engine.Step(m, l, engine.Input{Kind: engine.Event, Event: "ping", Data: map[string]any{"size": int64(1)}}, time.Now(), rot)
		if err != nil {
			b.Fatal(err)
		}
		rot.Apply(res.Routing)
		ls[i%leads] = res.Lead
		lead, _ := json.Marshal(res.Lead)
		entry, _ := json.Marshal(res.Entry)
		err = db.Update(func(txn *badger.Txn) error {
			if err := txn.Set([]byte("l/"+l.ID), lead); err != nil {
				return err
			}
			return txn.Set([]byte(fmt.Sprintf("h/%s/%08d", l.ID, res.Entry.Seq)), entry)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkHTTPEvents measures events through the HTTP API with 32
// keep-alive clients, each driving its own lead; it reports events/s and
// the p50 and p99 latency of a request.
func BenchmarkHTTPEvents(b *testing.B) {
	srv, client := httpSetup(b, 32)
	lat := drive(b, srv.URL, client, 32, b.N, 0)
	b.ReportMetric(lat.rate, "events/s")
	b.ReportMetric(lat.p50.Seconds()*1000, "p50-ms")
	b.ReportMetric(lat.p99.Seconds()*1000, "p99-ms")
}

// BenchmarkHTTPHalfRate measures the latency at half the maximum rate:
// a warm-up finds the maximum, then b.N events are sent at half of it.
func BenchmarkHTTPHalfRate(b *testing.B) {
	srv, client := httpSetup(b, 32)
	max := drive(b, srv.URL, client, 32, 20000, 0).rate
	lat := drive(b, srv.URL, client, 32, b.N, max/2)
	b.ReportMetric(max, "max-events/s")
	b.ReportMetric(lat.rate, "events/s")
	b.ReportMetric(lat.p99.Seconds()*1000, "p99-ms")
}

func httpSetup(b *testing.B, clients int) (*httptest.Server, *http.Client) {
	svc, _ := setup(b)
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	for i := 0; i < clients; i++ {
		body := fmt.Sprintf(`{"id":"h%d","fields":{"email":"x@y.example"}}`, i)
		resp, err := client.Post(srv.URL+"/v1/workflows/bench/leads", "application/json", bytes.NewBufferString(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return srv, client
}

type latency struct {
	rate     float64
	p50, p99 time.Duration
}

// drive sends n events from `clients` goroutines; with rate > 0 the sends
// are paced to that many per second in total.
func drive(b *testing.B, base string, client *http.Client, clients, n int, rate float64) latency {
	var next atomic.Int64
	lats := make([][]time.Duration, clients)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(clients) / rate)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("%s/v1/leads/h%d/events", base, c)
			tick := time.Now()
			for next.Add(1) <= int64(n) {
				if interval > 0 {
					tick = tick.Add(interval)
					time.Sleep(time.Until(tick))
				}
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewBufferString(`{"type":"ping","data":{"size":1}}`))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return latency{}
	}
	return latency{
		rate: float64(len(all)) / elapsed.Seconds(),
		p50:  all[len(all)/2],
		p99:  all[len(all)*99/100],
	}
}
