package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/pgtest"
)

// clusterLease is the nodes' lease in the cluster tests.
const clusterLease = 2 * time.Second

// newCluster starts n `lead run` nodes on one PostgreSQL schema.
func newCluster(t testing.TB, n int) []*server {
	t.Helper()
	url := pgtest.URL(t)
	store := pgtest.WithSchema(url, pgtest.Schema(t, url))
	dir := t.TempDir()
	copyTestdata(t, dir, "deals.lead", "timed.lead", "shared_team.lead")
	var nodes []*server
	for i := range n {
		nodes = append(nodes, newServer(t, serverOpts{paths: []string{dir}, store: store,
			args: []string{"--node-id", fmt.Sprintf("n%d", i), "--lease", clusterLease.String()}}))
	}
	return nodes
}

// ping sends lead a ping of 5 with an event id through s, retrying; it
// reports whether it was acknowledged.
func ping(t testing.TB, s *server, lead, eventID string, timeout time.Duration) {
	t.Helper()
	r := until(t, timeout, s, "POST", "/v1/leads/"+lead+"/events", map[string]any{"type": "ping", "id": eventID, "data": map[string]any{"n": 5}})
	if r.status != http.StatusOK {
		t.Fatalf("ping %s %s: %v", lead, eventID, r)
	}
}

// checkPings checks that a deals lead applied each of its acknowledged
// pings exactly once: its engagement and its history.
func checkPings(t testing.TB, s *server, lead string, acked int) {
	t.Helper()
	v := until(t, 10*time.Second, s, "GET", "/v1/leads/"+lead, nil).json(t)
	if got := v["fields"].(map[string]any)["engagement"]; got != float64(5*acked) {
		t.Errorf("lead %s: engagement %v after %d acknowledged pings of 5", lead, got, acked)
	}
	if h := s.history(lead); len(h) != 1+acked {
		t.Errorf("lead %s: %d steps in its history, want its capture and %d pings", lead, len(h), acked)
	}
}

