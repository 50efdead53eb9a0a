package browser

// The harness: the real `lead` binary, built once per test run, serves
// testdata/ on a free 127.0.0.1 port with a temporary Badger directory
// (the integration tests' style); a seeded generator fills it through the
// API; a headless Chromium (one per test, with its own profile) loads the
// dashboards, and every exception, console error or refused request the
// page causes fails the test.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/leadlang/lead/internal/leadbin"
)

var (
	leadBin  string // the binary under test
	chromium string // the browser, "" when none was found
)

// required: LEAD_BROWSER_TESTS=require turns a missing browser into a
// failure (CI), instead of a skip.
func required() bool { return os.Getenv("LEAD_BROWSER_TESTS") == "require" }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	chromium = findChromium()
	if chromium == "" {
		return m.Run() // every test skips, or fails if required
	}
	dir, err := os.MkdirTemp("", "lead-browser-")
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
	return m.Run()
}

// findChromium returns the browser to drive: $LEAD_CHROMIUM, or the
// first of the usual names on $PATH.
func findChromium() string {
	if p := os.Getenv("LEAD_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if p, err := exec.LookPath(p); err == nil {
			return p
		}
		return ""
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips the test when there is no browser, or fails it when
// one is required.
func needBrowser(t testing.TB) {
	t.Helper()
	if chromium != "" {
		return
	}
	msg := "no Chromium found (chromium, chromium-browser, google-chrome or headless-shell on $PATH, or $LEAD_CHROMIUM): install Debian's chromium"
	if p := os.Getenv("LEAD_CHROMIUM"); p != "" {
		msg = fmt.Sprintf("LEAD_CHROMIUM=%s names no browser found", p)
	}
	if required() {
		t.Fatal(msg + "; LEAD_BROWSER_TESTS=require makes this a failure")
	}
	t.Skip(msg + " to run the browser tests; LEAD_BROWSER_TESTS=require makes this a failure")
}

// ---------------------------------------------------------------------------
// The server

type server struct {
	t     testing.TB
	token string
	base  string // http://127.0.0.1:PORT
	cmd   *exec.Cmd
	log   *logBuffer
	http  *http.Client
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var servingRE = regexp.MustCompile(`msg=serving addr=(http://127\.0\.0\.1:\d+)`)

// startServer runs `lead run` on testdata/ with a new data directory
// (data "") or the one given; token "" runs it without one.
func startServer(t testing.TB, token, data string) *server {
	t.Helper()
	return startServerOn(t, token, data, "testdata")
}

// startServerOn serves the workflows in dir.
func startServerOn(t testing.TB, token, data, dir string) *server {
	t.Helper()
	if data == "" {
		data = filepath.Join(t.TempDir(), "data")
	}
	wf, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(leadBin, "run", "--addr", "127.0.0.1:0", "--data", data, "--no-watch", wf)
	// The token goes in the environment, as an operator would give it.
	cmd.Env = append(os.Environ(), "LEAD_TOKEN="+token)
	s := &server{t: t, token: token, cmd: cmd, log: &logBuffer{}, http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if out := s.log.String(); strings.Contains(out, "WARNING: DATA RACE") || strings.Contains(out, "panic:") {
			t.Errorf("lead run reported a data race or a panic:\n%s", out)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(s.log.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case <-exited:
			t.Fatalf("lead run exited:\n%s", s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead run did not start serving:\n%s", s.log.String())
		}
	}
}

// call sends a request with the token and returns the status and body.
func (s *server) call(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// get decodes a GET's JSON answer into v, failing the test on anything
// but 200.
func (s *server) get(path string, v any) {
	s.t.Helper()
	status, raw, err := s.call("GET", path, nil)
	if err != nil || status != http.StatusOK {
		s.t.Fatalf("GET %s: %d %v\n%s", path, status, err, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		s.t.Fatalf("GET %s: %v\n%s", path, err, raw)
	}
}

// lead is the part of a lead the tests read.
type lead struct {
	ID       string         `json:"id"`
	Workflow string         `json:"workflow"`
	Stage    string         `json:"stage"`
	Owner    string         `json:"owner"`
	Fields   map[string]any `json:"fields"`
	Stuck    *struct {
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
	} `json:"stuck"`
	SLAs []struct {
		Name     string    `json:"name"`
		Deadline time.Time `json:"deadline"`
		State    string    `json:"state"`
	} `json:"slas"`
}

type leadPage struct {
	Leads []lead `json:"leads"`
	Next  string `json:"next_cursor"`
	Total *int   `json:"total"`
}

func (s *server) leads(query string) leadPage {
	s.t.Helper()
	var p leadPage
	s.get("/v1/leads?"+query, &p)
	return p
}

// ---------------------------------------------------------------------------
// The generator

// The paths a seeded lead takes, with their weights: the events sent
// after its capture, in order. Stuck leads (poke reads an absent field),
// SLAs running, warned (callback's 10-minute SLA warns at 1%) and met,
// leads in every stage and in both terminal ones.
var paths = []struct {
	weight int
	events []string
}{
	{15, nil},                           // inbox
	{7, []string{"poke"}},               // stuck in inbox
	{10, []string{"hot"}},               // callback: call_back warns after 6s
	{8, []string{"qualify", "reject"}},  // lost
	{10, []string{"qualify"}},           // review: first_touch running
	{5, []string{"qualify", "poke"}},    // stuck in review
	{7, []string{"qualify", "touch"}},   // review, first_touch met
	{18, []string{"qualify", "accept"}}, // working
	{12, []string{"qualify", "accept", "win"}},
	{8, []string{"qualify", "accept", "lose"}},
}

var (
	regions = []string{"na", "emea", "apac"}
	sources = []string{"web", "partner", "event"}
)

// seed captures n leads in workflow dash with ids from a prefix, and
// sends each its path's events, with workers clients at once. The same
// seed gives the same leads and paths.
func seed(t testing.TB, s *server, seedValue uint64, prefix string, n, workers int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seedValue, 0x1ead))
	total := 0
	for _, p := range paths {
		total += p.weight
	}
	type plan struct {
		id     string
		fields map[string]any
		events []string
	}
	plans := make([]plan, n)
	for i := range plans {
		pick := rng.IntN(total)
		var events []string
		for _, p := range paths {
			if pick < p.weight {
				events = p.events
				break
			}
			pick -= p.weight
		}
		id := fmt.Sprintf("%s%05d", prefix, i)
		plans[i] = plan{id: id, events: events, fields: map[string]any{
			"email":   id + "@corp" + fmt.Sprint(rng.IntN(50)) + ".example",
			"company": fmt.Sprintf("Company %d", rng.IntN(200)),
			"region":  regions[rng.IntN(len(regions))],
			"source":  sources[rng.IntN(len(sources))],
		}}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	work := make(chan plan)
	for range workers {
		wg.Go(func() {
			for p := range work {
				if err := s.must("POST", "/v1/workflows/dash/leads", map[string]any{"id": p.id, "fields": p.fields}, http.StatusCreated); err != nil {
					errs <- err
					return
				}
				for i, ev := range p.events {
					if err := s.must("POST", "/v1/leads/"+p.id+"/events", map[string]any{"type": ev, "id": fmt.Sprintf("%s-%d", p.id, i)}, http.StatusOK); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for _, p := range plans {
		select {
		case work <- p:
		case err := <-errs:
			close(work)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// must sends a request and returns an error unless it answers status.
func (s *server) must(method, path string, body any, status int) error {
	got, raw, err := s.call(method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if got != status {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, got, status, raw)
	}
	return nil
}

// ---------------------------------------------------------------------------
// The browser

type browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	problems []string
	allowed  []string // substrings of console errors a test expects
}

// newBrowser starts a headless Chromium with a fresh profile (no token
// kept) and a window of w×h. Exceptions, console errors and CSP refusals
// are recorded and fail the test at its end; failed loads (the 401s of
// the token prompt, a 422 a form shows) are the API's answers and are
// not.
func newBrowser(t testing.TB, w, h int64) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.WindowSize(int(w), int(h)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page reported: %s", p)
		}
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Source == "network" || (m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException) {
				continue
			}
			b.mu.Lock()
			b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			b.mu.Unlock()
		}
	}()
	// Count the token prompts: the page's own code cannot be asked.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		(() => {
			const show = HTMLDialogElement.prototype.showModal;
			HTMLDialogElement.prototype.showModal = function () {
				if (this.id === 'token-dialog') sessionStorage.setItem('prompts', String(Number(sessionStorage.getItem('prompts') || 0) + 1));
				return show.call(this);
			};
		})();`}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs actions, failing the test with what for context.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// wait waits until a JavaScript expression is truthy.
func (b *browser) wait(what, js string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		state := ""
		if s, e := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 2000) : ''`)); e == nil {
			state = s
		}
		b.t.Fatalf("waiting for %s (%s): %v\nthe page shows:\n%s", what, js, err, state)
	}
}

// open navigates to a dashboard URL and waits for what to be true.
func (b *browser) open(url, what, ready string) {
	b.t.Helper()
	b.do("navigate to "+url, chromedp.Navigate(url))
	b.wait(what, ready, 20*time.Second)
}

// viewport changes the window's size.
func (b *browser) viewport(w, h int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	b.do("viewport", chromedp.EmulateViewport(w, h, opts...))
}

// screenshot saves the whole page as NAME.png among the artifacts.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := artifacts(b.t)
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
}

// artifacts is where screenshots go: $LEAD_TEST_ARTIFACTS, or
// .artifacts/browser/ at the repository's root.
func artifacts(t testing.TB) string {
	dir := os.Getenv("LEAD_TEST_ARTIFACTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, ".artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// eventually retries f until it returns "" (agreement) or the timeout
// passes, then fails with its last complaint. The page refreshes every
// 5 s, so what it shows may lag the API by that much.
func eventually(t testing.TB, timeout time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
