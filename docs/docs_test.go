package docs

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/lang/format"
	"github.com/leadlang/lead/runtime/leadtest"
)

var update = flag.Bool("update", false, "rewrite the examples of the pages in lead fmt's canonical format")

// TestExamples checks every ```lead block of the documentation (docs/
// and the README). A block is a whole .lead file:
//
//   - ```lead: it compiles with no diagnostic at all, is in the canonical
//     format of `lead fmt`, and its test blocks pass;
//   - ```lead error=E103 (or warning=W002): it gets that diagnostic (a
//     page that explains a diagnostic shows it happen).
func TestExamples(t *testing.T) {
	var pages []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			pages = append(pages, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join("..", "README.md"))
	total := 0
	for _, page := range pages {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			src = canonical(t, src)
			if err := os.WriteFile(page, src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range leadBlocks(string(src)) {
			total++
			t.Run(page+":"+b.line, func(t *testing.T) { checkBlock(t, b) })
		}
	}
	if total < 50 {
		t.Errorf("only %d examples found: is the block syntax still ```lead?", total)
	}
}

// block is a ```lead block: its source, where it starts, and the
// diagnostic it must show ("" for none).
type block struct {
	src, line, want string
	start           int // the offset of src in the page
}

var fence = regexp.MustCompile("(?m)^```lead( (?:error|warning)=([EWN][0-9]{3}))?\n")

func leadBlocks(page string) []block {
	var out []block
	for _, m := range fence.FindAllStringSubmatchIndex(page, -1) {
		body := page[m[1]:]
		end := strings.Index(body, "\n```")
		if end < 0 {
			end = len(body)
		}
		want := ""
		if m[4] >= 0 {
			want = page[m[4]:m[5]]
		}
		line := strings.Count(page[:m[0]], "\n") + 1
		out = append(out, block{src: body[:end+1], line: strconv.Itoa(line), want: want, start: m[1]})
	}
	return out
}

// canonical formats every example of a page that parses.
func canonical(t *testing.T, page []byte) []byte {
	s := string(page)
	blocks := leadBlocks(s)
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		f, diags := lang.Parse("example.lead", b.src)
		if diags.HasErrors() {
			continue
		}
		s = s[:b.start] + string(format.Source(f)) + s[b.start+len(b.src):]
	}
	return []byte(s)
}

func checkBlock(t *testing.T, b block) {
	dir := t.TempDir()
	path := filepath.Join(dir, "example.lead")
	if err := os.WriteFile(path, []byte(b.src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := compiler.CompileFile(path, compiler.Options{})
	var codes []string
	var text bytes.Buffer
	for _, d := range r.Diags {
		codes = append(codes, d.Code)
		if strings.HasPrefix(d.Code, "N") {
			continue // a note (a waiver listed) is no fault
		}
		text.WriteString(d.Code + " " + d.Summary + "\n")
	}
	if b.want != "" {
		if !slices.Contains(codes, b.want) {
			t.Errorf("the example should show %s, and shows:\n%s\n%s", b.want, text.String(), b.src)
		}
		return
	}
	if text.Len() > 0 {
		t.Fatalf("the example has diagnostics:\n%s\n%s", text.String(), b.src)
	}
	f, _ := lang.Parse(path, b.src)
	if got := string(format.Source(f)); got != b.src {
		t.Errorf("the example is not in the canonical format; lead fmt writes:\n%s", got)
	}
	if len(r.Tests) == 0 {
		return
	}
	s, err := leadtest.NewSuite(r)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := leadtest.Run([]*leadtest.Suite{s}, nil)
	for _, res := range results {
		if res.Status != leadtest.Pass {
			t.Errorf("test %q: %s", res.Name, res.Message)
		}
	}
}
