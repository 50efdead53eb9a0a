package integration

// The harness: the real `lead` binary is built once per test run, started
// with `lead run` on a free 127.0.0.1 port (the kernel picks it: --addr
// 127.0.0.1:0, read back from the "serving" log line) and a temporary
// Badger directory, driven over HTTP, stopped with SIGTERM or killed with
// SIGKILL, and restarted on the same directory.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadlang/lead/internal/leadbin"
	"github.com/leadlang/lead/internal/pgtest"
)

// leadBin is the binary under test, built by TestMain, or given in
// binEnv to a test binary that the power-loss harness runs.
var leadBin string

const binEnv = "LEAD_IT_BIN"

// storeEnv=postgres runs the servers on PostgreSQL rather than Badger
// (a schema each; internal/pgtest finds or starts the server), except in
// the tests of the embedded store's own features (badgerOnly).
const storeEnv = "LEAD_IT_STORE"

// badgerOnly skips a test of the embedded store's own features (its
// directory, backups, disk space) when the servers run on PostgreSQL.
func badgerOnly(t testing.TB) {
	t.Helper()
	if os.Getenv(storeEnv) == "postgres" {
		t.Skip("a test of the embedded store (Badger): " + storeEnv + "=postgres")
	}
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if bin := os.Getenv(binEnv); bin != "" {
		// A child of the power-loss test: the binary is built.
		leadBin = bin
		return pgtest.Main(m)
	}
	dir, err := os.MkdirTemp("", "lead-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	// With the race detector, the binary runs with it too.
	if leadBin, err = leadbin.Build(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "build lead:", err)
		return 2
	}
	return pgtest.Main(m)
}

// startTimeout bounds how long a server may take to start serving.
const startTimeout = 60 * time.Second

// server is one `lead run` process over a data directory that outlives it.
type server struct {
	t     testing.TB
	data  string // the Badger directory
	store string // or the PostgreSQL store's URL (--store)
	// storeEnv gives store in $LEAD_STORE rather than --store.
	storeEnv bool
	paths    []string // workflow paths
	args     []string // extra flags
	env      []string // extra environment

	mu     sync.Mutex
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	log    *logBuffer
	exited chan struct{}
	logs   []*logBuffer // every run's log
	client *http.Client
}

// logBuffer collects a process's stderr and lets a test wait for a line.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{wake: make(chan struct{})} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.wake)
	b.wake = make(chan struct{})
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the log matches re and returns the first match's
// submatches, or nil after the timeout or once done is closed.
func (b *logBuffer) waitFor(re *regexp.Regexp, timeout time.Duration, done <-chan struct{}) []string {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		m := re.FindStringSubmatch(b.buf.String())
		wake := b.wake
		b.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-wake:
		case <-deadline:
			return nil
		case <-done:
			// One last look: the process may have written it on its way out.
			if m := re.FindStringSubmatch(b.String()); m != nil {
				return m
			}
			return nil
		}
	}
}

// serverOpts configure newServer.
type serverOpts struct {
	paths []string // workflow paths (default: a copy of testdata/deals.lead)
	args  []string // extra flags for `lead run`
	env   []string
	data  string // data directory (default: a new temporary one)
	store string // a postgres:// URL: the store is there (--store), not in data
}

// newServer starts `lead run` and waits until it serves. The process is
// killed when the test ends if it is still running.
func newServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	if o.data == "" && o.store == "" && os.Getenv(storeEnv) == "postgres" {
		// The black-box checks on PostgreSQL: a schema of the test's own,
		// and a node id kept across restarts.
		url := pgtest.URL(t)
		o.store = pgtest.WithSchema(url, pgtest.Schema(t, url))
		o.args = append([]string{"--node-id", "it"}, o.args...)
	}
	if o.data == "" {
		o.data = filepath.Join(t.TempDir(), "data")
	}
	if len(o.paths) == 0 {
		o.paths = []string{copyTestdata(t, t.TempDir(), "deals.lead")}
	}
	s := &server{t: t, data: o.data, store: o.store, paths: o.paths, args: o.args, env: o.env,
		client: &http.Client{Timeout: 60 * time.Second, Transport: validating{t, &http.Transport{MaxIdleConnsPerHost: 64}}}}
	t.Cleanup(func() {
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if running {
			s.kill()
		}
		s.checkLogs()
	})
	s.start()
	return s
}

