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

// TestDiffCalendarDurations: lengths on a business calendar are written in
// working hours, as diagrams write them ("24h on us_business" is three
// 8-hour days, not "1d").
func TestDiffCalendarDurations(t *testing.T) {
	h := Duration(3600e9)
	old := &Workflow{Start: "a", Stages: []Stage{{Name: "a",
		SLAs:  []SLA{{Name: "touch", Within: 24 * h, Calendar: "us_business", Warn: &Warn{At: 16 * h}}},
		After: []Timeout{{After: 80 * h, Calendar: "us_business", Target: "a"}}}}}
	new := &Workflow{Start: "a", Stages: []Stage{{Name: "a",
		SLAs:  []SLA{{Name: "touch", Within: 48 * h, Calendar: "us_business", Warn: &Warn{At: 16 * h}}},
		After: []Timeout{{After: 48 * h, Calendar: "us_business", Target: "a"}}}}}
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, c.String())
	}
	want := []string{
		"changed timer in a: after 80h on us_business -> a -> after 48h on us_business -> a",
		"changed sla in a: touch within 24h on us_business, warn at 16h -> touch within 48h on us_business, warn at 16h",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