// TestClusterFailover: three nodes on one database, load through all of
// them (each forwards what another node's partitions hold), `kill -9`
// one just as timers fall due: its leads are served by the others (how
// soon is BenchmarkCluster/failover's to measure), every acknowledged
// event is there exactly once, and every timer fired once.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 3)
	const leads, pings, timed = 30, 3, 30
	for i := range leads {
		until(t, 10*time.Second, nodes[i%3], "POST", "/v1/workflows/deals/leads", map[string]any{"id": fmt.Sprintf("d%d", i), "fields": map[string]any{"email": "d@x.example"}})
	}
	var wg sync.WaitGroup
	for i := range leads {
		wg.Go(func() {
			for k := range pings {
				ping(t, nodes[rand.IntN(3)], fmt.Sprintf("d%d", i), fmt.Sprintf("e%d", k), 10*time.Second)
			}
		})
	}
	wg.Wait()
	var created time.Time
	for i := range timed {
		r := until(t, 10*time.Second, nodes[i%3], "POST", "/v1/workflows/timed/leads", map[string]any{"id": fmt.Sprintf("t%d", i), "fields": map[string]any{"email": "t@x.example"}})
		if i == 0 {
			created = checkTime(t, "created_at", r.json(t)["created_at"])
		}
	}
	// Load through every node while one is killed: senders go on through
	// any node, the killed one included; an event not acknowledged (the
	// connection broke, or 503) is sent again with its id through another
	// node until it is. Each lead must end with each event applied once.
	var load sync.WaitGroup
	stopLoad := make(chan struct{})
	sent := make([]int, leads)
	for i := range leads {
		load.Go(func() {
			id := fmt.Sprintf("d%d", i)
			for k := 0; ; k++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				ev := map[string]any{"type": "ping", "id": fmt.Sprintf("l%d", k), "data": map[string]any{"n": 5}}
				deadline := time.Now().Add(clusterLease + 10*time.Second)
				for try := 0; ; try++ {
					r, err := nodes[(i+k+try)%3].request("POST", "/v1/leads/"+id+"/events", ev)
					if err == nil && r.status == http.StatusOK {
						break
					}
					if err == nil && r.status != http.StatusServiceUnavailable {
						t.Errorf("ping %s l%d: %v", id, k, r)
						return
					}
					if time.Now().After(deadline) {
						t.Errorf("ping %s l%d: not acknowledged within %v: %v %v", id, k, clusterLease+10*time.Second, r, err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				sent[i] = k + 1
			}
		})
	}
	time.Sleep(time.Until(created.Add(timerDue + 5*time.Millisecond)))
	took := killAndServe(t, nodes, leads)
	// How soon is BenchmarkCluster/failover's to measure: tests assert no
	// wall-clock times beyond ping's deadline (lease + 10 s).
	t.Logf("every lead took a write again %v after the kill (lease %v)", took.Round(time.Millisecond), clusterLease)
	close(stopLoad)
	load.Wait()
	total := 0
	for _, n := range sent {
		total += n
	}
	t.Logf("%d events acknowledged by the load during the kill", total)
	checkPartitions(t, nodes[1:])
	for i := range leads {
		checkPings(t, nodes[1], fmt.Sprintf("d%d", i), pings+1+sent[i])
	}
	// The node's metrics: what it holds, per partition too, and what it
	// took over.
	metrics := string(nodes[1].expect(http.StatusOK, "GET", "/metrics", nil).body)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^lead_cluster_partitions_held\{node="n1"\} 12[78]$`),
		regexp.MustCompile(`(?m)^lead_cluster_partition_epoch\{node="n1",partition="\d+"\} [1-9]\d*$`),
		regexp.MustCompile(`(?m)^lead_cluster_partition_timer_lag_seconds\{node="n1",partition="\d+"\} `),
		regexp.MustCompile(`(?m)^lead_cluster_partitions_acquired_total [1-9]\d*$`),
		regexp.MustCompile(`(?m)^lead_cluster_forwarded_requests_total\{result="forwarded"\} [1-9]\d*$`),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("n1's /metrics has no line matching %s", want)
		}
	}
	// lead cluster status: the killed node is not live and holds nothing.
	out, err := exec.Command(leadBin, "cluster", "status", "--store", nodes[0].store).CombinedOutput()
	if err != nil {
		t.Fatalf("lead cluster status: %v\n%s", err, out)
	}
	t.Logf("lead cluster status:\n%s", out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^n0 +http://\S+ +no \(since \S+\) +0 `),
		regexp.MustCompile(`(?m)^n1 +http://\S+ +yes +(12[78]) `),
		regexp.MustCompile(`(?m)^n2 +http://\S+ +yes +(12[78]) `),
		regexp.MustCompile(`(?m)^\(no owner\) +0 `),
	} {
		if !want.Match(out) {
			t.Errorf("lead cluster status does not match %s", want)
		}
	}
	for i := range timed {
		id := fmt.Sprintf("t%d", i)
		eventually(t, 10*time.Second, id+"'s timer", func() bool {
			r := until(t, 10*time.Second, nodes[2], "GET", "/v1/leads/"+id, nil)
			return r.json(t)["stage"] == "done"
		})
		checkTimerFiredOnce(t, nodes[2], id, created, false)
	}
	count := map[string]int{}
	for _, note := range nodes[1].notifications() {
		count[note["lead"].(string)]++
	}
	for i := range timed {
		if id := fmt.Sprintf("t%d", i); count[id] != 1 {
			t.Errorf("lead %s has %d notifications, want 1", id, count[id])
		}
	}
}

// BenchmarkCluster measures the two hand-overs of partitions on real
// `lead run` nodes (lease 2 s): failover, from a `kill -9` of one of
// three nodes until each of its leads took a write through the others
// (target: at most the lease and a second), and join, from the start of
// a third node until it holds its share. Each reports seconds per
// hand-over.
//
//	LEAD_POSTGRES_TESTS=require go test ./runtime/integration -run '^$' -bench Cluster -benchtime 3x
func BenchmarkCluster(b *testing.B) {
	const leads = 30
	b.Run("failover", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer() // ns/op: the hand-overs alone
			nodes := newCluster(b, 3)
			for i := range leads {
				id := fmt.Sprintf("d%d", i)
				until(b, 10*time.Second, nodes[i%3], "POST", "/v1/workflows/deals/leads", map[string]any{"id": id, "fields": map[string]any{"email": "d@x.example"}})
				ping(b, nodes[(i+1)%3], id, "e0", 10*time.Second) // forwarded: every node knows the owners
			}
			b.StartTimer()
			total += killAndServe(b, nodes, leads)
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/failover")
	})
	b.Run("join", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer()
			nodes := newCluster(b, 2)
			b.StartTimer()
			_, took := join(b, nodes)
			total += took
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/join")
	})
}

