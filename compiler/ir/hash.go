package ir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash computes the workflow's version: a digest of its canonical JSON with
// every source position and the version itself left out, so moving text
// around or reformatting a file keeps the version while any change of
// meaning produces a new one.
func (w *Workflow) Hash() string {
	c := *w
	c.Version = ""
	raw, err := json.Marshal(&c)
	if err != nil {
		panic("ir: workflow does not marshal: " + err.Error()) // plain data always does
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		panic("ir: " + err.Error())
	}
	// encoding/json writes map keys sorted, so the re-encoded tree is canonical.
	canon, _ := json.Marshal(stripPositions(tree))
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:8])
}

func stripPositions(v any) any {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "pos")
		for k, e := range t {
			t[k] = stripPositions(e)
		}
	case []any:
		for i, e := range t {
			t[i] = stripPositions(e)
		}
	}
	return v
}
