package service

import (
	"context"
	"fmt"
	"time"

	"github.com/leadlang/lead/runtime/report"
	"github.com/leadlang/lead/runtime/store"
)

// The reports read counters the store keeps with every step. They follow
// report.Schema, recorded in the store's meta (report.SchemaKey): a store
// whose counters follow another schema, were never kept (a store from
// before the reports, or one served with NoReports), or whose rebuild
// was cut short, has them rebuilt from the leads' histories when it
// starts, before it takes any step.

// schemaOff marks counters that a service with NoReports stopped keeping.
const schemaOff = "off"

// checkCounters rebuilds the counters at start if they do not follow
// report.Schema.
func (s *Service) checkCounters(ctx context.Context) error {
	if s.cfg.NoReports {
		return s.st.PutMeta(ctx, report.SchemaKey, []byte(schemaOff))
	}
	v, ok, err := s.st.Meta(ctx, report.SchemaKey)
	if err != nil {
		return fmt.Errorf("read the reports' schema: %w", err)
	}
	if ok && string(v) == report.Schema {
		return nil
	}
	page, _, err := s.st.Leads(ctx, store.Query{Limit: 1})
	if err != nil {
		return err
	}
	if len(page) == 0 {
		return s.st.PutMeta(ctx, report.SchemaKey, []byte(report.Schema))
	}
	was := "none"
	if ok {
		was = string(v)
	}
	s.log.Warn("rebuilding the reports' counters from history before serving", "schema", report.Schema, "was", was)
	return s.Reindex(ctx)
}

// Reindex rebuilds every report counter from the leads' histories. Run
// it on a service that takes no steps: `lead reindex` runs it on a
// stopped server's store, and Start when the counters need it. Until it
// finishes, the store is marked as needing a rebuild, so an interrupted
// one runs again at the next start.
func (s *Service) Reindex(ctx context.Context) error {
	if err := s.st.PutMeta(ctx, report.SchemaKey, []byte("rebuilding")); err != nil {
		return err
	}
	start, last := time.Now(), time.Now()
	counts, err := report.Rebuild(ctx, s.st, s.reg.machine, func(leads int) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			s.log.Info("rebuilding the reports' counters", "leads", leads, "took", time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		return fmt.Errorf("rebuild the reports' counters: %w", err)
	}
	if err := s.st.ReplaceCounters(ctx, "", counts); err != nil {
		return fmt.Errorf("store the rebuilt counters: %w", err)
	}
	if err := s.st.PutMeta(ctx, report.SchemaKey, []byte(report.Schema)); err != nil {
		return err
	}
	s.dims = report.NewDims(counts)
	s.log.Info("rebuilt the reports' counters", "counters", len(counts), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