// killAndServe kills nodes[0] (kill -9) and returns how long it took
// until every one of the deals leads d0...d{leads-1} took a write
// ("after") through the other nodes.
func killAndServe(tb testing.TB, nodes []*server, leads int) time.Duration {
	nodes[0].kill()
	killed := time.Now()
	var wg sync.WaitGroup
	for i := range leads {
		wg.Go(func() {
			ping(tb, nodes[1+i%2], fmt.Sprintf("d%d", i), "after", clusterLease+10*time.Second)
		})
	}
	wg.Wait()
	return time.Since(killed)
}

// checkPartitions checks that the nodes' /readyz lists between them
// every partition once.
func checkPartitions(t testing.TB, nodes []*server) {
	t.Helper()
	held := map[float64]string{}
	for _, n := range nodes {
		v := n.expect(http.StatusOK, "GET", "/readyz", nil).json(t)
		for _, p := range v["partitions"].([]any) {
			if o, ok := held[p.(float64)]; ok {
				t.Fatalf("partition %v held by %s and %v", p, o, v["node"])
			}
			held[p.(float64)] = v["node"].(string)
		}
	}
	if len(held) != 256 {
		t.Fatalf("the nodes' /readyz list %d partitions between them, want 256", len(held))
	}
}

// TestClusterSplitBrain: a node stopped (SIGSTOP) past its lease loses
// its partitions to the other; the other writes to its leads; the first,
// continued (SIGCONT), cannot write to them with what it knew: its own
// attempts are refused, it takes its share back and reads the leads
// again, and nothing is lost or applied twice.
func TestClusterSplitBrain(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 2)
	a, b := nodes[0], nodes[1]
	const leads = 20
	for i := range leads {
		id := fmt.Sprintf("s%d", i)
		until(t, 10*time.Second, b, "POST", "/v1/workflows/deals/leads", map[string]any{"id": id, "fields": map[string]any{"email": "s@x.example"}})
		ping(t, a, id, "e0", 10*time.Second) // every lead is in a's cache (those of its partitions)
	}
	a.mu.Lock()
	proc := a.cmd.Process
	a.mu.Unlock()
	proc.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	for i := range leads {
		ping(t, b, fmt.Sprintf("s%d", i), "e1", clusterLease+10*time.Second)
	}
	t.Logf("b wrote to every lead %v after a stopped", time.Since(stopped).Round(time.Millisecond))
	proc.Signal(syscall.SIGCONT)
	// Served by a itself (not forwarded), at once: refused, or the lead
	// as b left it, never a write from a's stale copy.
	for i := range leads {
		r, err := a.request("POST", fmt.Sprintf("/v1/leads/s%d/events", i), map[string]any{"type": "ping", "id": "e2", "data": map[string]any{"n": 5}}, "Lead-Forwarded-By", "test")
		if err != nil {
			t.Fatal(err)
		}
		switch r.status {
		case http.StatusServiceUnavailable:
		case http.StatusOK:
			if got := r.json(t)["fields"].(map[string]any)["engagement"]; got != float64(15) {
				t.Fatalf("a applied e2 to lead s%d at engagement %v: it did not see b's e1 (want 15)", i, got)
			}
		default:
			t.Fatalf("a: ping s%d: %v", i, r)
		}
	}
	// Whatever a got in, every lead ends with each acknowledged ping once.
	for i := range leads {
		ping(t, b, fmt.Sprintf("s%d", i), "e2", clusterLease+10*time.Second)
		ping(t, a, fmt.Sprintf("s%d", i), "e3", clusterLease+10*time.Second)
	}
	for i := range leads {
		checkPings(t, b, fmt.Sprintf("s%d", i), 4)
	}
}

// TestClusterJoin: a third node joins two that serve leads: it takes its
// share, the three hold every partition once between them, and every
// lead takes writes through it, each once.
func TestClusterJoin(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 2)
	const leads = 30
	for i := range leads {
		id := fmt.Sprintf("j%d", i)
		until(t, 10*time.Second, nodes[i%2], "POST", "/v1/workflows/deals/leads", map[string]any{"id": id, "fields": map[string]any{"email": "j@x.example"}})
		ping(t, nodes[1-i%2], id, "e0", 10*time.Second)
	}
	c, took := join(t, nodes)
	nodes = append(nodes, c)
	t.Logf("the third node held its share %v after it started", took.Round(time.Millisecond))
	checkPartitions(t, nodes)
	for i := range leads {
		ping(t, c, fmt.Sprintf("j%d", i), "e1", 10*time.Second)
	}
	for i := range leads {
		checkPings(t, nodes[i%3], fmt.Sprintf("j%d", i), 2)
	}
}

