package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

const listWorkflow = `workflow w
start a

lead {
  email string
  tier  enum(hot, warm) = warm
}

event go
event done

role ops

stage a {
  lifecycle inquiry
  owner { accountable ops  responsible role ops }
  on go -> b
  sla touch within 6h
}

stage b {
  lifecycle mql
  owner { accountable ops  responsible role ops }
  on done -> c
  sla call within 2d
}

stage c terminal { lifecycle won }
`

// TestListOrdersAndFilters: leads captured and moved at random times;
// every order, paged 7 at a time, is the brute-force order of the
// matching leads, and the total counts them all.
func TestListOrdersAndFilters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, listWorkflow)
	var clock atomic.Int64
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	svc, stop := startWith(t, dir, Config{Paths: []string{path}, Clock: now, ManualTimers: true})
	defer stop()
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 60 {
		clock.Add(int64(time.Duration(rng.IntN(90)) * time.Minute))
		id := fmt.Sprintf("l%02d", i)
		if _, _, err := svc.Capture(ctx, "w", id, map[string]any{"email": id + "@x.example"}); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(2) == 0 {
			if _, err := svc.Send(ctx, id, "go", "", nil); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(6) == 0 {
			if _, err := svc.Send(ctx, id, "done", "", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := svc.RunTimers(ctx, now(), func(at time.Time) {}); err != nil {
		t.Fatal(err)
	}

	var all []LeadView
	if _, err := svc.scan(ctx, Filter{}, 0, "", func(v LeadView) { all = append(all, v) }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 60 {
		t.Fatalf("%d leads, want 60", len(all))
	}
	for _, c := range []struct {
		f    Filter
		sort string
	}{
		{Filter{}, SortID}, {Filter{}, SortDeadline}, {Filter{}, SortAge},
		{Filter{Lifecycle: "mql"}, SortDeadline}, {Filter{SLA: "breached"}, SortAge},
		{Filter{SLA: "running", Stage: "a", Workflow: "w"}, SortDeadline}, {Filter{MinAge: 10 * time.Hour}, SortID},
	} {
		var want []string
		for _, v := range all {
			if _, ok := keyOf(c.sort, v); c.f.matches(v, now()) && (c.sort != SortDeadline || ok) && (c.f.Stage == "" || v.Stage == c.f.Stage) {
				want = append(want, v.ID)
			}
		}
		if c.sort != SortID {
			slices.SortFunc(want, func(a, b string) int {
				va := all[slices.IndexFunc(all, func(v LeadView) bool { return v.ID == a })]
				vb := all[slices.IndexFunc(all, func(v LeadView) bool { return v.ID == b })]
				ka, _ := keyOf(c.sort, va)
				kb, _ := keyOf(c.sort, vb)
				return ka.compare(kb)
			})
		}
		var got []string
		cursor, pages := "", 0
		for {
			p, err := svc.List(ctx, ListQuery{Filter: c.f, Sort: c.sort, Limit: 7, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 && (p.Total == nil || *p.Total != len(want)) {
				t.Errorf("%+v by %s: total %v, want %d", c.f, c.sort, p.Total, len(want))
			}
			for _, v := range p.Leads {
				got = append(got, v.ID)
			}
			pages++
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(want) < 3 {
			t.Errorf("%+v by %s: only %d leads match: the case tests little", c.f, c.sort, len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v by %s:\n got %v\nwant %v", c.f, c.sort, got, want)
		}
	}

	for _, q := range []ListQuery{
		{Sort: "newest"}, {Sort: SortAge, Cursor: "bm9wZQ"}, {Filter: Filter{SLA: "late"}}, {Filter: Filter{MinAge: -time.Hour}},
	} {
		if _, err := svc.List(ctx, q); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want a bad request", q, err)
		}
	}
}
