package leadtest

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
)

// thousandTests returns Appendix A's workflow with 1,000 generated tests
// that capture leads, send events, wait through SLAs and timeouts, and
// check stages, owners, scores and escalations.
func thousandTests(b *testing.B) string {
	src, err := os.ReadFile("../../examples/simple.lead")
	if err != nil {
		b.Fatal(err)
	}
	text := string(src)
	text = text[:strings.Index(text, "\ntest ")]
	var sb strings.Builder
	sb.WriteString(text)
	for i := range 1000 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, `
test "enterprise %d" {
  at "2026-03-02T09:00:00Z"
  capture { email = "a%d@big.example", segment = "enterprise" }
  expect lead.stage == "sales_follow_up" && lead.owner == "ana@acme.example"
  send accepted
  send closed_won { amount = %d.5 }
  expect lead.stage == "won"
}
`, i, i, i)
		case 1:
			fmt.Fprintf(&sb, `
test "engaged %d" {
  at "2026-03-02T09:00:00Z"
  capture { email = "b%d@small.example" }
  send form_submitted { form = "demo" }
  send email_clicked
  send form_submitted { form = "pricing" }
  expect lead.stage == "sales_follow_up"
  wait 25h
  expect escalated("sales_manager") && lead.owner == "ben@acme.example"
}
`, i, i)
		case 2:
			fmt.Fprintf(&sb, `
test "nurtured %d" {
  at "2026-03-02T09:00:00Z"
  capture { email = "c%d@small.example" }
  send email_clicked
  wait 45d
  expect lead.stage == "marketing.develop" && lead.engagement == 2
  wait 150d
  expect lead.stage == "disqualified"
}
`, i, i)
		case 3:
			fmt.Fprintf(&sb, `
test "two leads %d" {
  capture { email = "d%d@big.example", segment = "enterprise" }
  capture { email = "e%d@big.example", segment = "enterprise" }
  send rejected { reason = "not now" }
  expect lead.stage == "marketing.develop" && history.size() == 2
}
`, i, i, i)
		}
	}
	return sb.String()
}

// BenchmarkLeadTest1000 compiles and runs 1,000 test blocks, as
// `lead test` does.
func BenchmarkLeadTest1000(b *testing.B) {
	src := thousandTests(b)
	opts := compiler.Options{ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist }}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f, diags := lang.Parse("bench.lead", src)
		r := compiler.Compile(f, diags, opts)
		if r.Diags.HasErrors() {
			b.Fatalf("%v", r.Diags)
		}
		s, err := NewSuite(r)
		if err != nil {
			b.Fatal(err)
		}
		results, _ := Run([]*Suite{s}, nil)
		if len(results) != 1000 {
			b.Fatalf("%d results", len(results))
		}
		for _, res := range results {
			if res.Status != Pass {
				b.Fatalf("%s: %s", res.Name, res.Message)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/1000-tests")
}
