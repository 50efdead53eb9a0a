package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/internal/cputime"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/lang/format"
)

// examples are the workflows of examples/, the first two being the
// language's two complete examples (simple and multistep).
func examples(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("../examples/*.lead")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	out := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.lead") {
			continue // compiled with its workflow
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := lang.Parse(p, string(b)); len(f.Decls) == 0 {
			continue
		} else if _, ok := f.Decls[0].(*lang.Workflow); !ok {
			continue // a standard file, checked where a workflow conforms to it
		}
		out[p] = string(b)
	}
	return out
}

// compileSource compiles src as the file name: the file itself comes from
// src; files beside it (a standard, a _test file) are read from disk.
func compileSource(name, src string) *Result {
	f, diags := lang.Parse(name, src)
	return Compile(f, diags, Options{})
}

// TestExamples: the valid examples, Appendix A and B among them, compile
// with no diagnostics at all, warnings included, and their tests compile.
func TestExamples(t *testing.T) {
	for path := range examples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r := CompileFile(path, Options{})
			for _, d := range r.Diags {
				if d.Severity != lang.Note { // waivers are listed as notes
					t.Errorf("%s", d)
				}
			}
			if r.Workflow == nil {
				t.Fatal("no workflow")
			}
			if len(r.Tests) == 0 {
				t.Error("the example's tests were not compiled")
			}
			if r.Workflow.Version == "" || r.Workflow.Version != r.Workflow.Hash() {
				t.Errorf("version %q is not the workflow's hash %q", r.Workflow.Version, r.Workflow.Hash())
			}
		})
	}
}

// TestGeneratedIsClean: the benchmark workload compiles with no diagnostics
// and has the size the benchmarks claim.
func TestGeneratedIsClean(t *testing.T) {
	src := lang.GenerateWorkflow(420)
	r := compileSource("generated.lead", src)
	for i, d := range r.Diags {
		if i == 10 {
			t.Fatalf("... and %d more", len(r.Diags)-10)
		}
		t.Errorf("%s", d)
	}
	lines := strings.Count(src, "\n")
	exprs := countExprs(r.Workflow)
	t.Logf("lang.GenerateWorkflow(420): %d lines, %d expressions", lines, exprs)
	if lines < 9500 || lines > 10500 || exprs < 1800 || exprs > 2200 {
		t.Errorf("the 10k workload drifted: %d lines, %d expressions", lines, exprs)
	}
}

// countExprs counts the workflow's CEL expressions by their JSON key.
func countExprs(w *ir.Workflow) int {
	b, _ := json.Marshal(w)
	return bytes.Count(b, []byte(`"src":`))
}

// elsewhere are the codes a test other than the defect corpus exercises:
// a workflow too large for a txtar, a clash between files.
var elsewhere = map[string]string{
	CodeTooLarge:      "TestTooLarge",
	CodeWorkflowTwice: "cmd/lead testdata/script/check_dirs.txtar and runtime/integration TestDuplicateWorkflow",
}

// TestCodesCovered: every diagnostic code of codes.go is exercised by at
// least one case of the defect corpus, or by the test named in elsewhere.
func TestCodesCovered(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var corpus strings.Builder
	paths, _ := filepath.Glob("testdata/errors/*.txtar")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		corpus.Write(b)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, v := range vs.Values {
			lit, ok := v.(*ast.BasicLit)
			if !ok {
				continue
			}
			code, _ := strconv.Unquote(lit.Value)
			if elsewhere[code] != "" {
				continue
			}
			if !strings.Contains(corpus.String(), "["+code+"]") {
				t.Errorf("%s (%s) is not exercised by any testdata/errors case", code, vs.Names[i].Name)
			}
		}
		return true
	})
}

// corpusSources are the workflows the property tests run on: the examples
// and a generated workflow.
func corpusSources(t testing.TB) map[string]string {
	out := examples(t)
	out["generated.lead"] = lang.GenerateWorkflow(60)
	return out
}

