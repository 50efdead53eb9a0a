package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/leadlang/lead/runtime/service"
)

// jsonReader reads a request body's JSON strictly, below the top level
// too: a key given twice in any object is malformed (400), as it is at
// the top; a string that is not valid UTF-8 (raw bytes, or an escaped
// lone surrogate, which encoding/json would quietly turn into U+FFFD) or
// that holds a NUL is a problem named by its field (422). Values come out
// as decoding into `any` gives them, numbers as json.Number.
type jsonReader struct {
	raw      []byte
	dec      *json.Decoder
	problems []service.Problem
	named    map[string]bool // fields with a string problem already
}

func newJSONReader(raw []byte) *jsonReader {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return &jsonReader{raw: raw, dec: dec}
}

// key reads an object key at path ("" for the top level).
func (j *jsonReader) key(path string) (string, error) {
	start := j.dec.InputOffset()
	tok, err := j.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, found %v", tok)
	}
	j.checkString(join(path, k), start, k)
	return k, nil
}

// value reads the value at path.
func (j *jsonReader) value(path string) (any, error) {
	start := j.dec.InputOffset()
	tok, err := j.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			list := []any{}
			for j.dec.More() {
				v, err := j.value(path)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := j.dec.Token()
			return list, err
		}
		obj := map[string]any{}
		for j.dec.More() {
			k, err := j.key(path)
			if err != nil {
				return nil, err
			}
			if _, dup := obj[k]; dup {
				return nil, fmt.Errorf("key %q is given twice in %s", k, path)
			}
			v, err := j.value(join(path, k))
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		_, err := j.dec.Token()
		return obj, err
	case string:
		j.checkString(path, start, t)
	}
	return tok, nil
}

// checkString records a problem with the string s, decoded from the
// token that follows offset start, if it is not text: invalid UTF-8 in
// the body, an escape that is not a character, or a NUL.
func (j *jsonReader) checkString(path string, start int64, s string) {
	lit := j.raw[start:j.dec.InputOffset()]
	if i := bytes.IndexByte(lit, '"'); i >= 0 {
		lit = lit[i:]
	}
	var msg string
	switch {
	case !utf8.Valid(lit):
		msg = "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		msg = "contains a NUL character"
	case strings.Count(s, "\uFFFD") > bytes.Count(lit, []byte("\uFFFD"))+bytes.Count(bytes.ToLower(lit), []byte(`\ufffd`)):
		msg = "contains an escape that is not a character (a lone UTF-16 surrogate)"
	default:
		return
	}
	// One problem per field, named as the engine names fields: the
	// request key and the lead or payload field in it.
	if parts := strings.SplitN(path, ".", 3); len(parts) > 2 {
		path = parts[0] + "." + parts[1]
	}
	if j.named[path] {
		return
	}
	if j.named == nil {
		j.named = map[string]bool{}
	}
	j.named[path] = true
	j.problems = append(j.problems, service.Problem{Field: path, Message: msg})
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
