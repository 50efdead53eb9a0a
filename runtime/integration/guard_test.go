package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawRequest writes req on a new connection to the server and returns
// the status code, the Content-Type and the body of the answer.
func rawRequest(t *testing.T, s *server, req string) (int, string, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url(""), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	go io.WriteString(conn, req) // the server may answer before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	// The answer is checked against the API's document like any other,
	// when the request is one net/http can read back.
	if r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(req))); err == nil {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		checkAnswer(t, r, resp, body)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestServerErrorsAreJSON: the answers net/http gives by itself, before a
// handler runs, come in the API's JSON error shape too.
func TestServerErrorsAreJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	for _, c := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"headers over 64 KiB", "GET /v1/leads HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("x", 100<<10) + "\r\n\r\n", 431, "headers_too_large"},
		{"a malformed request line", "HELLO\r\n\r\n", 400, "bad_request"},
		{"two Host headers", "GET /v1/leads HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_request"},
		{"an unknown transfer encoding", "POST /v1/leads HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: zstd\r\n\r\n", 501, "not_implemented"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, ct, body := rawRequest(t, s, c.req)
			checkError(t, response{status: status, header: http.Header{"Content-Type": {ct}}, body: body}, c.status, c.code)
		})
	}
	// The server is fine after all of that.
	s.capture("deals", "after", map[string]any{"email": "a@x.example"})
}

// TestErrorDetailsCapped: a body of thousands of bad fields gets the
// first 100 and a count, not an answer many times its size.
func TestErrorDetailsCapped(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	var b strings.Builder
	b.WriteString(`{"fields":{`)
	const n = 30000
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"f%d":1`, i)
	}
	b.WriteString(`}}`)
	r := s.must("POST", "/v1/workflows/deals/leads", b.String())
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d: %.300s", r.status, r.body)
	}
	var e struct {
		Error struct {
			Message string            `json:"message"`
			Details []json.RawMessage `json:"details"`
			Omitted int               `json:"omitted"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	// n unknown fields, and email is missing.
	if len(e.Error.Details) != 100 || e.Error.Omitted != n+1-100 {
		t.Errorf("%d details and %d omitted, want 100 and %d", len(e.Error.Details), e.Error.Omitted, n+1-100)
	}
	if !strings.Contains(e.Error.Message, fmt.Sprintf("the first 100 of %d problems", n+1)) {
		t.Errorf("message %q does not say how many problems there are", e.Error.Message)
	}
	if len(r.body) > 16<<10 {
		t.Errorf("the answer is %d bytes", len(r.body))
	}
}

// TestHealthAndReady: /healthz (liveness) and /readyz (readiness) answer
// without the token; /readyz says ready while writes are taken.
func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{env: []string{"LEAD_TOKEN=s3cret"}})
	if v := s.expect(http.StatusOK, "GET", "/healthz", nil).json(t); v["status"] != "ok" {
		t.Errorf("/healthz: %v", v)
	}
	if v := s.expect(http.StatusOK, "GET", "/readyz", nil).json(t); v["status"] != "ready" {
		t.Errorf("/readyz: %v", v)
	}
}

// leadRun runs `lead run` with args and env until it exits or logs that
// it serves; it returns the exit code (-1 if it served, then was killed)
// and its log.
func leadRun(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	dir := t.TempDir()
	path := copyTestdata(t, dir, "deals.lead")
	// A later --data in args wins.
	cmd := exec.CommandContext(ctx, leadBin, append(append([]string{"run", "--data", filepath.Join(dir, "data")}, args...), path)...)
	cmd.Env = append(append(os.Environ(), "LEAD_TOKEN="), env...)
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if log.waitFor(regexp.MustCompile(`msg=serving`), startTimeout, exited) != nil {
		cmd.Process.Kill()
		<-exited
		return -1, log.String()
	}
	<-exited
	return cmd.ProcessState.ExitCode(), log.String()
}

// TestListenRefusals: listening beyond loopback needs a token (or an
// explicit --insecure-no-auth); a token file must hold one.
func TestListenRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		say  string
	}{
		{"all interfaces without a token", nil, []string{"--addr", "0.0.0.0:0"}, 2, "--insecure-no-auth"},
		{"all interfaces, insecure on purpose", nil, []string{"--addr", "0.0.0.0:0", "--insecure-no-auth"}, -1, "auth=false"},
		{"all interfaces with a token file", nil, []string{"--addr", "0.0.0.0:0", "--token-file", tokenFile}, -1, "auth=true"},
		{"all interfaces with LEAD_TOKEN", []string{"LEAD_TOKEN=s3cret"}, []string{"--addr", "0.0.0.0:0"}, -1, "auth=true"},
		{"loopback without a token", nil, []string{"--addr", "127.0.0.1:0"}, -1, "auth=false"},
		{"an empty token file", nil, []string{"--addr", "127.0.0.1:0", "--token-file", empty}, 2, "is empty"},
		{"a missing token file", nil, []string{"--addr", "127.0.0.1:0", "--token-file", filepath.Join(dir, "nope")}, 2, "nope"},
		{"a token twice", nil, []string{"--addr", "127.0.0.1:0", "--token", "a", "--token-file", tokenFile}, 2, "not both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, log := leadRun(t, c.env, c.args...)
			if code != c.code || !strings.Contains(log, c.say) {
				t.Errorf("exit %d, want %d, and the log should say %q:\n%s", code, c.code, c.say, log)
			}
		})
	}
}

// TestTokenFile: the token of --token-file is required like --token's.
func TestTokenFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("  fr0m-file  \nignored second line\n"), 0o600)
	s := newServer(t, serverOpts{args: []string{"--token-file", file}})
	checkError(t, s.must("GET", "/v1/leads", nil), http.StatusUnauthorized, "unauthorized")
	s.expect(http.StatusOK, "GET", "/v1/leads", nil, "Authorization", "Bearer fr0m-file")
	if ps, err := exec.Command("ps", "-eo", "args").Output(); err == nil && bytes.Contains(ps, []byte("fr0m-file")) {
		t.Errorf("the token shows in ps")
	}
}