// TestFormatKeepsVersion: formatting never changes the version hash, with
// lang/format and with a transform that re-indents lines and adds comments
// and blank lines.
func TestFormatKeepsVersion(t *testing.T) {
	for name, src := range corpusSources(t) {
		want := compileSource(name, src)
		if want.Workflow == nil {
			t.Fatalf("%s does not compile: %v", name, want.Diags)
		}
		t.Run(filepath.Base(name)+"/scramble", func(t *testing.T) {
			for seed := range 4 {
				got := compileSource(name, scramble(src, seed))
				if got.Workflow == nil {
					t.Fatalf("seed %d: the scrambled source does not compile:\n%s", seed, renderDiags(got, ""))
				}
				if got.Workflow.Version != want.Workflow.Version {
					t.Errorf("seed %d: version %s, want %s", seed, got.Workflow.Version, want.Workflow.Version)
				}
			}
		})
		t.Run(filepath.Base(name)+"/lang_format", func(t *testing.T) {
			f, diags := lang.Parse(name, src)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			formatted := string(format.Source(f))
			if _, diags := lang.Parse(name, formatted); diags.HasErrors() {
				t.Skipf("lang/format is in progress: its output does not parse: %s", diags[0])
			}
			got := compileSource(name, formatted)
			if got.Workflow == nil {
				t.Fatalf("the formatted source does not compile:\n%s", renderDiags(got, ""))
			}
			if got.Workflow.Version != want.Workflow.Version {
				t.Errorf("formatting changed the version: %s, want %s", got.Workflow.Version, want.Workflow.Version)
			}
		})
	}
}

// scramble changes only layout: every line is re-indented (spaces or
// tabs), and comment lines, trailing comments and blank lines are added.
// A newline is never removed and never added inside a line, so no
// statement changes.
func scramble(src string, seed int) string {
	var b strings.Builder
	indents := []string{"", "\t", "    ", "  \t ", "        "}
	for i, line := range strings.Split(src, "\n") {
		k := i*7 + seed*3
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			b.WriteString(strings.Repeat(" ", k%3))
		} else {
			b.WriteString(indents[k%len(indents)])
			b.WriteString(trimmed)
			if k%4 == 1 && !strings.Contains(trimmed, "/*") {
				b.WriteString("   // scrambled")
			}
		}
		b.WriteByte('\n')
		switch k % 5 {
		case 0:
			b.WriteString("\n")
		case 2:
			b.WriteString(indents[(k+1)%len(indents)] + "// a comment line\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// TestDeterministic: compiling the same source twice gives the same IR
// bytes, although expressions are checked in parallel.
func TestDeterministic(t *testing.T) {
	for name, src := range corpusSources(t) {
		a, err1 := json.Marshal(compileSource(name, src).Workflow)
		b, err2 := json.Marshal(compileSource(name, src).Workflow)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two compilations differ", name)
		}
	}
}

// TestIRRoundTrip: the IR's JSON decodes to a workflow that encodes to the
// same bytes and has the same hash.
func TestIRRoundTrip(t *testing.T) {
	for name, src := range corpusSources(t) {
		w := compileSource(name, src).Workflow
		first, err := json.MarshalIndent(w, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var back ir.Workflow
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		second, err := json.MarshalIndent(&back, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("%s: the IR does not round-trip through JSON", name)
		}
		if back.Hash() != w.Version {
			t.Errorf("%s: hash after the round trip %s, want %s", name, back.Hash(), w.Version)
		}
	}
}

// TestVersionChangesWithMeaning: an edit that changes behaviour changes
// the version (the hash is not blind to expressions or durations).
func TestVersionChangesWithMeaning(t *testing.T) {
	src := examples(t)["../examples/simple.lead"]
	base := compileSource("simple.lead", src).Workflow.Version
	for _, edit := range [][2]string{
		{"lead.engagement >= 20", "lead.engagement >= 21"},
		{"after 120d -> lost", "after 121d -> lost"},
		{`member "ben@acme.example"`, `member "bob@acme.example"`},
	} {
		changed := strings.Replace(src, edit[0], edit[1], 1)
		r := compileSource("simple.lead", changed)
		if r.Workflow == nil {
			t.Fatalf("%q: %v", edit[1], r.Diags)
		}
		if r.Workflow.Version == base {
			t.Errorf("changing %q to %q kept the version", edit[0], edit[1])
		}
	}
}

// TestExprSpacingKeepsVersion: spacing inside an expression is layout
// too: the IR keeps expressions in one canonical spacing.
func TestExprSpacingKeepsVersion(t *testing.T) {
	src := examples(t)["../examples/simple.lead"]
	const expr = `lead.engagement >= 20 || lead.segment == "enterprise"`
	version := func(replacement string) string {
		changed := strings.Replace(src, expr, replacement, 1)
		if changed == src && replacement != expr {
			t.Fatalf("%q not found", expr)
		}
		r := compileSource("simple.lead", changed)
		if r.Workflow == nil {
			t.Fatalf("%q: %v", replacement, r.Diags)
		}
		return r.Workflow.Version
	}
	for _, pair := range [][2]string{
		{expr, `lead.engagement>=20||lead.segment=="enterprise"`},
		{"(" + expr + ")", "(lead.engagement >= 20 ||\n      lead.segment == \"enterprise\")"},
		{"(" + expr + ")", "( lead.engagement >= 20 // more than four clicks\n   || lead.segment == \"enterprise\" )"},
	} {
		if a, b := version(pair[0]), version(pair[1]); a != b {
			t.Errorf("respacing %q as %q changed the version", pair[0], pair[1])
		}
	}
}

// peakHeap samples the heap's live objects while f runs, without stopping
// the world, and returns the largest sample in bytes.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read()
			}
		}
	}()
	f()
	read()
	close(done)
	wg.Wait()
	return peak.Load()
}

