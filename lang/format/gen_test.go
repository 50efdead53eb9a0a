package format

import (
	"strings"
	"testing"

	"github.com/leadlang/lead/lang"
)

// TestGenerateWorkflow checks that the benchmark input parses, has the
// promised size, and formats with all the formatter's properties.
func TestGenerateWorkflow(t *testing.T) {
	if n := strings.Count(lang.GenerateWorkflow(420), "\n"); n < 9000 || n > 12000 {
		t.Errorf("lang.GenerateWorkflow(420) has %d lines, want about 10,000", n)
	}
	checkFormat(t, "generated.lead", lang.GenerateWorkflow(30))
}
