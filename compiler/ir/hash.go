package ir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash computes the workflow's version: a digest of its JSON with every
// source position and the version itself left out, so moving text around
// or reformatting a file keeps the version while any change of meaning
// produces a new one. The JSON is canonical as it is: struct fields come in
// declaration order and encoding/json sorts map keys.
func (w *Workflow) Hash() string {
	h, _ := w.HashSize()
	return h
}

// HashSize is Hash, and the size of the workflow's JSON, which is how big
// it is stored (MaxBytes).
func (w *Workflow) HashSize() (string, int) {
	c := *w
	c.Version = ""
	raw, err := json.Marshal(&c)
	if err != nil {
		panic("ir: workflow does not marshal: " + err.Error()) // plain data always does
	}
	sum := sha256.Sum256(stripPositions(raw))
	return hex.EncodeToString(sum[:8]), len(raw)
}

// MaxBytes bounds a compiled workflow's JSON: the runtime stores each
// version in one transaction of its store, and those are bounded (2.16 MiB
// at the store's default memtable size). The compiler refuses a workflow
// over it, so that lead check fails where lead run would. A 10,000-line
// workflow of 420 stages compiles to 1.3 MiB.
const MaxBytes = 2 << 20

var posKey = []byte(`"pos":{`)

// stripPositions removes every `"pos":{...}` member (with its comma) from
// JSON text. Pos objects hold only scalars, so the first `}` outside a
// string ends one.
func stripPositions(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			switch c {
			case '\\':
				if i+1 < len(b) {
					i++
					out = append(out, b[i])
				}
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' && bytes.HasPrefix(b[i:], posKey) {
			j := i + len(posKey)
			for str := false; j < len(b); j++ {
				switch {
				case str && b[j] == '\\':
					j++
				case b[j] == '"':
					str = !str
				case !str && b[j] == '}':
					goto done
				}
			}
		done:
			// Drop the comma before the member, or else the one after it.
			if n := len(out); n > 0 && out[n-1] == ',' {
				out = out[:n-1]
			} else if j+1 < len(b) && b[j+1] == ',' {
				j++
			}
			i = j
			continue
		}
		if c == '"' {
			inString = true
		}
		out = append(out, c)
	}
	return out
}
