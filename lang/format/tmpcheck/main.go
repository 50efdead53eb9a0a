package main

import (
	"fmt"
	"os"

	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/lang/format"
)

func main() {
	for _, name := range os.Args[1:] {
		src, _ := os.ReadFile(name)
		f, d := lang.Parse(name, string(src))
		if len(d) > 0 {
			fmt.Println("FAIL", name, d[0].Summary)
			continue
		}
		fmt.Println("OK", name)
		os.WriteFile(name+".out", format.Source(f), 0o644)
	}
}
