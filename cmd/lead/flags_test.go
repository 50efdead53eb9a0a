package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/script")

func newTestEnv() (*cmdEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, now: time.Now}, &out, &errb
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args    []string
		pos     string
		format  string
		deny    bool
		code    int
		ok      bool
		stderrs string
		stdouts string
	}{
		{args: []string{"a", "--format", "json", "b"}, pos: "a,b", format: "json", ok: true},
		{args: []string{"--deny-warnings", "a"}, pos: "a", format: "text", deny: true, ok: true},
		{args: []string{"a", "--", "--format", "-x"}, pos: "a,--format,-x", format: "text", ok: true},
		{args: []string{"-"}, pos: "-", format: "text", ok: true},
		{args: []string{"a", "--nope"}, code: exitUsage, stderrs: "lead t: flag provided but not defined: -nope"},
		{args: []string{"--help"}, code: exitOK, stdouts: "usage: lead t [flags] PATH...\n\nT does things.\n\nFlags:\n  --deny-warnings"},
	} {
		env, stdout, stderr := newTestEnv()
		fl := newFlags(env, "t", "[flags] PATH...", "T does things.")
		format := fl.String("format", "text", "output `FORMAT`")
		deny := fl.Bool("deny-warnings", false, "fail on warnings")
		pos, code, ok := fl.parse(c.args)
		if ok != c.ok || code != c.code {
			t.Errorf("%q: ok=%v code=%d, want %v %d", c.args, ok, code, c.ok, c.code)
			continue
		}
		if !ok {
			if !strings.HasPrefix(stderr.String(), c.stderrs) || !strings.HasPrefix(stdout.String(), c.stdouts) {
				t.Errorf("%q: stdout = %q, stderr = %q, want prefixes %q, %q", c.args, stdout.String(), stderr.String(), c.stdouts, c.stderrs)
			}
			continue
		}
		if strings.Join(pos, ",") != c.pos || *format != c.format || *deny != c.deny {
			t.Errorf("%q: pos=%q format=%s deny=%v", c.args, pos, *format, *deny)
		}
	}
}
