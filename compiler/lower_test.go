package compiler

import (
	"strings"
	"testing"

	"github.com/leadlang/lead/compiler/ir"
)

// edgeText renders a stage's moves for comparison: "on E -> T",
// "when C -> T", "after D -> T", each with its origin.
func edgeText(s *ir.Stage) string {
	var out []string
	for _, t := range s.On {
		out = append(out, "on "+strings.Join(t.Events, ",")+" -> "+t.Target+" ("+t.Origin+")")
	}
	for _, t := range s.When {
		g := "always"
		if t.Guard != nil {
			g = t.Guard.Src
		}
		out = append(out, "when "+g+" -> "+t.Target+" ("+t.Origin+")")
	}
	for _, t := range s.After {
		out = append(out, "after "+ir.FormatDuration(t.After)+" -> "+t.Target+" ("+t.Origin+")")
	}
	return strings.Join(out, "; ")
}

// TestCellLowering pins the expansion of the language reference §12 and the owner
// defaults of §7.1 on Appendix B.
func TestCellLowering(t *testing.T) {
	r := CompileFile("../examples/multistep.lead", Options{})
	if r.Workflow == nil {
		t.Fatal(r.Diags)
	}
	w := r.Workflow
	want := map[string]string{
		// disqualify rules, then qualify, then (no undecided) develop at once
		"marketing.assess": `when domain(lead.email) == "competitor.example" -> disqualified (disqualify); ` +
			`when lead.fit + lead.engagement >= 60 -> marketing.advance (qualify); ` +
			`when always -> marketing.develop (undecided)`,
		// advance without accept hands on at once
		"marketing.advance": `when always -> teleprospecting.assess (advance)`,
		"marketing.develop": `on form_submitted,webinar_attended,email_clicked -> marketing.assess (reassess); ` +
			`after 180d -> dormant (recycle)`,
		// undecided after D waits, then goes to develop by default
		"teleprospecting.assess": `on disqualify_requested -> disqualified (); ` +
			`when lead.budget && lead.need && (lead.authority || lead.timeline) -> teleprospecting.advance (qualify); ` +
			`after 2d -> teleprospecting.develop (undecided)`,
		// accept on E moves to the target; reject on E -> develop
		"teleprospecting.advance": `on accepted -> opportunity (accept); on rejected -> teleprospecting.develop (reject)`,
	}
	for name, edges := range want {
		s := w.Stage(name)
		if s == nil {
			t.Errorf("no stage %s", name)
			continue
		}
		if got := edgeText(s); got != edges {
			t.Errorf("%s:\n got %s\nwant %s", name, got, edges)
		}
	}
	owners := map[string]string{
		// workflow accountable, cell responsible and informed
		"marketing.assess": "A=marketing_ops R=role marketing_ops I=[cmo]",
		// cell accountable overrides the workflow's; `route` in advance
		// overrides the cell's responsible
		"teleprospecting.assess":  "A=inside_sales_manager R=route tele_routing I=[]",
		"teleprospecting.advance": "A=inside_sales_manager R=route field_routing I=[]",
		// a stage's own entries override, the rest comes from the workflow
		"triage": "A=marketing_ops R=role marketing_ops I=[]",
		"won":    "A=marketing_ops R= I=[]",
	}
	for name, o := range owners {
		s := w.Stage(name)
		got := "A=" + s.Owner.Accountable + " R=" + s.Owner.Responsible.String() + " I=[" + strings.Join(s.Owner.Informed, ",") + "]"
		if got != o {
			t.Errorf("%s owner: got %s, want %s", name, got, o)
		}
	}
	if sc := w.Scores; len(sc) != 1 || sc[0].Decay == nil || sc[0].Decay.Percent != 10 || *sc[0].Max != 100 {
		t.Errorf("score engagement did not lower to a decay and a limit: %+v", sc)
	}
	adds := 0
	for _, h := range w.Handlers {
		if h.Score != nil {
			adds++
		}
	}
	if adds != 3 {
		t.Errorf("score engagement lowered to %d handlers, want 3", adds)
	}
}
