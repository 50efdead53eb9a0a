package format

import (
	"bytes"
	"strings"
)

// archive is a txtar archive (golang.org/x/tools/txtar's format): a comment,
// then files each introduced by a line `-- NAME --`. The module does not
// depend on x/tools, so the golden tests read and write the format here.
type archive struct {
	comment []byte
	files   []archiveFile
}

type archiveFile struct {
	name string
	data []byte
}

func parseTxtar(data []byte) *archive {
	a := &archive{}
	start := 0
	cur := &a.comment
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		line := strings.TrimRight(string(data[off:next]), "\n")
		if n, ok := txtarMarker(line); ok {
			*cur = append((*cur)[:0:0], data[start:off]...)
			a.files = append(a.files, archiveFile{name: n})
			cur = &a.files[len(a.files)-1].data
			start = next
		}
		off = next
	}
	*cur = append((*cur)[:0:0], data[start:]...)
	return a
}

func txtarMarker(line string) (string, bool) {
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	return strings.TrimSpace(line[3 : len(line)-3]), true
}

func (a *archive) file(name string) ([]byte, bool) {
	for _, f := range a.files {
		if f.name == name {
			return f.data, true
		}
	}
	return nil, false
}

func (a *archive) set(name string, data []byte) {
	for i := range a.files {
		if a.files[i].name == name {
			a.files[i].data = data
			return
		}
	}
	a.files = append(a.files, archiveFile{name: name, data: data})
}

func (a *archive) format() []byte {
	var b bytes.Buffer
	b.Write(a.comment)
	if len(a.comment) > 0 && !bytes.HasSuffix(a.comment, []byte("\n")) {
		b.WriteByte('\n')
	}
	for _, f := range a.files {
		b.WriteString("-- " + f.name + " --\n")
		b.Write(f.data)
		if len(f.data) > 0 && !bytes.HasSuffix(f.data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
