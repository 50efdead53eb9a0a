package lang

import (
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

var benchSrc = GenerateWorkflow(500)

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
		t.Errorf("GenerateWorkflow(500) has %d lines, want about 10,000", n)
	}
}

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(benchSrc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := Parse("bench.lead", benchSrc); len(ds) > 0 {
			b.Fatal(ds[0])
		}
	}
}

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
