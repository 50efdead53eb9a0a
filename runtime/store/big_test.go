package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bigReopenEnv tells a re-executed test binary to be TestBig's restarted
// server: open the store in that directory, serve a first NextDue, report
// and exit.
const bigReopenEnv = "LEAD_STORE_BIG_REOPEN"

// memReport is a process's memory as TestBig reports it.
type memReport struct {
	HeapInuse, HeapSys, Sys uint64 // runtime.MemStats after a GC
	// VmRSS, and its anonymous part (the Go heap, stacks) and file part
	// (pages of Badger's memory-mapped tables and logs: page cache the
	// kernel can reclaim).
	RSS, RSSAnon, RSSFile uint64
}

func (m memReport) String() string {
	return fmt.Sprintf("RSS %d MiB = %d MiB anonymous + %d MiB mapped files; Go heap in use %d MiB, heap reserved %d MiB, all Go memory %d MiB",
		m.RSS>>20, m.RSSAnon>>20, m.RSSFile>>20, m.HeapInuse>>20, m.HeapSys>>20, m.Sys>>20)
}

func measureMemory() memReport {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := procStatus()
	return memReport{HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, Sys: ms.Sys,
		RSS: st["VmRSS"], RSSAnon: st["RssAnon"], RSSFile: st["RssFile"] + st["RssShmem"]}
}

// procStatus returns the sizes in /proc/self/status, in bytes.
func procStatus() map[string]uint64 {
	sizes := map[string]uint64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return sizes
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if kb, found := strings.CutSuffix(strings.TrimSpace(rest), " kB"); ok && found {
			n, _ := strconv.ParseUint(kb, 10, 64)
			sizes[name] = n << 10
		}
	}
	return sizes
}

// bigReport is what the restarted child reports.
type bigReport struct {
	Open, FirstNextDue    time.Duration // since the child's Open call
	InFlight              time.Duration // counting a million in-flight leads
	AfterOpen, AfterReads memReport
	Err                   string
}

// TestBig loads 1,000,000 leads with 1,000,000 pending timers, then
// restarts: a fresh process opens the store and serves its first NextDue.
// It reports the memory of both processes and the time to serve. It takes
// a few minutes and a few GB of disk, so it runs only with LEAD_BIG=1 and
// without -short:
//
//	LEAD_BIG=1 go test -run TestBig -v -timeout 30m ./runtime/store/
func TestBig(t *testing.T) {
	if dir := os.Getenv(bigReopenEnv); dir != "" {
		bigChild(dir)
		return
	}
	if testing.Short() || os.Getenv("LEAD_BIG") != "1" {
		t.Skip("set LEAD_BIG=1 (and no -short) to load a million leads")
	}
	const leads, writers, batch = 1_000_000, 4, 1000
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var peak memReport
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			steps := make([]StepWrite, 0, batch)
			for i := w; i < leads; i += writers {
				steps = append(steps, bigStep(i))
				if len(steps) == batch {
					if err := commitRows(s, nil, steps...); err != nil {
						t.Error(err)
						return
					}
					steps = steps[:0]
				}
			}
			if err := commitRows(s, nil, steps...); err != nil {
				t.Error(err)
			}
		})
	}
	done := make(chan struct{})
	var monitor sync.WaitGroup
	monitor.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Second):
				st := procStatus()
				peak.RSS = max(peak.RSS, st["VmRSS"])
				peak.RSSAnon = max(peak.RSSAnon, st["RssAnon"])
			}
		}
	})
	wg.Wait()
	close(done)
	monitor.Wait()
	if t.Failed() {
		return
	}
	t.Logf("loaded %d leads with %d timers in %v (%.0f leads/s); peak while loading: RSS %d MiB, anonymous %d MiB",
		leads, leads, time.Since(start).Round(time.Millisecond), leads/time.Since(start).Seconds(), peak.RSS>>20, peak.RSSAnon>>20)
	t.Logf("after loading: %v", measureMemory())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("on disk: %d MiB", diskUsage(dir)>>20)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBig$")
	cmd.Env = append(os.Environ(), bigReopenEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("restarted process: %v\n%s", err, out)
	}
	var r bigReport
	var line string
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "{") {
			line = l
		}
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("restarted process said %q: %v", out, err)
	}
	if r.Err != "" {
		t.Fatalf("restarted process: %s", r.Err)
	}
	t.Logf("restart: Open %v, first NextDue served %v after Open began", r.Open.Round(time.Millisecond), r.FirstNextDue.Round(time.Millisecond))
	t.Logf("InFlight over a million leads: %v", r.InFlight.Round(time.Millisecond))
	t.Logf("restarted process after Open: %v", r.AfterOpen)
	t.Logf("restarted process after 10,000 reads, a scan of the in-flight index: %v", r.AfterReads)
	if r.AfterReads.RSS > 1<<30 {
		t.Errorf("resident memory %d MiB is over 1 GiB", r.AfterReads.RSS>>20)
	}
	if r.FirstNextDue > 5*time.Second {
		t.Logf("NOTE: serving took %v, over the 5 s target", r.FirstNextDue)
	}
}

