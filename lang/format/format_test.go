package format

import (
	"bytes"
	"flag"
	"fmt"
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

// checkFormat formats src, which must parse without diagnostics, checks the
// formatter's properties (see formatProblem) and returns the formatted text.
func checkFormat(t testing.TB, name, src string) []byte {
	t.Helper()
	out, problem := formatProblem(name, src)
	if problem != "" {
		t.Fatal(problem)
	}
	return out
}

// formatProblem formats src and checks the formatter's properties: the
// result parses to the same AST, formatting it again changes nothing, every
// comment is kept in order, and the layout rules hold (one final newline, no
// trailing spaces, no tabs outside strings and comments). It returns the
// formatted text and a description of the first property that fails.
func formatProblem(name, src string) ([]byte, string) {
	f, diags := lang.Parse(name, src)
	if len(diags) > 0 {
		return nil, "input does not parse:\n" + renderDiags(diags)
	}
	out := Source(f)
	f2, diags := lang.Parse(name, string(out))
	if len(diags) > 0 {
		return out, "formatted text does not parse:\n" + renderDiags(diags) + "--- formatted\n" + string(out)
	}
	if d1, d2 := lang.Dump(f, false), lang.Dump(f2, false); d1 != d2 {
		return out, "formatting changed the AST\n--- formatted\n" + string(out) + "--- diff\n" + lineDiff(d1, d2)
	}
	if again := Source(f2); !bytes.Equal(again, out) {
		return out, "formatting is not idempotent\n--- once\n" + string(out) + "--- twice\n" + string(again) + "--- diff\n" + lineDiff(string(out), string(again))
	}
	if c1, c2 := commentTexts(f), commentTexts(f2); strings.Join(c1, "\x00") != strings.Join(c2, "\x00") {
		return out, fmt.Sprintf("comments changed\n--- input\n%q\n--- output\n%q\n--- formatted\n%s", c1, c2, out)
	}
	if k1, k2 := commentPlaces(f), commentPlaces(f2); len(k1) == len(k2) {
		for i := range k1 {
			if k1[i] != inline && k1[i] != k2[i] {
				return out, fmt.Sprintf("comment %q was %s and became %s\n--- formatted\n%s", f.Comments[i].Text, k1[i], k2[i], out)
			}
		}
	}
	if err := checkLayout(f2); err != "" {
		return out, err + "\n--- formatted\n" + string(out)
	}
	return out, ""
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

// place says where a comment sits on its line.
type place string

const (
	ownLine  place = "on its own line"         // no code before it on its line
	trailing place = "at the end of a line"    // code before it, none after
	inline   place = "in the middle of a line" // code before and after it
)

// commentPlaces tells for each comment of f where it sits. A comment on its
// own line or at the end of a line must stay there; one in the middle of a
// line may end up anywhere (a one-line block with a comment is split).
func commentPlaces(f *lang.File) []place {
	src := f.Src
	isComment := make([]bool, len(src))
	for _, c := range f.Comments {
		for i := c.Span.Start; i < c.Span.End; i++ {
			isComment[i] = true
		}
	}
	code := func(from, to int) bool {
		for i := from; i < to; i++ {
			if !isComment[i] && !strings.ContainsRune(" \t\r\n,;", rune(src[i])) {
				return true
			}
		}
		return false
	}
	var out []place
	for _, c := range f.Comments {
		start := strings.LastIndexByte(src[:c.Span.Start], '\n') + 1
		end := strings.IndexByte(src[c.Span.End:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += c.Span.End
		}
		switch {
		case !code(start, c.Span.Start):
			out = append(out, ownLine)
		case !code(c.Span.End, end):
			out = append(out, trailing)
		default:
			out = append(out, inline)
		}
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
		if !parsesCleanly(t, src) {
			t.Skip()
		}
		checkFormat(t, "fuzz.lead", src)
	})
}

// parsesCleanly reports whether src parses without diagnostics. A panic in
// the parser is the parser's bug, which FuzzParse in package lang hunts: it
// is logged and the input skipped, so this fuzzer keeps testing the printer.
func parsesCleanly(t *testing.T, src string) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			t.Logf("lang.Parse panicked (a parser bug, not the formatter's): %v", r)
			ok = false
		}
	}()
	_, diags := lang.Parse("fuzz.lead", src)
	return len(diags) == 0
}

// TestCommentsEverywhere inserts a comment at every token boundary of the
// golden inputs, one at a time, and checks the formatter's properties on
// every variant that still parses: the fuzzer rarely finds these places.
func TestCommentsEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	// The hand-written cases cover every construct in few lines; the spec's
	// blocks would only make this slower.
	for _, name := range []string{"alignment", "blank_lines", "blocks_oneline_multiline", "comments", "expressions", "messy", "spec_7_stages"} {
		file := filepath.Join("testdata", name+".txtar")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := parseTxtar(data).file("input.lead")
		src := string(in)
		step := 1
		if raceEnabled {
			step = 7 // the race detector makes every parse ten times slower
		}
		for _, c := range []string{"/*c*/", "// c\n", "\n"} {
			for i := 1; i < len(src); i += step {
				if !isSpace(src[i-1]) && !isSpace(src[i]) && !strings.ContainsRune("{}(),;[]", rune(src[i])) {
					continue
				}
				variant := src[:i] + c + src[i:]
				if _, diags := lang.Parse("variant.lead", variant); len(diags) > 0 {
					continue
				}
				if _, problem := formatProblem("variant.lead", variant); problem != "" {
					t.Fatalf("%s with %q inserted at offset %d:\n%s\n--- input\n%s", file, c, i, problem, variant)
				}
			}
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }
