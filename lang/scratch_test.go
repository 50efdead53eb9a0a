package lang

import (
	"fmt"
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, p := range []string{"../examples/simple.lead", "../examples/multistep.lead"} {
		b, _ := os.ReadFile(p)
		f, ds := Parse(p, string(b))
		for _, d := range ds {
			fmt.Print(d.String())
		}
		fmt.Println(len(f.Decls))
	}
	if os.Getenv("DUMP") != "" {
		b, _ := os.ReadFile(os.Getenv("DUMP"))
		f, ds := Parse(os.Getenv("DUMP"), string(b))
		for _, d := range ds {
			fmt.Print(d.String())
		}
		fmt.Print(Dump(f, true))
	}
}
