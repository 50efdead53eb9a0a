package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// leadBin is the real `lead` binary, which the integration tests start
// as an editor does. It is built on first use (fuzzing never needs it)
// into a directory TestMain removes.
var (
	leadBinDir  string
	leadBinOnce sync.Once
	leadBinErr  error
)

func leadBin(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(leadBinDir, "lead")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	leadBinOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/lead").CombinedOutput()
		if err != nil {
			leadBinErr = fmt.Errorf("building lead: %v\n%s", err, out)
		}
	})
	if leadBinErr != nil {
		t.Fatal(leadBinErr)
	}
	return bin
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lead-lsp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	leadBinDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// client is an editor's side of an LSP conversation.
type client struct {
	t    testing.TB
	conn jsonrpc2.Conn
	cmd  *exec.Cmd // nil for an in-process server
	done chan error

	mu    sync.Mutex
	diags map[protocol.DocumentURI][]protocol.Diagnostic
	seen  map[protocol.DocumentURI]int // publications per document
	logs  []string
	wake  chan struct{}
}

// pipeRWC joins a process's stdout (read) and stdin (write).
type pipeRWC struct {
	io.ReadCloser
	io.WriteCloser
}

func (p pipeRWC) Close() error {
	err := p.WriteCloser.Close()
	p.ReadCloser.Close()
	return err
}

// startBinary starts `lead lsp` and initializes it with root as the
// workspace folder.
func startBinary(t testing.TB, root string, encodings ...string) *client {
	t.Helper()
	cmd := exec.Command(leadBin(t), "lsp")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, pipeRWC{stdout, stdin})
	c.cmd = cmd
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-c.done
		}
	})
	c.initialize(root, encodings)
	return c
}

// startInProcess runs the server in this process (so the race detector
// and the goroutine count see it) over a pipe.
func startInProcess(t testing.TB, root string, opts Options, encodings ...string) *client {
	t.Helper()
	a, b := newPipe()
	c := newClient(t, a)
	go func() { c.done <- Serve(context.Background(), b, opts) }()
	c.initialize(root, encodings)
	return c
}

// pipe is one end of an in-memory full-duplex stream.
type pipe struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newPipe() (pipe, pipe) {
	r1, w1 := io.Pipe()
	r2, w2 := io.Pipe()
	return pipe{r1, w2}, pipe{r2, w1}
}

func (p pipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipe) Close() error {
	p.w.Close()
	return p.r.Close()
}

func newClient(t testing.TB, rwc io.ReadWriteCloser) *client {
	c := &client{t: t, conn: jsonrpc2.NewConn(jsonrpc2.NewStream(rwc)), done: make(chan error, 1),
		diags: map[protocol.DocumentURI][]protocol.Diagnostic{}, seen: map[protocol.DocumentURI]int{}, wake: make(chan struct{}, 1)}
	c.conn.Go(context.Background(), c.handle)
	return c
}

// handle receives the server's notifications.
func (c *client) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	c.mu.Lock()
	switch req.Method() {
	case "textDocument/publishDiagnostics":
		var p protocol.PublishDiagnosticsParams
		if err := json.Unmarshal(req.Params(), &p); err == nil {
			c.diags[p.URI] = p.Diagnostics
			c.seen[p.URI]++
		}
	case "window/logMessage":
		var p protocol.LogMessageParams
		json.Unmarshal(req.Params(), &p)
		c.logs = append(c.logs, p.Message)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return reply(ctx, nil, nil)
}

func (c *client) initialize(root string, encodings []string) map[string]any {
	c.t.Helper()
	params := map[string]any{
		"processId": os.Getpid(),
		"rootUri":   uri.File(root),
		"workspaceFolders": []map[string]string{
			{"uri": string(uri.File(root)), "name": filepath.Base(root)},
		},
		"capabilities": map[string]any{"general": map[string]any{"positionEncodings": encodings}},
	}
	var result map[string]any
	if err := c.call("initialize", params, &result); err != nil {
		c.t.Fatalf("initialize: %v", err)
	}
	c.notify("initialized", map[string]any{})
	return result
}

func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

// mustCall calls and fails the test on an error response.
func (c *client) mustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

func (c *client) open(u protocol.DocumentURI, text string) {
	c.notify("textDocument/didOpen", protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: u, LanguageID: "lead", Version: 1, Text: text}})
}

// edit replaces the range with text in an open document.
func (c *client) edit(u protocol.DocumentURI, version int32, r protocol.Range, text string) {
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": u, "version": version},
		"contentChanges": []map[string]any{{"range": r, "text": text}},
	})
}

// waitDiags waits until the last diagnostics published for u satisfy ok.
func (c *client) waitDiags(u protocol.DocumentURI, what string, ok func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	c.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		ds, published := c.diags[u]
		c.mu.Unlock()
		if published && ok(ds) {
			return ds
		}
		select {
		case <-c.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("timed out waiting for diagnostics of %s: %s; last: %v", u, what, ds)
		}
	}
}

// shutdown ends the conversation as an editor does and returns how the
// server ended.
func (c *client) shutdown() error {
	c.t.Helper()
	c.mustCall("shutdown", nil, nil)
	c.notify("exit", nil)
	select {
	case err := <-c.done:
		c.conn.Close()
		<-c.conn.Done()
		return err
	case <-time.After(20 * time.Second):
		c.t.Fatal("the server did not exit")
	}
	return nil
}

// copyExamples copies the repository's examples into a fresh workspace.
func copyExamples(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	paths, _ := filepath.Glob("../examples/*.lead")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// at returns the LSP position (UTF-16) of the n-th occurrence (from 0) of
// needle in text, plus delta bytes.
func at(t testing.TB, text, needle string, n, delta int) protocol.Position {
	t.Helper()
	off := -1
	for i := 0; i <= n; i++ {
		j := strings.Index(text[off+1:], needle)
		if j < 0 {
			t.Fatalf("%q occurs fewer than %d times", needle, n+1)
		}
		off += 1 + j
	}
	return newMapper(text, false).position(off + delta)
}
