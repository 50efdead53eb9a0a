package lang

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestScratchErr(t *testing.T) {
	b, err := os.ReadFile(os.Getenv("CASES"))
	if err != nil {
		t.Skip()
	}
	for _, c := range strings.Split(string(b), "=== ")[1:] {
		name, src, _ := strings.Cut(c, "\n")
		fmt.Printf("##### %s\n", name)
		_, ds := Parse("x.lead", src)
		for _, d := range ds {
			fmt.Print(d.String())
		}
	}
}
