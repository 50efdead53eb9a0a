package report_test

import (
	"io/fs"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
)

func machine(t testing.TB, src string) *engine.Machine {
	t.Helper()
	f, diags := lang.Parse("w.lead", src)
	r := compiler.Compile(f, diags, compiler.Options{ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist }})
	if r.Workflow == nil {
		t.Fatal(r.Diags)
	}
	m, err := engine.Load(r.Workflow)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const v1 = `workflow w
start inbox
lead {
  region enum(na, emea) = na
  source string = "web"
}
event go
role ops
stage inbox {
  lifecycle inquiry
  owner { accountable ops  responsible role ops }
  on go -> done
}
stage done terminal { lifecycle won }
`

// v2 puts a field before region: a v1 lead's field slice no longer lines
// up with v2's declarations.
var v2 = strings.Replace(v1, "lead {\n", "lead {\n  email string\n  note string\n  score int = 0\n", 1)

// A step that moves a lead to another version counts the lead before it on
// the old version's machine and after it on the new one's: reading the
// old lead's fields by the new layout panicked once.
func TestCountsAcrossVersions(t *testing.T) {
	m1, m2 := machine(t, v1), machine(t, v2)
	now := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	d := report.NewDims(nil)
	capt, err := engine.Step(m1, nil, engine.Input{Kind: engine.Capture, LeadID: "l1", Data: map[string]any{"region": "emea", "source": "fair"}}, now, engine.NewRotation())
	if err != nil {
		t.Fatal(err)
	}
	c := d.Counts(m1, capt, nil, nil)
	if c["a/w/region=emea/inbox/2026-09-01"] != 1 || c["a/w/source=fair/inbox/2026-09-01"] != 1 {
		t.Fatalf("capture counts: %v", c)
	}
	mig := engine.Migrate(m1, m2, capt.Lead, now.Add(time.Hour))
	c = d.Counts(m2, mig, m1, capt.Lead)
	// Same stage, same fields: the gauges' removal and addition cancel.
	for k, v := range c {
		if strings.HasPrefix(k, "a/") {
			t.Errorf("migration changed gauge %s by %d", k, v)
		}
	}
}

// A string value too long to name a group counts as "(other)".
func TestLongValuesAreOther(t *testing.T) {
	m := machine(t, v1)
	now := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", report.MaxValueBytes+1)
	res, err := engine.Step(m, nil, engine.Input{Kind: engine.Capture, LeadID: "l1", Data: map[string]any{"source": long}}, now, engine.NewRotation())
	if err != nil {
		t.Fatal(err)
	}
	c := report.NewDims(nil).Counts(m, res, nil, nil)
	if c["a/w/"+url.PathEscape("source="+report.Other)+"/inbox/2026-09-01"] != 1 {
		t.Errorf("long value not counted as %s: %v", report.Other, c)
	}
	for k := range c {
		if len(k) > 200 {
			t.Errorf("counter key of %d bytes", len(k))
		}
	}
}
