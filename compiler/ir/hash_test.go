package ir

import (
	"encoding/json"
	"testing"
)

func TestStripPositions(t *testing.T) {
	cases := map[string]string{
		`{"a":1,"pos":{"file":"x}","line":1}}`:                `{"a":1}`,
		`{"pos":{"file":"a\"}","line":2},"b":"\"pos\":{"}`:    `{"b":"\"pos\":{"}`,
		`[{"pos":{"off":1}},{"x":{"pos":{"off":2},"y":[1]}}]`: `[{},{"x":{"y":[1]}}]`,
		`{"name":"pos","v":"\\"}`:                             `{"name":"pos","v":"\\"}`,
	}
	for in, want := range cases {
		if got := string(stripPositions([]byte(in))); got != want {
			t.Errorf("stripPositions(%s) = %s, want %s", in, got, want)
		}
		var v any
		if err := json.Unmarshal(stripPositions([]byte(in)), &v); err != nil {
			t.Errorf("stripPositions(%s) is not JSON: %v", in, err)
		}
	}
}

func TestHashIgnoresPositions(t *testing.T) {
	a := &Workflow{Name: "w", Start: "s", Stages: []Stage{{Name: "s", Pos: Pos{File: "a.lead", Line: 1}}}}
	b := &Workflow{Name: "w", Start: "s", Stages: []Stage{{Name: "s", Pos: Pos{File: "b.lead", Line: 9, Off: 40}}}}
	if a.Hash() != b.Hash() {
		t.Error("positions changed the hash")
	}
	c := &Workflow{Name: "w", Start: "s", Stages: []Stage{{Name: "s", Terminal: true}}}
	if a.Hash() == c.Hash() {
		t.Error("a change of meaning kept the hash")
	}
	a.Version = "x"
	if a.Hash() != b.Hash() {
		t.Error("the version field changed the hash")
	}
}
