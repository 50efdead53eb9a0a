package lang

import (
	"flag"
	"github.com/rogpeppe/go-internal/txtar"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// seedSources returns the example workflows and the inputs of all golden
// files, the seed corpus of the fuzzers.
func seedSources(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	paths, _ := filepath.Glob("../examples/*.lead")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[p] = string(b)
	}
	for _, dir := range []string{"testdata/parse", "testdata/errors"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
		for _, p := range paths {
			a, err := readArchive(p)
			if err != nil {
				tb.Fatal(err)
			}
			if in := section(a, "input.lead"); in != nil {
				out[p] = string(in)
			}
		}
	}
	return out
}

// archive is a golden txtar archive.
type archive = txtar.Archive

type archiveFile = txtar.File

func readArchive(path string) (*archive, error) { return txtar.ParseFile(path) }

// section returns the data of the named file of an archive, or nil.
func section(a *archive, name string) []byte {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}
