package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCapsDiagnostics: a file with more than 200 diagnostics shows
// the first 200 and how many more, and still fails.
func TestCheckCapsDiagnostics(t *testing.T) {
	var src strings.Builder
	src.WriteString("workflow w\nstart s0\n\nlead { email string }\n\nrole ops\n\n")
	for i := range 260 {
		fmt.Fprintf(&src, "stage s%d {\n  owner { accountable ops }\n  after 1d -> nowhere%d\n}\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "w.lead")
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(&cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, []string{"check", path})
	out := stderr.String()
	if code != exitFail {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(out, ": error["); n != 200 {
		t.Errorf("%d errors shown, want 200", n)
	}
	if !strings.Contains(out, "and 60 more diagnostics in this file") {
		t.Errorf("no count of the rest:\n%s", out[max(0, len(out)-600):])
	}
	stdout.Reset()
	run(&cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, []string{"check", "--format", "json", path})
	if n := strings.Count(stdout.String(), `"severity": "error"`) + strings.Count(stdout.String(), `"severity":"error"`); n != 200 {
		t.Errorf("json: %d errors, want 200", n)
	}
}