// TestCheckLarge checks a generated 10,000-line workflow once, as `lead
// check` does, and reports the time and the peak heap (run it alone under
// /usr/bin/time -v for the process's peak memory). Only memory is asserted:
// tests never assert wall-clock times; BenchmarkCheck10k holds the time.
func TestCheckLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large workload")
	}
	src := lang.GenerateWorkflow(420)
	runtime.GC()
	var r *Result
	start := time.Now()
	peak := peakHeap(func() { r = checkSource("generated.lead", src) })
	took := time.Since(start)
	if r.Diags.HasErrors() {
		t.Fatalf("the workload has errors: %s", r.Diags[0])
	}
	t.Logf("%d lines: %v, peak heap %.1f MB", strings.Count(src, "\n"), took, float64(peak)/(1<<20))
	if peak > 200<<20 {
		t.Errorf("peak heap %.1f MB exceeds the 200 MB budget", float64(peak)/(1<<20))
	}
}

// checkSource is what `lead check` does with a file: parse and compile,
// tests included.
func checkSource(name, src string) *Result {
	f, diags := lang.Parse(name, src)
	return Compile(f, diags, Options{ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
}

func benchmarkCheck(b *testing.B, stages int) {
	src := lang.GenerateWorkflow(stages)
	if r := checkSource("generated.lead", src); r.Diags.HasErrors() {
		b.Fatalf("the workload has errors: %s", r.Diags[0])
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var peak uint64
	cpu0 := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		peak = max(peak, peakHeap(func() { checkSource("generated.lead", src) }))
	}
	cpu := cputime.Process() - cpu0
	b.ReportMetric(float64(strings.Count(src, "\n")), "lines")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	// CPU time per check, all cores together: on a busy machine ns/op
	// measures the neighbours, this measures the compiler.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkCheck10k: `lead check` on about 10,000 lines and 2,000
// expressions. Target: at most 300 ms and 200 MB on a 2-core machine.
func BenchmarkCheck10k(b *testing.B) { benchmarkCheck(b, 420) }

// BenchmarkCheck100k: ten times the lines; target at most 12 times the
// 10k time (no quadratic passes).
func BenchmarkCheck100k(b *testing.B) { benchmarkCheck(b, 4200) }

// TestStringExtensions: CEL's string extensions are in scope (the language reference §6).
func TestStringExtensions(t *testing.T) {
	src := `workflow s
start a
lead {
  email string
}
role r
on captured {
  set lead.email = lead.email.lowerAscii().trim()
}
stage a {
  owner { accountable r  responsible role r }
  when lead.email.startsWith("x") && lead.email.split("@").size() == 2 -> b
  after 1d -> b
}
stage b terminal
`
	r := compileSource("s.lead", src)
	for _, d := range r.Diags {
		t.Errorf("%s", d)
	}
}

// TestTooLarge: a workflow whose compiled form is over ir.MaxBytes, which
// lead run could not store, is an error, pointed at its header.
func TestTooLarge(t *testing.T) {
	var notes strings.Builder
	for range 120 {
		notes.WriteString("    notify accountable \"" + strings.Repeat("x", 20<<10) + "\"\n")
	}
	src := strings.Replace(examples(t)["../examples/simple.lead"], "stage won terminal",
		"stage won terminal {\n  enter {\n"+notes.String()+"  }\n}", 1)
	r := compileSource("big.lead", src)
	if r.Workflow != nil || len(r.Diags) != 1 || r.Diags[0].Code != CodeTooLarge || !strings.Contains(r.Diags[0].Summary, "up to 2048 KiB") {
		t.Fatalf("diagnostics %.500v, want one %s", r.Diags, CodeTooLarge)
	}
	if p := r.Diags[0].File.Position(r.Diags[0].Subject.Start); p.Line != 1 {
		t.Errorf("the error points at line %d, not the header", p.Line)
	}
}

// TestNameClashes declares two things named `x` for every pair of
// declaration kinds. Stages and cells share one namespace (a target names
// either) and every kind clashes with itself: those pairs give exactly one
// error, E100, naming both kinds rightly, and nothing follows from it (the
// first declaration keeps the name, so `start x` still resolves). Every
// other pair compiles without errors: each kind has its namespace.
func TestNameClashes(t *testing.T) {
	decls := map[string]string{
		"event":    "event x",
		"role":     "role x",
		"team":     "team x {\n  strategy round_robin\n  member \"a@acme.example\"\n}",
		"calendar": "calendar x {\n  timezone \"UTC\"\n  hours mon-fri 09:00-17:00\n}",
		"routing":  "routing x {\n  else -> role ops\n}",
		"stage":    "stage x {\n  after 1h -> done\n}",
		"cell":     "cell x {\n  assess { qualify when true }\n  advance -> done\n  develop { recycle after 1d -> done }\n}",
		"standard": "standard x {\n  stages done\n}",
	}
	target := map[string]bool{"stage": true, "cell": true}
	kinds := make([]string, 0, len(decls))
	for k := range decls {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, a := range kinds {
		for _, b := range kinds {
			t.Run(a+"_"+b, func(t *testing.T) {
				start := "begin"
				if target[a] || target[b] {
					start = "x"
				}
				src := "workflow clash\nstart " + start + "\n\nlead {\n  email string\n}\n\nrole ops\n\n" +
					"owner { accountable ops  responsible role ops }\n\n" +
					decls[a] + "\n\n" + decls[b] + "\n\nstage begin {\n  after 1h -> done\n}\n\nstage done terminal\n"
				r := compileSource("clash.lead", src)
				var errs []*lang.Diagnostic
				for _, d := range r.Diags {
					if d.Severity == lang.Error {
						errs = append(errs, d)
					}
				}
				shared := a == b || target[a] && target[b]
				if !shared {
					if len(errs) > 0 {
						t.Fatalf("a %s and a %s may share a name, got:\n%s", a, b, r.Diags)
					}
					return
				}
				want := fmt.Sprintf("%s `x` is declared twice", a)
				note := "first declared here"
				if a != b {
					want = fmt.Sprintf("`x` is already the name of a %s; a stage and a cell cannot share a name", a)
					note = fmt.Sprintf("the %s `x` is declared here", a)
				}
				if len(errs) != 1 || errs[0].Code != CodeDuplicate || errs[0].Summary != want {
					t.Fatalf("want one %s %q, got:\n%s", CodeDuplicate, want, r.Diags)
				}
				if len(errs[0].Related) != 1 || errs[0].Related[0].Message != note {
					t.Errorf("want the note %q, got %+v", note, errs[0].Related)
				}
			})
		}
	}
}