var servingRE = regexp.MustCompile(`msg=serving addr=(http://127\.0\.0\.1:\d+)`)

// start starts the process on the server's data directory.
func (s *server) start() {
	s.t.Helper()
	args := []string{"run", "--addr", "127.0.0.1:0", "--data", s.data}
	env := append(os.Environ(), "LEAD_TOKEN=", "LEAD_STORE=")
	switch {
	case s.store != "" && s.storeEnv:
		args = []string{"run", "--addr", "127.0.0.1:0"}
		env = append(env, "LEAD_STORE="+s.store)
	case s.store != "":
		args = []string{"run", "--addr", "127.0.0.1:0", "--store", s.store}
	}
	args = append(args, s.args...)
	args = append(args, s.paths...)
	cmd := exec.Command(leadBin, args...)
	cmd.Env = append(env, s.env...)
	log := newLogBuffer()
	cmd.Stderr = log
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start lead run: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.log, s.exited = cmd, log, exited
	s.logs = append(s.logs, log)
	s.mu.Unlock()
	m := log.waitFor(servingRE, startTimeout, exited)
	if m == nil {
		s.t.Fatalf("lead run did not start serving:\n%s", log.String())
	}
	s.mu.Lock()
	s.base = m[1]
	s.mu.Unlock()
}

// restart starts the process again on the same data directory.
func (s *server) restart() {
	s.t.Helper()
	s.start()
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop() int {
	s.t.Helper()
	return s.signal(syscall.SIGTERM)
}

// kill sends SIGKILL and waits for the process to die.
func (s *server) kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL)
}

func (s *server) signal(sig syscall.Signal) int {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("signal %v: the server is not running", sig)
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
		s.t.Errorf("lead run did not exit within 60s of %v:\n%s", sig, s.log.String())
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return cmd.ProcessState.ExitCode()
}

// checkLogs fails the test if a run of the binary reported a data race
// or a panic.
func (s *server) checkLogs() {
	s.mu.Lock()
	logs := s.logs
	s.mu.Unlock()
	for i, l := range logs {
		out := l.String()
		if strings.Contains(out, "WARNING: DATA RACE") || strings.Contains(out, "panic:") {
			s.t.Errorf("run %d of lead run reported a data race or panic:\n%s", i+1, out)
		}
	}
}

// url returns the server's address for path.
func (s *server) url(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + path
}

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
	// unavailable holds the 503 answers until retried before this one.
	unavailable []response
}

