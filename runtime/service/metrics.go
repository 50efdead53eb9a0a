package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// metrics are the service's Prometheus metrics. Labels are workflow names,
// stage names, lifecycle labels, exception kinds and outcomes: bounded by
// the workflows. The lifecycle label is the common vocabulary of
// standards (a stage's lifecycle, "" for a stage without one), so one
// query spans every workflow that conforms to a standard.
type metrics struct {
	events        *prometheus.CounterVec
	steps         *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	reached       *prometheus.CounterVec
	slas          *prometheus.CounterVec
	exceptions    *prometheus.CounterVec
	stepSeconds   prometheus.Histogram
	commitBatch   prometheus.Histogram
	commitSeconds prometheus.Histogram
	refused       prometheus.Counter
	// routingConflicts counts commits refused because another node
	// changed a routing row their decisions read.
	routingConflicts prometheus.Counter
	replans          prometheus.Counter
	timerLag         prometheus.Histogram
	reloads          prometheus.Counter
	migrations       prometheus.Counter
	webhook          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_events_total", Help: "Requests to capture, send, update or override a lead, by workflow and outcome (applied, rejected, duplicate, existing).",
		}, []string{"workflow", "outcome"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_steps_total", Help: "Engine steps committed, by workflow and cause (capture, event, update, timer, override).",
		}, []string{"workflow", "cause"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_transitions_total", Help: "Stage changes, by workflow, from/to stage and the lifecycle label of the stage entered.",
		}, []string{"workflow", "from", "to", "lifecycle"}),
		reached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_lifecycle_reached_total", Help: "Leads that reached a lifecycle label for the first time, by workflow and label: the funnel, each lead counted once per label.",
		}, []string{"workflow", "lifecycle"}),
		slas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_sla_total", Help: "SLA outcomes, by workflow, SLA, lifecycle label of its stage and outcome (met; breached; exempt: the lead left the stage through an exception, an override or while stuck).",
		}, []string{"workflow", "sla", "lifecycle", "outcome"}),
		exceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_exceptions_total", Help: "Exceptions raised, by workflow and kind, and whether a handler took them or the lead got stuck.",
		}, []string{"workflow", "kind", "handler"}),
		stepSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lead_step_duration_seconds", Help: "Time from receiving an input to its step being durable.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lead_commit_batch_steps", Help: "Steps per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lead_commit_duration_seconds", Help: "Duration of one durable group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_commits_refused_total", Help: "Commits the store refused whole, writing nothing: the node no longer held a partition written to (fenced), or a lead or a routing row had moved under it. Their steps are planned again.",
		}),
		routingConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_routing_conflicts_total", Help: "Commits refused because a routing row their decisions read (a team's turn, an owner's open leads) had been changed by another node; the decisions are made again.",
		}),
		replans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_steps_replanned_total", Help: "Steps planned again after the store refused their commit.",
		}),
		timerLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lead_timer_lag_seconds", Help: "How late timers fire after their due time.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 20),
		}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_workflow_activations_total", Help: "Workflow versions activated by a load or hot reload.",
		}),
		migrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lead_migrations_total", Help: "Leads moved to a newer version of their workflow.",
		}),
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_webhook_deliveries_total", Help: "Webhook POSTs, by stream (notifications, steps) and result (delivered, retry).",
		}, []string{"stream", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.steps, m.transitions, m.reached, m.slas, m.exceptions, m.stepSeconds,
			m.commitBatch, m.commitSeconds, m.refused, m.routingConflicts, m.replans, m.timerLag, m.reloads, m.migrations, m.webhook, gauges{s})
	}
	return m
}

// observe records a committed step; prev is the lead before it (nil for
// a capture).
func (s *Service) observe(m *engine.Machine, r *engine.Result, prev *engine.Lead, took time.Duration) {
	wf := m.W.Name
	s.met.events.WithLabelValues(wf, "applied").Inc()
	s.met.steps.WithLabelValues(wf, r.Entry.Cause).Inc()
	s.met.stepSeconds.Observe(took.Seconds())
	for _, mv := range r.Entry.Moves {
		if mv.From != "" {
			s.met.transitions.WithLabelValues(wf, mv.From, mv.To, lifecycle(m, mv.To)).Inc()
		}
	}
	for label := range r.Lead.Reached {
		if prev != nil {
			if _, before := prev.Reached[label]; before {
				continue
			}
		}
		s.met.reached.WithLabelValues(wf, label).Inc()
	}
	for _, o := range r.Entry.SLAs {
		switch o.State {
		case engine.SLAMet, engine.SLAExempt, engine.SLABreached:
			s.met.slas.WithLabelValues(wf, o.Name, lifecycle(m, o.Stage), o.State).Inc()
		}
	}
	for _, x := range r.Entry.Exceptions {
		s.met.exceptions.WithLabelValues(wf, x.Kind, x.Handler).Inc()
	}
}

// lifecycle is a stage's lifecycle label, "" if it has none.
func lifecycle(m *engine.Machine, stage string) string {
	if st := m.Stage(stage); st != nil {
		return st.Lifecycle
	}
	return ""
}

// gauges are the metrics read from the store when Prometheus scrapes:
// stuck leads per workflow (the stuck index) and open leads per stage
// (the aging counters: O(stages × days), not O(leads)).
type gauges struct{ s *Service }

var (
	stuckDesc = prometheus.NewDesc("lead_stuck_leads", "Leads stuck in place until an operator moves them, by workflow.", []string{"workflow"}, nil)
	openDesc  = prometheus.NewDesc("lead_open_leads", "Leads now in each non-terminal stage, by workflow, stage and its lifecycle label (from the reports' counters; absent with --no-reports).", []string{"workflow", "stage", "lifecycle"}, nil)
)

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- stuckDesc
	ch <- openDesc
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	stuck := map[string]int{}
	for _, w := range g.s.reg.infos() {
		stuck[w.Name] = 0
	}
	yes := true
	q := store.Query{Stuck: &yes, Limit: 1000}
	for {
		page, next, err := g.s.st.Leads(ctx, q)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(stuckDesc, err)
			break
		}
		for _, l := range page {
			stuck[l.Workflow]++
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	for wf, n := range stuck {
		ch <- prometheus.MustNewConstMetric(stuckDesc, prometheus.GaugeValue, float64(n), wf)
	}
	if g.s.cfg.NoReports {
		return
	}
	var workflows []string
	for _, w := range g.s.reg.infos() {
		workflows = append(workflows, w.Name)
	}
	open, err := report.OpenLeads(ctx, g.s.st, workflows)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openDesc, err)
		return
	}
	for k, n := range open {
		lc := ""
		if m := g.s.reg.active(k[0]); m != nil {
			lc = lifecycle(m, k[1])
		}
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), k[0], k[1], lc)
	}
}
