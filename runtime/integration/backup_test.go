package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lead runs a lead command (not `lead run`) and returns its exit code and
// output.
func lead(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(leadBin, args...)
	cmd.Env = append(append(os.Environ(), "LEAD_TOKEN=", "LEAD_SERVER="), env...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("lead %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// pinger sends ping events with unique ids to leads of its own from
// several workers, and keeps the list of those acknowledged.
type pinger struct {
	s    *server
	mu   sync.Mutex
	acks []string // "lead event-id"
	stop chan struct{}
	wg   sync.WaitGroup
}

func startPinger(s *server, workers int) *pinger {
	p := &pinger{s: s, stop: make(chan struct{})}
	for w := range workers {
		id := fmt.Sprint("bk", w)
		s.capture("deals", id, map[string]any{"email": id + "@x.example"})
		p.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-p.stop:
					return
				default:
				}
				ev := fmt.Sprint("e", i)
				r, err := s.request("POST", "/v1/leads/"+id+"/events", map[string]any{"type": "ping", "id": ev, "data": map[string]any{"n": 1}})
				if err != nil || r.status != http.StatusOK {
					s.t.Errorf("ping %s %s: %v %v", id, ev, r, err)
					return
				}
				p.mu.Lock()
				p.acks = append(p.acks, id+" "+ev)
				p.mu.Unlock()
			}
		})
	}
	return p
}

func (p *pinger) acked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.acks...)
}

func (p *pinger) halt() {
	close(p.stop)
	p.wg.Wait()
}

// eventIDs returns the event ids in a lead's history, counted.
func eventIDs(s *server, id string) map[string]int {
	ids := map[string]int{}
	for _, st := range s.history(id) {
		if e, ok := st["event_id"].(string); ok {
			ids[e]++
		}
	}
	return ids
}

