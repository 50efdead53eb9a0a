package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// metrics are the service's Prometheus metrics. Labels are workflow names,
// stage names, exception kinds and outcomes: bounded by the workflows.
type metrics struct {
	events        *prometheus.CounterVec
	steps         *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	slas          *prometheus.CounterVec
	exceptions    *prometheus.CounterVec
	stepSeconds   prometheus.Histogram
	commitBatch   prometheus.Histogram
	commitSeconds prometheus.Histogram
	timerLag      prometheus.Histogram
	reloads       prometheus.Counter
	migrations    prometheus.Counter
	webhook       *prometheus.CounterVec
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
			Name: "lead_transitions_total", Help: "Stage changes, by workflow and from/to stage.",
		}, []string{"workflow", "from", "to"}),
		slas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lead_sla_total", Help: "SLA outcomes, by workflow, SLA and outcome (met, breached).",
		}, []string{"workflow", "sla", "outcome"}),
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
			Name: "lead_webhook_deliveries_total", Help: "Webhook POSTs, by result (delivered, retry).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.steps, m.transitions, m.slas, m.exceptions, m.stepSeconds,
			m.commitBatch, m.commitSeconds, m.timerLag, m.reloads, m.migrations, m.webhook,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "lead_stuck_leads", Help: "Leads stuck in place until an operator moves them.",
			}, s.stuckCount),
		)
	}
	return m
}

// observe records a committed step.
func (s *Service) observe(m *engine.Machine, r *engine.Result, in engine.Input, took time.Duration) {
	wf := m.W.Name
	s.met.events.WithLabelValues(wf, "applied").Inc()
	s.met.steps.WithLabelValues(wf, r.Entry.Cause).Inc()
	s.met.stepSeconds.Observe(took.Seconds())
	for _, mv := range r.Entry.Moves {
		if mv.From != "" {
			s.met.transitions.WithLabelValues(wf, mv.From, mv.To).Inc()
		}
	}
	for _, o := range r.Entry.SLAs {
		if o.State == engine.SLAMet || o.State == engine.SLABreached {
			s.met.slas.WithLabelValues(wf, o.Name, o.State).Inc()
		}
	}
	for _, x := range r.Entry.Exceptions {
		s.met.exceptions.WithLabelValues(wf, x.Kind, x.Handler).Inc()
	}
}

// stuckCount counts stuck leads through the stuck index.
func (s *Service) stuckCount() float64 {
	yes := true
	n, cursor := 0, ""
	for {
		page, next, err := s.st.Leads(contextBackground(), storeQuery(&yes, cursor))
		if err != nil {
			return float64(n)
		}
		n += len(page)
		if next == "" {
			return float64(n)
		}
		cursor = next
	}
}

func contextBackground() context.Context { return context.Background() }

func storeQuery(stuck *bool, cursor string) store.Query {
	return store.Query{Stuck: stuck, Limit: 1000, Cursor: cursor}
}
