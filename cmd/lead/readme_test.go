package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeExample keeps the README's tour honest: its workflow passes
// `lead check` and is already in canonical format.
func TestReadmeExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```lead\n")
	if !ok {
		t.Fatal("README.md has no ```lead block")
	}
	src, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's ```lead block is not closed")
	}
	path := filepath.Join(t.TempDir(), "inbound.lead")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--deny-warnings", path}, {"fmt", "--check", path}} {
		env, stdout, stderr := newTestEnv()
		if code := run(env, args); code != exitOK {
			t.Errorf("lead %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
