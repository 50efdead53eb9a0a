package format

import "github.com/rogpeppe/go-internal/txtar"

// archive is a golden txtar archive: input and expected output files.
type archive struct{ *txtar.Archive }

func parseTxtar(data []byte) archive { return archive{txtar.Parse(data)} }

func (a archive) file(name string) ([]byte, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func (a archive) set(name string, data []byte) {
	for i := range a.Files {
		if a.Files[i].Name == name {
			a.Files[i].Data = data
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: name, Data: data})
}

func (a archive) format() []byte { return txtar.Format(a.Archive) }