// bigStep captures lead i: a ~400-byte lead with one timer, in one of 5
// stages and 100 owners. Its data is JSON with values of its own, so that
// it compresses about as well as real leads (about 2:1 with Snappy).
func bigStep(i int) StepWrite {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	word := func(n int) string {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	id := fmt.Sprintf("lead-%07d", i)
	data := fmt.Appendf(nil, `{"id":%q,"workflow":"sales","stage":"stage-%d","owner":"owner-%d",`+
		`"fields":{"name":%q,"email":"%s@%s.com","company":%q,"title":%q,"phone":"+1%010d",`+
		`"score":%d,"source":"web","notes":%q},"created_at":"2026-03-02T09:00:00Z",`+
		`"slas":[{"name":"first_touch","deadline":"2026-03-02T13:00:00Z","state":"running"}]}`,
		id, i%5, i%100, word(14), word(8), word(6), word(12), word(10), r.Int64N(1e10), r.IntN(100), word(60))
	l := Lead{
		ID: id, Workflow: "sales", Version: "3f9a1c",
		Stage: fmt.Sprint("stage-", i%5), Owner: fmt.Sprint("owner-", i%100), Seq: 1,
		Timers: map[string]time.Time{"sla": t0.Add(time.Duration(i) * time.Second)},
		Data:   data,
	}
	entry := fmt.Appendf(nil, `{"at":"2026-03-02T09:00:00Z","cause":"capture","to":"stage-%d","owner":"owner-%d","actions":[%q]}`,
		i%5, i%100, word(40))
	return StepWrite{Lead: l, Entry: entry}
}

func bigChild(dir string) {
	var r bigReport
	defer func() {
		b, _ := json.Marshal(r)
		fmt.Printf("\n%s\n", b)
	}()
	start := time.Now()
	s, err := Open(dir, Options{Logger: quiet()})
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer s.Close()
	r.Open = time.Since(start)
	if _, ok, err := s.NextDue(ctx, t0); err != nil || !ok {
		r.Err = fmt.Sprintf("NextDue: %v %v", ok, err)
		return
	}
	r.FirstNextDue = time.Since(start)
	r.AfterOpen = measureMemory()
	// Serve a little: point reads spread over the whole key space, a page
	// of due timers, a page of an index.
	for i := range 10_000 {
		if _, err := s.GetLead(ctx, fmt.Sprintf("lead-%07d", i*97%1_000_000)); err != nil {
			r.Err = err.Error()
			return
		}
	}
	if _, err := s.ClaimDue(ctx, t0.Add(time.Hour), 1000, time.Minute); err != nil {
		r.Err = err.Error()
		return
	}
	if _, _, err := s.Leads(ctx, Query{Owner: "owner-7", Limit: 100}); err != nil {
		r.Err = err.Error()
		return
	}
	t := time.Now()
	if n, err := s.InFlight(ctx, "sales"); err != nil || n["3f9a1c"] != 1_000_000 {
		r.Err = fmt.Sprintf("InFlight: %v %v", n, err)
		return
	}
	r.InFlight = time.Since(t)
	r.AfterReads = measureMemory()
}
