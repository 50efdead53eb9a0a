package lang

import (
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// benchSrc is about 10,000 lines (340 kB) with about 2,000 expressions.
var benchSrc = GenerateWorkflow(420)

func TestGenerateWorkflowParses(t *testing.T) {
	src := GenerateWorkflow(60)
	f, ds := Parse("gen.lead", src)
	for _, d := range ds {
		t.Error(d.String())
	}
	if len(f.Decls) == 0 {
		t.Fatal("no declarations")
	}
	if n := strings.Count(benchSrc, "\n"); n < 9000 || n > 12000 {
		t.Errorf("GenerateWorkflow(420) has %d lines, want about 10,000", n)
	}
}

// BenchmarkParse holds the parser's targets on a 10,000-line workflow: at
// least 5 MB/s and at most 64 MB allocated per parse.
func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(benchSrc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := Parse("bench.lead", benchSrc); len(ds) > 0 {
			b.Fatal(ds[0])
		}
	}
}

// BenchmarkScan and BenchmarkReferenceLexer compare the hand-written
// scanner with the participle stateful lexer built from the same rules.
func BenchmarkScan(b *testing.B) {
	b.SetBytes(int64(len(benchSrc)))
	b.ReportAllocs()
	for b.Loop() {
		scan("bench.lead", benchSrc)
	}
}

func BenchmarkReferenceLexer(b *testing.B) {
	def := lexer.MustStateful(referenceRules())
	b.SetBytes(int64(len(benchSrc)))
	b.ReportAllocs()
	for b.Loop() {
		lx, err := def.LexString("bench.lead", benchSrc)
		if err != nil {
			b.Fatal(err)
		}
		for {
			t, err := lx.Next()
			if err != nil {
				b.Fatal(err)
			}
			if t.EOF() {
				break
			}
		}
	}
}

// BenchmarkParseParticiple parses the same workflow with the participle
// grammar alone, which is what Parse did before fastParser: it shows why
// the hand-written parser exists.
func BenchmarkParseParticiple(b *testing.B) {
	toks, chunks := splitDecls("bench.lead", benchSrc)
	b.SetBytes(int64(len(benchSrc)))
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range chunks {
			eof := lexer.EOFToken(lexer.Position{Filename: "bench.lead", Offset: c.stop})
			if _, err := parseDeclParticiple(toks[c.start:c.end], eof); err != nil {
				b.Fatal(err)
			}
		}
	}
}
