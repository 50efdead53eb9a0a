package bench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/internal/pgtest"
	"github.com/leadlang/lead/runtime/cluster"
	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
)

// bumpWorkflow counts bump events in a field and moves its lead to the
// other stage every tenth bump.
//
//go:embed testdata/bump.lead
var bumpWorkflow string

// The bump workload, on PostgreSQL and on Badger side by side: one node
// through the HTTP API, 32 concurrent senders, each with one bump event
// (with its own event id, as an idempotent client sends it) in flight at
// a time, spread over 64 leads. Each reports acknowledged events per
// second; on PostgreSQL (LEAD_TEST_POSTGRES, or a server internal/pgtest
// starts) also the store's commit transactions per event and
// PostgreSQL's WAL flushes per event (pg_stat_wal.wal_sync: every durable
// commit that reached the disk, the server's whole activity, so run it on
// a database nothing else uses). The PostgreSQL node is a cluster node as
// `lead run --store` runs it: every commit is fenced.
//
//	go test ./runtime/bench -run '^$' -bench Bump -benchtime 20000x

// BenchmarkBumpPostgres is the bump workload on PostgreSQL.
func BenchmarkBumpPostgres(b *testing.B) {
	url := pgtest.URL(b)
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.WithSchema(url, pgtest.Schema(b, url)), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	node, err := cluster.Join(ctx, st, cluster.Options{ID: "bench", Addr: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { node.Close(context.Background()); st.Close() })
	walSyncs := func() int64 {
		var n int64
		if err := st.Pool().QueryRow(ctx, "SELECT wal_sync FROM pg_stat_wal").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	var commits0, syncs0 int64
	bump(b, st, node, func() { commits0, syncs0 = st.Stats().Commits.Load(), walSyncs() }, func() {
		commits, syncs := st.Stats().Commits.Load()-commits0, walSyncs()-syncs0
		b.ReportMetric(float64(commits)/float64(b.N), "commits/event")
		b.ReportMetric(float64(syncs)/float64(b.N), "walsyncs/event")
	})
}

// BenchmarkBumpBadger is the bump workload on the embedded store.
func BenchmarkBumpBadger(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bump(b, st, nil, func() {}, func() {})
}

func bump(b *testing.B, st store.Store, own service.Ownership, before, after func()) {
	const leads, senders = 64, 32
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "bump.lead")
	if err := os.WriteFile(path, []byte(bumpWorkflow), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := service.Config{Paths: []string{path}, Store: st}
	if own != nil {
		cfg.Ownership = own
	}
	svc := service.New(cfg)
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	b.Cleanup(func() {
		srv.Close()
		svc.Close(context.Background())
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}}
	post := func(path, body string) error {
		resp, err := client.Post(srv.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("POST %s: status %d", path, resp.StatusCode)
		}
		return nil
	}
	for i := range leads {
		if err := post("/v1/workflows/bump/leads", fmt.Sprintf(`{"id":"b%d","fields":{"email":"x@y.example"}}`, i)); err != nil {
			b.Fatal(err)
		}
	}
	before()
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				path := fmt.Sprintf("/v1/leads/b%d/events", n%leads)
				if err := post(path, fmt.Sprintf(`{"type":"bump","id":"e%d"}`, n)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	after()
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

//go:embed testdata/team.lead
var teamWorkflow string

// BenchmarkHotTeam captures leads into one round-robin team: one node on
// Badger, and 1, 2 and 3 in-process nodes on one PostgreSQL database (32
// concurrent callers spread over the nodes), the worst case of routing
// across nodes: every capture reads and writes the team's row, so a node's
// decisions made while another node's commit changed the row are refused
// and made again. Reports captures per second and routing conflicts per
// capture.
//
//	go test ./runtime/bench -run '^$' -bench HotTeam -benchtime 5000x
func BenchmarkHotTeam(b *testing.B) {
	b.Run("badger", func(b *testing.B) {
		st, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		hotTeam(b, []store.Store{st})
	})
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("postgres-nodes=%d", nodes), func(b *testing.B) {
			url := pgtest.URL(b)
			schema := pgtest.WithSchema(url, pgtest.Schema(b, url))
			var sts []store.Store
			for range nodes {
				st, err := postgres.Open(context.Background(), schema, postgres.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				sts = append(sts, st)
			}
			hotTeam(b, sts)
		})
	}
}

// hotTeam runs the workload with a node on each store.
func hotTeam(b *testing.B, stores []store.Store) {
	const callers = 32
	ctx := context.Background()
	nodes := len(stores)
	path := filepath.Join(b.TempDir(), "team.lead")
	if err := os.WriteFile(path, []byte(teamWorkflow), 0o644); err != nil {
		b.Fatal(err)
	}
	var svcs []*service.Service
	var regs []*prometheus.Registry
	for _, st := range stores {
		reg := prometheus.NewRegistry()
		svc := service.New(service.Config{Paths: []string{path}, Store: st, Registerer: reg})
		if err := svc.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { svc.Close(context.Background()) })
		svcs, regs = append(svcs, svc), append(regs, reg)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range callers {
		svc := svcs[c%nodes]
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if _, _, err := svc.Capture(ctx, "team", fmt.Sprintf("l%d", n), map[string]any{"email": "x@y.example"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	conflicts := 0.0
	for _, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "lead_routing_conflicts_total" {
				conflicts += mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "captures/s")
	b.ReportMetric(conflicts/float64(b.N), "conflicts/capture")
}
