package lang

import (
	"fmt"
	"testing"
)

func TestScratchCount(t *testing.T) {
	toks := scan("", benchSrc)
	m := map[string]int{}
	names := map[int]string{}
	for k, v := range tokenNames { names[int(v)] = k }
	for _, t := range toks { m[names[int(t.Type)]]++ }
	fmt.Println(len(benchSrc), len(toks), m)
}
