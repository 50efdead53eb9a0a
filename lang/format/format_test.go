package format

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadlang/lead/lang"
)

var update = flag.Bool("update", false, "rewrite the output.lead of the golden files in testdata")

// TestGolden formats the input.lead of every testdata/*.txtar and compares
// the result with its output.lead; with -update it rewrites output.lead.
// Every case also goes through the properties of checkFormat.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ar := parseTxtar(data)
			input, ok := ar.file("input.lead")
			if !ok {
				t.Fatalf("%s has no input.lead", file)
			}
			got := checkFormat(t, file, string(input))
			want, ok := ar.file("output.lead")
			if *update {
				ar.set("output.lead", got)
				if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !ok {
				t.Fatalf("%s has no output.lead (run with -update)", file)
			}
			if string(got) != string(want) {
				t.Errorf("formatted text differs from output.lead\n--- got\n%s--- want\n%s--- diff\n%s", got, want, lineDiff(string(want), string(got)))
			}
		})
	}
}

// TestExamples checks that the shipped examples format idempotently and keep
// their meaning and comments.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.lead")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("expected the examples in ../../examples, found %v", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			checkFormat(t, file, string(src))
		})
	}
}

// TestEmpty checks the files with no declarations.
func TestEmpty(t *testing.T) {
	for src, want := range map[string]string{
		"":                      "",
		"\n\n  \n":              "",
		"// only a comment":     "// only a comment\n",
		"\n\n/* a */ /* b */\n": "/* a */ /* b */\n",
	} {
		if got := checkFormat(t, "empty.lead", src); string(got) != want {
			t.Errorf("Source(%q) = %q, want %q", src, got, want)
		}
	}
}

// checkFormat formats src, which must parse without diagnostics, and checks
// the formatter's properties: the result parses to the same AST, formatting
// it again changes nothing, every comment is kept in order, and the layout
// rules hold (one final newline, no trailing spaces, no tabs outside strings
// and comments). It returns the formatted text.
func checkFormat(t testing.TB, name, src string) []byte {
	t.Helper()
	f, diags := lang.Parse(name, src)
	if len(diags) > 0 {
		t.Fatalf("input does not parse:\n%s", renderDiags(diags))
	}
	out := Source(f)
	f2, diags := lang.Parse(name, string(out))
	if len(diags) > 0 {
		t.Fatalf("formatted text does not parse:\n%s\n--- formatted\n%s", renderDiags(diags), out)
	}
	if d1, d2 := lang.Dump(f, false), lang.Dump(f2, false); d1 != d2 {
		t.Fatalf("formatting changed the AST\n--- formatted\n%s--- diff\n%s", out, lineDiff(d1, d2))
	}
	if again := Source(f2); !bytes.Equal(again, out) {
		t.Fatalf("formatting is not idempotent\n--- once\n%s--- twice\n%s--- diff\n%s", out, again, lineDiff(string(out), string(again)))
	}
	if c1, c2 := commentTexts(f), commentTexts(f2); strings.Join(c1, "\x00") != strings.Join(c2, "\x00") {
		t.Fatalf("comments changed\n--- input\n%q\n--- output\n%q\n--- formatted\n%s", c1, c2, out)
	}
	if err := checkLayout(f2); err != "" {
		t.Fatalf("%s\n--- formatted\n%s", err, out)
	}
	return out
}

// commentTexts lists a file's comments, each with the trailing whitespace
// of its lines removed (the formatter drops trailing whitespace everywhere).
func commentTexts(f *lang.File) []string {
	var out []string
	for _, c := range f.Comments {
		lines := strings.Split(c.Text, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t\r")
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}

// checkLayout checks the whitespace rules on formatted text.
func checkLayout(f *lang.File) string {
	src := f.Src
	if src == "" {
		return ""
	}
	if !strings.HasSuffix(src, "\n") || strings.HasSuffix(src, "\n\n") {
		return "the output does not end with exactly one newline"
	}
	for i, l := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		if strings.TrimRight(l, " \t\r") != l {
			return "trailing whitespace on line " + itoa(i+1)
		}
	}
	// Tabs may only be inside comments and strings.
	inComment := func(off int) bool {
		for _, c := range f.Comments {
			if c.Span.Start <= off && off < c.Span.End {
				return true
			}
		}
		return false
	}
	var quote byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote || c == '\n' {
				quote = 0
			}
		case inComment(i):
		case c == '"' || c == '\'':
			quote = c
		case c == '\t':
			return "a tab outside strings and comments at offset " + itoa(i)
		}
	}
	return ""
}

func renderDiags(ds lang.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		d.Render(&b)
	}
	return b.String()
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// lineDiff shows the lines of a and b that differ, with a common prefix and
// suffix removed: enough to read a failing golden test.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	j, k := len(al), len(bl)
	for j > i && k > i && al[j-1] == bl[k-1] {
		j--
		k--
	}
	var s strings.Builder
	for _, l := range al[i:j] {
		s.WriteString("- " + l + "\n")
	}
	for _, l := range bl[i:k] {
		s.WriteString("+ " + l + "\n")
	}
	return "@@ line " + itoa(i+1) + "\n" + s.String()
}

// FuzzFormat checks, for any input that parses without diagnostics, that
// formatting does not panic, is idempotent, keeps the AST and keeps every
// comment in order.
func FuzzFormat(f *testing.F) {
	for _, pattern := range []string{"../../examples/*.lead", "testdata/*.txtar"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			if strings.HasSuffix(file, ".txtar") {
				if in, ok := parseTxtar(data).file("input.lead"); ok {
					f.Add(string(in))
				}
				continue
			}
			f.Add(string(data))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if _, diags := lang.Parse("fuzz.lead", src); len(diags) > 0 {
			t.Skip()
		}
		checkFormat(t, "fuzz.lead", src)
	})
}
