package leadtest

import (
	"testing"

	"github.com/leadlang/lead/compiler"
)

// TestExamples runs the examples' own test blocks: simple.lead and
// multistep.lead, the language's two complete examples, must pass as written.
func TestExamples(t *testing.T) {
	for _, name := range []string{"../../examples/simple.lead", "../../examples/multistep.lead"} {
		r := compiler.CompileFile(name, compiler.Options{})
		if r.Diags.HasErrors() {
			t.Fatalf("%s: %v", name, r.Diags)
		}
		s, err := NewSuite(r)
		if err != nil {
			t.Fatal(err)
		}
		results, cov := Run([]*Suite{s}, nil)
		for _, res := range results {
			if res.Status != Pass {
				t.Errorf("%s: %s\n%s", name, res.Name, res.Message)
			}
		}
		t.Logf("%s: coverage %d/%d", name, cov[0].Covered, cov[0].Edges)
	}
}
