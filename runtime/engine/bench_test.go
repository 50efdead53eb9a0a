package engine

import (
	"testing"
	"time"

	"github.com/leadlang/lead/internal/cputime"
)

// reportRate reports n steps per second of wall-clock and of CPU time.
func reportRate(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "steps/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "steps/cpu-s")
	}
}

const benchSrc = `
workflow bench
start inbox

lead {
  email   string
  company string = ""
  segment enum(enterprise, midmarket, smb) = smb
  score   int = 0
}

event accepted { priority int }
event back

role ops

team sales {
  strategy round_robin
  member "ana@acme.example"
  member "ben@acme.example"
  member "cy@acme.example"
}

owner { accountable ops }

stage inbox {
  owner { responsible role ops }
  on accepted when event.priority > 1 && lead.segment == "enterprise" -> working
}

stage working {
  owner { responsible team sales }
  on back -> inbox
  sla touch within 4h {
    breach { escalate ops }
  }
  after 30d -> lost
}

stage lost terminal
`

// BenchmarkStep measures a typical event: a guard over the payload and the
// lead holds, the lead moves, and the new stage routes it to a team member
// and starts its timeout and SLA.
func BenchmarkStep(b *testing.B) {
	m := compile(b, benchSrc)
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	rot := NewRotation()
	r, err := Step(m, nil, Input{Kind: Capture, LeadID: "L1", Data: map[string]any{"email": "cio@big.example", "segment": "enterprise"}}, now, rot)
	if err != nil {
		b.Fatal(err)
	}
	rot.Apply(r.Routing)
	lead := r.Lead
	in := Input{Kind: Event, Event: "accepted", Data: map[string]any{"priority": 2.0}}
	now = now.Add(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		r, err := Step(m, lead, in, now, rot)
		if err != nil || r.Lead.Stage != "working" {
			b.Fatalf("step: %v %+v", err, r)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, cpu0)
}
