package compiler

import (
	"flag"
	"github.com/rogpeppe/go-internal/txtar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the diagnostics of the golden files in testdata")

// TestErrors compiles each testdata/errors/*.txtar: its files are written
// into a temporary directory, w.lead is compiled from there (so a
// `conforms` standard and w_test.lead beside it are found as they would be
// on disk), and the rendered diagnostics, sorted, must equal the archive's
// `diagnostics` file. Run with -update to rewrite them.
func TestErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 60 {
		t.Errorf("the defect corpus has %d cases; it must keep at least 60", len(paths))
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(data)
			dir := t.TempDir()
			var want []byte
			found := false
			for _, f := range a.Files {
				if f.Name == "diagnostics" {
					want, found = f.Data, true
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := CompileFile(filepath.Join(dir, "w.lead"), Options{})
			got := renderDiags(r, dir)
			if *update {
				if !found {
					a.Files = append(a.Files, txtar.File{Name: "diagnostics"})
				}
				for i := range a.Files {
					if a.Files[i].Name == "diagnostics" {
						a.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !found {
				t.Fatalf("%s has no `diagnostics` file; run go test -run TestErrors -update", path)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ (run with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
			if got == "" {
				t.Errorf("a defect case must produce at least one diagnostic")
			}
		})
	}
}

// renderDiags renders r's diagnostics with dir removed from file names, so
// golden files do not depend on where the test ran.
func renderDiags(r *Result, dir string) string {
	var b strings.Builder
	for _, d := range r.Diags {
		b.WriteString(d.String())
	}
	out := strings.ReplaceAll(b.String(), dir+string(filepath.Separator), "")
	return strings.ReplaceAll(out, dir, ".")
}
