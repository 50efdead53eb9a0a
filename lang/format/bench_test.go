package format

import (
	"testing"

	"github.com/leadlang/lead/lang"
)

// BenchmarkFormat formats a generated workflow of about 10,000 lines. The
// target is at most twice the time of BenchmarkParseForComparison, which
// parses the same text.
func BenchmarkFormat(b *testing.B) {
	src := lang.GenerateWorkflow(420)
	f, diags := lang.Parse("generated.lead", src)
	if len(diags) > 0 {
		b.Fatalf("the generated workflow does not parse:\n%s", renderDiags(diags))
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Source(f)
	}
}

// BenchmarkParseForComparison parses the text BenchmarkFormat formats.
func BenchmarkParseForComparison(b *testing.B) {
	src := lang.GenerateWorkflow(420)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := lang.Parse("generated.lead", src); len(diags) > 0 {
			b.Fatal(renderDiags(diags))
		}
	}
}
