package format

import (
	"fmt"
	"strings"
	"testing"
)

// generateWorkflow returns a large, realistic workflow for benchmarks: the
// header, events, roles, calendars, teams and routings a pipeline needs, one
// cell for every 25 stages, and the given number of stages (about 20 lines
// each) with owner blocks, enter blocks, event, automatic and timed
// transitions with expressions, in-stage handlers and SLAs with warn and
// breach clauses. 500 stages make about 10,400 lines. The layout is close
// to canonical but not aligned (fields, events, routing rules, transitions),
// so the formatter has its usual work to do.
func generateWorkflow(stages int) string {
	var b strings.Builder
	b.Grow(stages * 900)
	regions := []string{"na", "emea", "apac", "latam"}
	fmt.Fprintf(&b, "// Generated pipeline with %d stages.\n", stages)
	b.WriteString(`workflow generated "Generated pipeline for benchmarks"
start s0
use std.waterfall
conforms std.waterfall

lead {
  email string
  company string = ""
  region enum(na, emea, apac, latam) = na
  segment enum(enterprise, midmarket, smb) = smb
  product string = ""
  account_owner string?
  engagement int = 0
  fit int = 0
  touches int = 0
  budget bool = false
  need bool = false
  mql_at timestamp?
  tags list<string> = []
}

event form_submitted { form string, campaign string? }
event webinar_attended { minutes int }
event email_clicked { campaign string? }
event call_logged { outcome enum(connected, voicemail, no_answer) }
event bant_updated { budget bool, need bool }
event accepted
event rejected { reason enum(routing, data, not_ready, no_fit) }

role marketing_ops "Runs the lead management process"
role cmo
role sales_manager
role inside_sales_manager

calendar us_business {
  timezone "America/New_York"
  hours mon-fri 09:00-17:00
  holiday "2026-11-26"
  holiday "2026-12-25"
}

`)
	for _, r := range regions {
		fmt.Fprintf(&b, `team tele_%s {
  strategy weighted
  capacity 40 // open leads per member
  calendar us_business
  member "ana.%s@acme.example"
  member "raj.%s@acme.example" { weight 2 }
}

team field_%s {
  strategy best_fit by (lead.product in member.products ? 10 : 0) + member.tenure
  member "kim.%s@acme.example" { products ["storage", "backup"], tenure 6 }
  member "lou.%s@acme.example" { products ["compute"], tenure 2 }
}

routing route_%s {
  when has(lead.account_owner) -> user lead.account_owner
  when lead.segment == "enterprise" -> team field_%s
  else -> team tele_%s
}

`, r, r, r, r, r, r, r, r, r)
	}
	b.WriteString(`on captured {
  set lead.fit = ((lead.segment == "enterprise" ? 30 : 0)
                  + (lead.segment == "midmarket" ? 15 : 0)
                  - (is_free_email(lead.email) ? 20 : 0))
}

score engagement {
  on form_submitted add 10
  on webinar_attended when event.minutes >= 30 add 15
  on email_clicked add 2
  decay 10% every 30d
  limit 0..100
}

`)
	for i := 0; i < stages; i++ {
		r := regions[i%len(regions)]
		next := fmt.Sprintf("s%d", i+1)
		if i == stages-1 {
			next = "won"
		}
		if i%25 == 0 {
			fmt.Fprintf(&b, `cell c%d {
  owner { accountable marketing_ops  responsible route route_%s }
  assess {
    disqualify when domain(lead.email) == "competitor.example" -> lost
    qualify when lead.fit + lead.engagement >= 60
  }
  advance -> s%d
  develop {
    nurture every 14d
    reassess on form_submitted, webinar_attended
    recycle after 180d -> lost
  }
}

`, i, r, i)
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, "// Stage %d of the %s pipeline.\n", i, r)
		}
		fmt.Fprintf(&b, "stage s%d {\n  lifecycle mql\n", i)
		if i%2 == 0 {
			fmt.Fprintf(&b, `  owner {
    accountable sales_manager
    responsible route route_%s // routing picks the owner on entry
    informed cmo
  }
  enter {
    set lead.touches = lead.touches + 1
    notify responsible "Lead " + lead.email + " entered stage %d"
  }
`, r, i)
		} else {
			fmt.Fprintf(&b, "  owner { accountable sales_manager  responsible route route_%s }\n", r)
			b.WriteString("  enter { set lead.touches = lead.touches + 1 }\n")
		}
		fmt.Fprintf(&b, `  on accepted -> %s
  on rejected when event.reason == "not_ready" -> c%d.develop
  on form_submitted { notify responsible "New form: " + event.form }
  when (lead.fit + lead.engagement >= 60
        && lead.region == "%s") -> %s
  after 30d on us_business -> lost
  sla first_touch within 4h on us_business until call_logged {
    warn at 50%% { notify responsible "Half of the first-touch SLA is used" }
    breach { escalate sales_manager; reassign }
  }
}

`, next, i/25*25, r, next)
	}
	b.WriteString("stage won terminal { lifecycle won }\nstage lost terminal { lifecycle lost }\n")
	return b.String()
}

// TestGenerateWorkflow checks that the benchmark input parses, has the
// promised size, and formats with all the formatter's properties.
func TestGenerateWorkflow(t *testing.T) {
	if n := strings.Count(generateWorkflow(500), "\n"); n < 9000 || n > 12000 {
		t.Errorf("generateWorkflow(500) has %d lines, want about 10,000", n)
	}
	checkFormat(t, "generated.lead", generateWorkflow(30))
}
