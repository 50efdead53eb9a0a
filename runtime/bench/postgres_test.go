package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
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

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store/postgres"
)

// bumpWorkflow counts bump events in a field and moves its lead to the
// other stage every tenth bump.
//
//go:embed testdata/bump.lead
var bumpWorkflow string

// BenchmarkPostgresBump measures one node on PostgreSQL
// (LEAD_TEST_POSTGRES) through the HTTP API: 32 concurrent senders, each
// with one bump event (with its own event id, as an idempotent client
// sends it) in flight at a time, spread over 64 leads. It reports
// acknowledged events per second, the store's commit transactions per
// event, and PostgreSQL's WAL flushes per event (pg_stat_wal.wal_sync:
// every durable commit that reached the disk, the server's whole
// activity, so run it on a database nothing else uses).
func BenchmarkPostgresBump(b *testing.B) {
	url := os.Getenv("LEAD_TEST_POSTGRES")
	if url == "" {
		b.Skip("LEAD_TEST_POSTGRES is not set")
	}
	const leads, senders = 64, 32
	ctx := context.Background()
	schema := tempSchema(b, url)
	st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bump.lead")
	if err := os.WriteFile(path, []byte(bumpWorkflow), 0o644); err != nil {
		b.Fatal(err)
	}
	svc := service.New(service.Config{Paths: []string{path}, Store: st})
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	b.Cleanup(func() {
		srv.Close()
		svc.Close(context.Background())
		st.Close()
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
	walSyncs := func() int64 {
		var n int64
		if err := st.Pool().QueryRow(ctx, "SELECT wal_sync FROM pg_stat_wal").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	commits0, syncs0 := st.Stats().Commits.Load(), walSyncs()
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
	commits, syncs := st.Stats().Commits.Load()-commits0, walSyncs()-syncs0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(commits)/float64(b.N), "commits/event")
	b.ReportMetric(float64(syncs)/float64(b.N), "walsyncs/event")
}

// tempSchema returns a new schema name, dropped when the benchmark ends.
func tempSchema(tb testing.TB, url string) string {
	var r [6]byte
	rand.Read(r[:])
	name := "bench_" + hex.EncodeToString(r[:])
	tb.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			tb.Log(err)
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE")
	})
	return name
}