// unknownOutcome reports whether until retried the request after an
// answer that said it may have been applied: the answer to the retry is
// then that of a repeat (a capture's 200, not 201).
func (r response) unknownOutcome() bool {
	for _, u := range r.unavailable {
		if bytes.Contains(u.body, []byte("may or may not have been applied")) || bytes.Contains(u.body, []byte("may still have been applied")) {
			return true
		}
	}
	return false
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// request sends a request. body is a string or []byte (sent as is) or
// any other value (sent as JSON); headers are key, value pairs.
func (s *server) request(method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url(path), rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// must sends a request and fails the test on a transport error.
func (s *server) must(method, path string, body any, headers ...string) response {
	s.t.Helper()
	r, err := s.request(method, path, body, headers...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// expect sends a request and requires a status.
func (s *server) expect(status int, method, path string, body any, headers ...string) response {
	s.t.Helper()
	r := s.must(method, path, body, headers...)
	if r.status != status {
		s.t.Fatalf("%s %s: got %s, want status %d", method, path, r, status)
	}
	return r
}

// capture captures a lead in workflow wf with fields and returns it.
func (s *server) capture(wf, id string, fields map[string]any) map[string]any {
	s.t.Helper()
	return s.expect(http.StatusCreated, "POST", "/v1/workflows/"+wf+"/leads", map[string]any{"id": id, "fields": fields}).json(s.t)
}

// send sends an event and returns the lead after it.
func (s *server) send(lead, typ, eventID string, data map[string]any) map[string]any {
	s.t.Helper()
	body := map[string]any{"type": typ}
	if eventID != "" {
		body["id"] = eventID
	}
	if data != nil {
		body["data"] = data
	}
	return s.expect(http.StatusOK, "POST", "/v1/leads/"+lead+"/events", body).json(s.t)
}

// until retries a request while it is refused as unavailable (503: its
// lead's partition is changing hands) or does not get through, for up to
// timeout; it returns the first other answer.
func until(t testing.TB, timeout time.Duration, s *server, method, path string, body any, headers ...string) response {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var unavailable []response
	for {
		r, err := s.request(method, path, body, headers...)
		if err == nil && r.status != http.StatusServiceUnavailable {
			r.unavailable = unavailable
			return r
		}
		if err == nil {
			unavailable = append(unavailable, r)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: still unavailable after %v: %v %v", method, path, timeout, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// history returns a lead's whole history, page after page.
func (s *server) history(lead string) []map[string]any {
	s.t.Helper()
	var all []map[string]any
	for {
		var h struct {
			Lead  string           `json:"lead"`
			Steps []map[string]any `json:"steps"`
		}
		path := "/v1/leads/" + lead + "/history"
		if n := len(all); n > 0 {
			path += fmt.Sprintf("?after=%d", int64(all[n-1]["seq"].(float64)))
		}
		// On a cluster, the lead's partition may be changing hands (503).
		r := until(s.t, 10*time.Second, s, "GET", path, nil)
		if r.status != http.StatusOK {
			s.t.Fatalf("GET %s: %v", path, r)
		}
		if err := json.Unmarshal(r.body, &h); err != nil {
			s.t.Fatalf("history: %v\n%s", err, r.body)
		}
		if len(h.Steps) == 0 {
			return all
		}
		all = append(all, h.Steps...)
	}
}

// workflows returns GET /v1/workflows's list.
func (s *server) workflows() []workflowInfo {
	s.t.Helper()
	var w struct {
		Workflows []workflowInfo `json:"workflows"`
	}
	r := s.expect(http.StatusOK, "GET", "/v1/workflows", nil)
	if err := json.Unmarshal(r.body, &w); err != nil {
		s.t.Fatalf("workflows: %v\n%s", err, r.body)
	}
	return w.Workflows
}

type workflowInfo struct {
	Name       string         `json:"name"`
	File       string         `json:"file"`
	Active     string         `json:"active_version"`
	Versions   map[string]int `json:"versions"`
	LastReload struct {
		At          string `json:"at"`
		OK          bool   `json:"ok"`
		Version     string `json:"version"`
		Diagnostics []struct {
			File     string `json:"file"`
			Line     int    `json:"line"`
			Column   int    `json:"column"`
			Severity string `json:"severity"`
			Code     string `json:"code"`
			Message  string `json:"message"`
		} `json:"diagnostics"`
	} `json:"last_reload"`
}

func (s *server) workflow(name string) workflowInfo {
	s.t.Helper()
	for _, w := range s.workflows() {
		if w.Name == name {
			return w
		}
	}
	s.t.Fatalf("GET /v1/workflows has no workflow %s", name)
	return workflowInfo{}
}

// notifications pages through the whole outbox.
func (s *server) notifications() []map[string]any {
	s.t.Helper()
	var all []map[string]any
	since := ""
	for {
		var page struct {
			Notifications []struct {
				Cursor       string         `json:"cursor"`
				Notification map[string]any `json:"notification"`
			} `json:"notifications"`
			Next string `json:"next_cursor"`
		}
		r := s.expect(http.StatusOK, "GET", "/v1/notifications?limit=100&since="+since, nil)
		if err := json.Unmarshal(r.body, &page); err != nil {
			s.t.Fatalf("notifications: %v\n%s", err, r.body)
		}
		for _, n := range page.Notifications {
			all = append(all, n.Notification)
		}
		if len(page.Notifications) == 0 {
			return all
		}
		since = page.Next
	}
}

// copyTestdata copies testdata files into dir and returns the path of the
// first.
func copyTestdata(t testing.TB, dir string, names ...string) string {
	t.Helper()
	var first string
	for _, n := range names {
		src, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = p
		}
	}
	return first
}

// writeFile writes a workflow file.
func writeFile(t testing.TB, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f until it returns true or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
