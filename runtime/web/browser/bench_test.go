package browser

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// benchLeads is the size of the benchmark's store: LEAD_WEB_BENCH_LEADS,
// 10,000 by default.
func benchLeads(b *testing.B) int {
	n := 10_000
	if s := os.Getenv("LEAD_WEB_BENCH_LEADS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("LEAD_WEB_BENCH_LEADS=%q: want a number of leads", s)
		}
		n = v
	}
	return n
}

// BenchmarkFirstPaint loads each dashboard, with a cold browser cache,
// from a server whose store holds LEAD_WEB_BENCH_LEADS seeded leads, and
// reports from the page's Performance API the first contentful paint
// (fcp-ms, the target is 1 s) and the time until the view's data is on
// the page (ready-ms: the funnel table filled, the practitioner's three
// lists, the graph's counts). Times are from the start of navigation.
//
//	go test -run '^$' -bench FirstPaint -benchtime 10x ./runtime/web/browser/
func BenchmarkFirstPaint(b *testing.B) {
	needBrowser(b)
	n := benchLeads(b)
	s := startServer(b, token, "")
	start := time.Now()
	seed(b, s, 42, "b", n, 32)
	b.Logf("seeded %d leads in %v", n, time.Since(start).Round(time.Millisecond))
	for _, path := range []string{"/v1/reports/funnel?workflow=dash", "/v1/leads?workflow=dash&sort=deadline&limit=25", "/v1/leads?workflow=dash&stuck=true&sort=age&limit=100", "/v1/leads?workflow=dash&sort=age&limit=25"} {
		t0 := time.Now()
		if err := s.must("GET", path, nil, 200); err != nil {
			b.Fatal(err)
		}
		b.Logf("GET %s: %v", path, time.Since(t0).Round(time.Microsecond))
	}
	br := newBrowser(b, 1280, 800)
	// Keep the token in the page's storage, as after the first visit.
	br.do("keep the token", chromedp.Navigate(s.base+"/ui/none"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('lead.token', %q)`, token)))
	// Each load starts from another page of the same origin, as a click
	// on a bookmark in an open tab would, or (executive-new-tab) from
	// about:blank, which makes the browser start a renderer process for
	// the page first: headless Chromium keeps no spare one, as a desktop
	// browser does for a new tab.
	for _, v := range []struct{ name, hash, mark, from string }{
		{"executive", "#/executive?workflow=dash", "lead:funnel", s.base + "/ui/none"},
		{"executive-new-tab", "#/executive?workflow=dash", "lead:funnel", "about:blank"},
		{"practitioner", "#/practitioner?workflow=dash", "lead:lists", s.base + "/ui/none"},
		{"workflow", "#/workflow/dash", "lead:counts", s.base + "/ui/none"},
	} {
		b.Run(v.name, func(b *testing.B) {
			br.t = b
			var fcp, ready []float64
			for b.Loop() {
				br.do("another page", chromedp.Navigate(v.from))
				if _, err := chromedp.Call(br.ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
					b.Fatal(err)
				}
				br.do("load", chromedp.Navigate(s.base+"/"+v.hash))
				br.wait(v.mark, fmt.Sprintf(`performance.getEntriesByName(%q).length > 0 && performance.getEntriesByName('first-contentful-paint').length > 0`, v.mark), 60*time.Second)
				times := eval[[]float64](br, fmt.Sprintf(`[performance.getEntriesByName('first-contentful-paint')[0].startTime, performance.getEntriesByName(%q)[0].startTime]`, v.mark))
				fcp = append(fcp, times[0])
				ready = append(ready, times[1])
			}
			b.ReportMetric(median(fcp), "fcp-ms")
			b.ReportMetric(median(ready), "ready-ms")
			b.ReportMetric(slices.Max(ready), "ready-max-ms")
			b.Logf("%s with %d leads: first contentful paint %v ms, data on the page %v ms (each load)", v.name, n, rounded(fcp), rounded(ready))
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func rounded(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}