// TestBackupUnderLoad backs a server up through the API with
// `lead backup --server` while 16 clients keep sending, restores the file
// with `lead restore` and serves it: every event acknowledged before the
// backup began is there, once. A backup of a directory a server uses is
// refused; of a stopped server's directory, it works offline.
func TestBackupUnderLoad(t *testing.T) {
	badgerOnly(t)
	t.Parallel()
	s := newServer(t, serverOpts{args: []string{"--token", "s3cret"}})
	auth := []string{"LEAD_TOKEN=s3cret"}
	// The pinger needs the token too.
	s.client.Transport = authTransport{"s3cret", s.client.Transport}
	p := startPinger(s, 16)
	eventually(t, 60*time.Second, "acknowledged events", func() bool { return len(p.acked()) >= 500 })
	before := p.acked()
	file := filepath.Join(t.TempDir(), "lead.backup")
	code, out := lead(t, auth, "backup", "--server", s.url(""), file)
	if code != 0 {
		t.Fatalf("lead backup: exit %d: %s", code, out)
	}
	time.Sleep(200 * time.Millisecond) // more load after it
	p.halt()
	t.Logf("%d events acknowledged before the backup began, %d in all", len(before), len(p.acked()))

	if code, out := lead(t, nil, "backup", "--data", s.data, filepath.Join(t.TempDir(), "x")); code != 2 || !strings.Contains(out, "--server") {
		t.Errorf("offline backup of a served directory: exit %d: %s", code, out)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if code, out := lead(t, nil, "restore", file, "--data", dir); code != 0 || !strings.Contains(out, "restored the backup taken at") {
		t.Fatalf("lead restore: exit %d: %s", code, out)
	}
	r := newServer(t, serverOpts{data: dir, paths: s.paths})
	seen := map[string]map[string]int{}
	for _, a := range before {
		id, ev, _ := strings.Cut(a, " ")
		if seen[id] == nil {
			seen[id] = eventIDs(r, id)
		}
		if seen[id][ev] != 1 {
			t.Errorf("lead %s: event %s, acknowledged before the backup, is in the restored history %d times", id, ev, seen[id][ev])
		}
	}
	if code, out := lead(t, nil, "restore", file, "--data", dir); code != 2 || !strings.Contains(out, "not empty") {
		t.Errorf("restore over a store: exit %d: %s", code, out)
	}

	// Offline, from a stopped server's directory.
	if code := s.stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	offline := filepath.Join(t.TempDir(), "offline.backup")
	if code, out := lead(t, nil, "backup", "--data", s.data, offline); code != 0 {
		t.Fatalf("offline backup: exit %d: %s", code, out)
	}
	dir2 := filepath.Join(t.TempDir(), "restored2")
	if code, out := lead(t, nil, "restore", offline, "--data", dir2); code != 0 {
		t.Fatalf("restore of the offline backup: exit %d: %s", code, out)
	}
	r2 := newServer(t, serverOpts{data: dir2, paths: s.paths})
	for _, a := range p.acked() {
		id, ev, _ := strings.Cut(a, " ")
		if n := eventIDs(r2, id)[ev]; n != 1 {
			t.Fatalf("lead %s: event %s is in the offline backup %d times", id, ev, n)
		}
	}
	// A backup cut short restores nothing.
	b, _ := os.ReadFile(offline)
	cut := filepath.Join(t.TempDir(), "cut.backup")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	dir3 := filepath.Join(t.TempDir(), "restored3")
	if code, out := lead(t, nil, "restore", cut, "--data", dir3); code != 2 || !strings.Contains(out, "cut short") {
		t.Errorf("restore of a cut backup: exit %d: %s", code, out)
	}
	if _, err := os.Stat(dir3); !os.IsNotExist(err) {
		t.Errorf("a failed restore left %s: %v", dir3, err)
	}
}

type authTransport struct {
	token string
	next  http.RoundTripper
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	return a.next.RoundTrip(r)
}

// TestDamagedStoreRefused: lead run on a store whose MANIFEST is gone or
// whose table is damaged exits 2 with a message naming the file and what
// to do, deletes nothing, and never panics.
func TestDamagedStoreRefused(t *testing.T) {
	badgerOnly(t)
	t.Parallel()
	s := newServer(t, serverOpts{})
	for i := range 200 {
		s.capture("deals", fmt.Sprint("d", i), map[string]any{"email": "a@x.example", "note": strings.Repeat("n", 500)})
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	tables, _ := filepath.Glob(filepath.Join(s.data, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table files after a clean stop")
	}
	run := func(t *testing.T, want ...string) {
		t.Helper()
		before, _ := os.ReadDir(s.data)
		code, log := leadRun(t, nil, "--data", s.data)
		if code != 2 || strings.Contains(log, "panic") {
			t.Fatalf("exit %d, want 2:\n%s", code, log)
		}
		for _, w := range append(want, "lead restore") {
			if !strings.Contains(log, w) {
				t.Errorf("the message does not say %q:\n%s", w, log)
			}
		}
		if after, _ := os.ReadDir(s.data); len(after) != len(before) {
			t.Errorf("files before %v, after %v", before, after)
		}
	}
	t.Run("a damaged table", func(t *testing.T) {
		orig, _ := os.ReadFile(tables[0])
		d := append([]byte(nil), orig...)
		for i := 100; i < len(d)-100; i += 997 {
			d[i] ^= 0x5a
		}
		os.WriteFile(tables[0], d, 0o644)
		run(t, filepath.Base(tables[0]))
		os.WriteFile(tables[0], orig, 0o644)
	})
	t.Run("no MANIFEST", func(t *testing.T) {
		m := filepath.Join(s.data, "MANIFEST")
		os.Rename(m, m+".aside")
		run(t, "MANIFEST is missing")
		os.Rename(m+".aside", m)
	})
	// Repaired, it serves everything.
	s.restart()
	s.expect(http.StatusOK, "GET", "/v1/leads/d199", nil)
}