// join starts a node on the cluster's database and returns it with the
// time from its start until it held its share of the partitions, the
// nodes holding every partition once between them. How soon is
// BenchmarkCluster/join's to measure; the wait here is a deadline.
func join(tb testing.TB, nodes []*server) (*server, time.Duration) {
	tb.Helper()
	start := time.Now()
	c := newServer(tb, serverOpts{paths: nodes[0].paths, store: nodes[0].store,
		args: []string{"--node-id", fmt.Sprintf("n%d", len(nodes)), "--lease", clusterLease.String()}})
	all := append(nodes[:len(nodes):len(nodes)], c)
	share := 256 / len(all)
	eventually(tb, clusterLease+10*time.Second, "the new node's share, every partition held once", func() bool {
		n := 0
		for _, s := range all {
			held := len(s.expect(http.StatusOK, "GET", "/readyz", nil).json(tb)["partitions"].([]any))
			if s == c && held < share {
				return false
			}
			n += held
		}
		return n == 256
	})
	return c, time.Since(start)
}

// TestClusterRouting: three nodes route leads into the same teams at
// once, each request through any node: the round-robin team gives its
// turns in order across the nodes (a, b, c, d, a, ... in commit order),
// and no member of the capped team holds more than its capacity, however
// the nodes interleave.
func TestClusterRouting(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 3)
	const rr, capped = 120, 30 // capped: 3 members × 5 places
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for i := range rr + capped {
		pool, id := "rr", fmt.Sprintf("rr-%03d", i)
		if i >= rr {
			pool, id = "capped", fmt.Sprintf("capped-%03d", i)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := until(t, 20*time.Second, nodes[i%3], "POST", "/v1/workflows/shared/leads",
				map[string]any{"id": id, "fields": map[string]any{"email": id + "@y.example", "pool": pool}})
			// A capture forwarded to a node its partition left while the
			// node had it is answered 503, outcome unknown: the retry finds
			// the lead if it was applied.
			if r.status != http.StatusCreated && (r.status != http.StatusOK || !r.unknownOutcome()) {
				t.Errorf("capture %s: %v (after %v)", id, r, r.unavailable)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	owner := map[string]string{}
	held := map[string]int{}
	for i := range rr + capped {
		id := fmt.Sprintf("rr-%03d", i)
		if i >= rr {
			id = fmt.Sprintf("capped-%03d", i)
		}
		v := until(t, 10*time.Second, nodes[(i+1)%3], "GET", "/v1/leads/"+id, nil).json(t)
		owner[id] = v["owner"].(string)
		held[fmt.Sprint(v["owner"], " ", v["stage"])]++
	}
	var turns []string
	for _, line := range strings.Split(strings.TrimSpace(string(nodes[2].expect(http.StatusOK, "GET", "/v1/steps?limit=10000", nil).body)), "\n") {
		var st struct{ Lead string }
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(st.Lead, "rr-") {
			turns = append(turns, owner[st.Lead][:1])
		}
	}
	if len(turns) != rr {
		t.Fatalf("%d round-robin captures in the step stream, want %d", len(turns), rr)
	}
	for i, m := range turns {
		if want := string(rune('a' + (i+int(turns[0][0]-'a'))%4)); m != want {
			t.Fatalf("turn %d went to %s, want %s: %s", i, m, want, strings.Join(turns, ""))
		}
	}
	for _, m := range []string{"p", "q", "r"} {
		if n := held[m+"@x.example inbox"]; n != 5 {
			t.Errorf("capacity 5: %s holds %d leads (%v)", m, n, held)
		}
	}
	if n := held["ops parked"]; n != capped-15 {
		t.Errorf("%d leads parked for want of an owner, want %d (%v)", n, capped-15, held)
	}
	var conflicts float64
	for _, s := range nodes {
		conflicts += metric(t, s, "lead_routing_conflicts_total")
	}
	t.Logf("%d routed captures through 3 nodes: %v routing conflicts, each decided again", rr+capped, conflicts)
}

// metric reads a counter without labels from a node's /metrics.
func metric(t testing.TB, s *server, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(s.expect(http.StatusOK, "GET", "/metrics", nil).body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
