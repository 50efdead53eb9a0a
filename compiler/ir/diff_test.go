package ir

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	old := &Workflow{
		Start: "a",
		Lead:  []Field{{Name: "email", Type: Type{Kind: String}}, {Name: "fit", Type: Type{Kind: Int}, Default: int64(0)}},
		Stages: []Stage{
			{Name: "a", Owner: Owner{Accountable: "ops"}, On: []Transition{{Events: []string{"go"}, Target: "b"}},
				SLAs: []SLA{{Name: "touch", Within: Duration(4 * 3600e9)}}},
			{Name: "b", Terminal: true},
			{Name: "gone", Terminal: true},
		},
	}
	new := &Workflow{
		Start: "a",
		Lead:  []Field{{Name: "email", Type: Type{Kind: String}}, {Name: "fit", Type: Type{Kind: Float}, Default: 0.0}},
		Stages: []Stage{
			{Name: "a", Owner: Owner{Accountable: "sales"}, On: []Transition{{Events: []string{"go"}, Guard: &Expr{Src: "lead.fit > 1.0"}, Target: "b"}},
				SLAs: []SLA{{Name: "touch", Within: Duration(2 * 3600e9)}}},
			{Name: "b", Terminal: true},
			{Name: "c"},
		},
	}
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, c.String())
	}
	want := []string{
		"changed field: fit int = 0 -> fit float = 0",
		"removed stage in gone: gone terminal",
		"changed owner in a: accountable ops -> accountable sales",
		"removed transition in a: on go -> b",
		"added   transition in a: on go when lead.fit > 1.0 -> b",
		"changed sla in a: touch within 4h -> touch within 2h",
		"added   stage in c: c",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(Diff(old, old)) != 0 {
		t.Errorf("a version differs from itself: %v", Diff(old, old))
	}
}
