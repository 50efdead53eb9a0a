package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// cliDoc is the command reference, made from the commands' own help.
var cliDoc = filepath.Join("..", "..", "docs", "cli.md")

// TestCLIReference keeps docs/cli.md what `lead help` and every
// `lead COMMAND --help` print; -update rewrites it.
func TestCLIReference(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Command reference\n\n" +
		"<!-- Made from the commands' own help by cmd/lead's TestCLIReference:\n" +
		"     go test ./cmd/lead -run TestCLIReference -update -->\n\n" +
		"Every command prints this help with `--help` (or `lead help COMMAND`).\n" +
		"Exit status everywhere: 0 success; 1 the input has errors, a test\n" +
		"failed or the server refused the request; 2 a usage or I/O error.\n\n")
	env, stdout, _ := newTestEnv()
	if code := run(env, []string{"help"}); code != exitOK {
		t.Fatalf("lead help: exit %d", code)
	}
	b.WriteString("```text\n" + stdout.String() + "```\n")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		env, stdout, stderr := newTestEnv()
		if code := run(env, []string{n, "--help"}); code != exitOK || stderr.Len() > 0 {
			t.Errorf("lead %s --help: exit %d, stderr %q", n, code, stderr)
		}
		b.WriteString("\n## lead " + n + "\n\n```text\n" + stdout.String() + "```\n")
	}
	if *update {
		if err := os.WriteFile(cliDoc, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(cliDoc)
	if err != nil || string(got) != b.String() {
		t.Errorf("docs/cli.md is not what the commands' help says: go test ./cmd/lead -run TestCLIReference -update")
	}
}
