package service

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
)

// TestStringSize: the estimate is never below what encoding/json writes,
// so a lead the service lets through fits the store.
func TestStringSize(t *testing.T) {
	cases := []string{"", "plain", `"quoted" \back\`, "<tag>&amp;", "\x00\x01\n\t\x7f",
		"caf\u00e9 \u4e2d\u6587 \U0001F600", "\u2028\u2029 line separators", "bad \xff\xfe utf-8", "\xe2\x80"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := stringSize(s); got < len(raw) {
			t.Errorf("stringSize(%q) = %d, but JSON takes %d bytes", s, got, len(raw))
		}
	}
	if got, want := stringSize(strings.Repeat("x", 1000)), 1002; got != want {
		t.Errorf("stringSize of 1000 plain bytes = %d, want %d (exact for plain text)", got, want)
	}
}

func TestValidIDs(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "ld_x1": true, "a.b-c:d@e_f": true, strings.Repeat("a", 200): true,
		"": false, strings.Repeat("a", 201): false, "a b": false, "a/b": false, "é": false, "a\n": false,
	} {
		if got := ValidLeadID(id); got != want {
			t.Errorf("ValidLeadID(%q) = %v, want %v", id, got, want)
		}
	}
	for id, want := range map[string]bool{
		"": true, "evt-1": true, "order 42 / café": true, strings.Repeat("é", 200): true,
		strings.Repeat("e", 201): false, "a\x01b": false, "tab\t": false, "bad \xff": false, "nel\u0085": false,
	} {
		if got := checkEventID(id) == ""; got != want {
			t.Errorf("checkEventID(%q) ok = %v, want %v (%s)", id, got, want, checkEventID(id))
		}
	}
}

// TestStorable: what the store cannot hold is found before the commit.
func TestStorable(t *testing.T) {
	w := &ir.Workflow{Name: "w", Version: "v1", Start: "a",
		Lead:   []ir.Field{{Name: "f", Type: ir.Type{Kind: ir.Float}}, {Name: "l", Type: ir.Type{Kind: ir.List, Elem: &ir.Type{Kind: ir.Float}}}, {Name: "s", Type: ir.Type{Kind: ir.String}}},
		Stages: []ir.Stage{{Name: "a", Terminal: true}},
	}
	m, err := engine.Load(w)
	if err != nil {
		t.Fatal(err)
	}
	fields := func(ps []Problem) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Field)
		}
		return out
	}
	res := func(owner string, vals ...any) *engine.Result {
		return &engine.Result{Lead: &engine.Lead{ID: "x", Owner: owner, Fields: vals}}
	}
	for _, c := range []struct {
		name string
		res  *engine.Result
		want []string
	}{
		{"fine", res("ana", 1.5, []any{2.0}, "text"), nil},
		{"absent fields", res("", nil, nil, nil), nil},
		{"infinite", res("", math.Inf(1), nil, nil), []string{"fields.f"}},
		{"NaN in a list", res("", 0.0, []any{1.0, math.NaN()}, nil), []string{"fields.l"}},
		{"too large", res("", nil, nil, strings.Repeat("x", MaxLeadBytes)), []string{"fields"}},
		{"bad owner", res("a\nb", nil, nil, nil), []string{"owner"}},
		{"long owner", res(strings.Repeat("o", MaxNameBytes+1), nil, nil, nil), []string{"owner"}},
	} {
		got := fields(storable(m, c.res))
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: storable = %v, want %v", c.name, got, c.want)
		}
	}
	// Notifications count towards the step.
	r := res("", nil, nil, strings.Repeat("x", 400<<10))
	for range 3 {
		r.Notifications = append(r.Notifications, engine.Notification{Message: strings.Repeat("m", 150<<10)})
	}
	if got := fields(storable(m, r)); strings.Join(got, ",") != "notifications" {
		t.Errorf("large notifications: storable = %v", got)
	}
}

func TestMergeProblems(t *testing.T) {
	got := mergeProblems(
		[]Problem{{Field: "stage", Message: "is required"}, {Field: "id", Message: "bad"}},
		[]Problem{{Field: "stage", Message: "no such stage"}, {Field: "fields.a", Message: "x"}},
	)
	want := []Problem{{Field: "fields.a", Message: "x"}, {Field: "id", Message: "bad"}, {Field: "stage", Message: "is required"}}
	if len(got) != len(want) {
		t.Fatalf("merge = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("merge = %v, want %v", got, want)
		}
	}
}
