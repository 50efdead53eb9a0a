// Command grammargen writes lang's code generated from its grammar
// (lang/ast.go): go generate ./lang runs it in lang/.
package main

import (
	"fmt"
	"os"

	"github.com/leadlang/lead/lang/internal/grammargen"
)

func main() {
	src, err := os.ReadFile("ast.go")
	if err != nil {
		fail(err)
	}
	files, err := grammargen.Generate(src)
	if err != nil {
		fail(err)
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o666); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grammargen:", err)
	os.Exit(1)
}
