package grammargen_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leadlang/lead/lang/internal/grammargen"
)

// root is the module's root, from this package's directory.
const root = "../../.."

// TestWorkedExample proves the claim of docs/language/grammar.md that a
// statement is added by editing lang/ast.go and the formatter alone: it
// takes the page's worked example (its ```go ast.go and ```go
// lang/format/nodes.go blocks), applies it to copies of the two files,
// regenerates, and runs tests of the new statement in lang and
// lang/format, built from the copies with go test -overlay (the tree is
// not touched).
func TestWorkedExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lang and lang/format anew")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	page := read(t, "docs/language/grammar.md")
	astAdd, nodesAdd := block(t, page, "go ast.go"), block(t, page, "go lang/format/nodes.go")

	ast := read(t, "lang/ast.go") + "\n" + astAdd
	files, err := grammargen.Generate([]byte(ast))
	if err != nil {
		t.Fatalf("the grammar with the worked example does not generate: %v", err)
	}
	nodes := read(t, "lang/format/nodes.go")
	const anchor = "\tdefault:\n\t\tpanic(fmt.Sprintf(\"format: unexpected AST node %T\", n))"
	if !strings.Contains(nodes, anchor) {
		t.Fatal("lang/format/nodes.go: the default case of printer.node, before which the example's case goes, has changed; update this test")
	}
	nodes = strings.Replace(nodes, anchor, nodesAdd+anchor, 1)

	dir := t.TempDir()
	replace := map[string]string{}
	put := func(path, content string) {
		tmp := filepath.Join(dir, strings.ReplaceAll(path, "/", "_"))
		if err := os.WriteFile(tmp, []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
		abs, err := filepath.Abs(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		replace[abs] = tmp
	}
	put("lang/ast.go", ast)
	for name, data := range files {
		put("lang/"+name, string(data))
	}
	put("lang/format/nodes.go", nodes)
	put("lang/zz_worked_example_test.go", langTest)
	put("lang/format/zz_worked_example_test.go", formatTest)
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o666); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobin, "test", "-count=1", "-overlay="+overlayPath, "-run=^TestWorkedExample$", "./lang", "./lang/format")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the worked example fails:\n%s", out)
	}
	if n := strings.Count(string(out), "ok  \t"); n != 2 {
		t.Fatalf("want both packages tested:\n%s", out)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// block returns the one fenced block of page whose info string is info.
func block(t *testing.T, page, info string) string {
	t.Helper()
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(info) + "\n(.*?)^```\n")
	m := re.FindAllStringSubmatch(page, -1)
	if len(m) != 1 {
		t.Fatalf("docs/language/grammar.md has %d ```%s blocks, want 1", len(m), info)
	}
	return m[0][1]
}

// langTest checks the example's statement in lang: it parses everywhere
// a stage statement does, as participle parses it; its errors are worded
// from the grammar; it is a keyword of the blocks it is in.
const langTest = `package lang

import (
	"slices"
	"strings"
	"testing"
)

func TestWorkedExample(t *testing.T) {
	src := "stage a {\n  pause for 4h on business\n}\ncell c {\n  develop {\n    pause for 1d\n  }\n}\n"
	f, ds := Parse("x.lead", src)
	if len(ds) > 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	dump := Dump(f, false)
	for _, want := range []string{"Pause\n      .For: Duration Text=\"4h\"\n      .Calendar: Ref Name=\"business\"", "Pause\n          .For: Duration Text=\"1d\""} {
		if !strings.Contains(dump, want) {
			t.Errorf("the AST lacks\n%s\nin\n%s", want, dump)
		}
	}
	checkParse(t, src) // the parity with participle, among others
	for _, tc := range []struct{ src, want string }{
		{"stage a {\n  pause 4h\n}\n", "expected ` + "`for`" + `, found ` + "`4h`" + `"},
		{"stage a {\n  pause 4h\n}\n", "syntax: ` + "`pause for DURATION [on CALENDAR]`" + `"},
		{"stage a {\n  pause for 4h on\n}\n", "expected a calendar's name"},
		{"stage a {\n  paus for 4h\n}\n", "did you mean ` + "`pause`" + `?"},
		{"stage a {\n  pause for 4h -> b\n}\n", "expected a new line"},
	} {
		_, ds := Parse("x.lead", tc.src)
		if got := renderAll(ds); !strings.Contains(got, tc.want) {
			t.Errorf("on %q, want %q in\n%s", tc.src, tc.want, got)
		}
		checkParse(t, tc.src)
	}
	for _, block := range []string{"stage", "assess", "advance", "develop"} {
		if !slices.Contains(BlockKeywords(block), "pause") {
			t.Errorf("BlockKeywords(%q) = %v, without pause", block, BlockKeywords(block))
		}
	}
}
`

// formatTest checks that lead fmt prints the example's statement.
const formatTest = `package format

import (
	"testing"

	"github.com/leadlang/lead/lang"
)

func TestWorkedExample(t *testing.T) {
	f, ds := lang.Parse("x.lead", "stage a {\n  pause   for 4h   on business\n  pause for 1d\n}\n")
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	want := "stage a {\n  pause for 4h on business\n  pause for 1d\n}\n"
	if got := string(Source(f)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	checkFormat(t, "x.lead", want)
}
`
