package lang

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
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

// archive is a txtar archive (golang.org/x/tools/txtar's format: a
// comment, then files, each introduced by a line `-- NAME --`). The module
// does not depend on x/tools, and the format is a few lines to read.
type archive struct {
	Comment string
	Files   []archiveFile
}

type archiveFile struct {
	Name string
	Data []byte
}

func readArchive(path string) (*archive, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseArchive(string(b)), nil
}

func parseArchive(s string) *archive {
	a := &archive{}
	cur := &a.Comment
	var data strings.Builder
	flush := func() {
		if cur != nil {
			*cur = data.String()
		}
		data.Reset()
	}
	var names []string
	var datas []*string
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			flush()
			names = append(names, strings.TrimSpace(trimmed[3:len(trimmed)-3]))
			d := new(string)
			datas = append(datas, d)
			cur = d
			continue
		}
		data.WriteString(line)
	}
	flush()
	for i, n := range names {
		a.Files = append(a.Files, archiveFile{Name: n, Data: []byte(*datas[i])})
	}
	return a
}

func (a *archive) format() []byte {
	var b strings.Builder
	b.WriteString(a.Comment)
	for _, f := range a.Files {
		b.WriteString("-- " + f.Name + " --\n")
		b.Write(f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// section returns the data of the named file of an archive, or nil.
func section(a *archive, name string) []byte {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}
