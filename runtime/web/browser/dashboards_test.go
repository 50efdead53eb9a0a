package browser

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
)

const token = "dash-s3cret"

// row is a table row as the page shows it: its key and its cells' text.
type row struct {
	Key   string   `json:"key"`
	Cells []string `json:"cells"`
}

// rows reads a table's body.
func rows(b *browser, tableID string) []row {
	b.t.Helper()
	return eval[[]row](b, fmt.Sprintf(`[...document.querySelectorAll('#%s tbody tr')].map(tr => ({key: tr.dataset.key || '', cells: [...tr.cells].map(c => c.textContent.trim())}))`, tableID))
}

var digits = regexp.MustCompile(`[^0-9]`)

// count reads a number the page wrote ("1,234").
func count(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(digits.ReplaceAllString(s, ""))
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

// share reads a percentage the page wrote ("45.5%") as a ratio.
func share(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil {
		t.Fatalf("%q is not a percentage", s)
	}
	return f / 100
}

// TestDashboards seeds a store, then uses every view as a practitioner
// would: the token prompt, the numbers against the API, an override and
// a reassignment, live counts, and the phone layout. Screenshots of each
// view at 1280×800 and 390×844 are saved as artifacts.
func TestDashboards(t *testing.T) {
	needBrowser(t)
	start := time.Now()
	s := startServer(t, token, "")
	seed(t, s, 20261203, "d", 90, 8)
	t.Logf("server and 90 seeded leads in %v", time.Since(start).Round(time.Millisecond))
	b := newBrowser(t, 1280, 800)
	home := s.base + "/"

	t.Run("token prompt", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(home+"#/executive?workflow=dash"))
		b.wait("the token prompt", `document.getElementById('token-dialog').open`, 15*time.Second)
		if got := eval[string](b, `document.activeElement.id`); got != "token-input" {
			t.Errorf("focus is on %q, want the token field", got)
		}
		// A wrong token is refused in the prompt, which stays.
		b.do("wrong token",
			chromedp.SendKeys(chromedp.ID("token-input"), "not-the-token"),
			chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
		b.wait("the refusal", `!document.getElementById('token-error').hidden && document.getElementById('token-error').textContent.includes('refused')`, 10*time.Second)
		if !eval[bool](b, `document.getElementById('token-dialog').open`) {
			t.Fatal("the prompt closed on a wrong token")
		}
		b.do("right token",
			chromedp.Clear(chromedp.ID("token-input")),
			chromedp.SendKeys(chromedp.ID("token-input"), token),
			chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
		b.wait("the funnel", `!document.getElementById('token-dialog').open && document.querySelector('#funnel-table tbody tr[data-key="captured"]')`, 20*time.Second)
		if n := eval[string](b, `sessionStorage.getItem('prompts')`); n != "1" {
			t.Errorf("the token was asked for %s times, want once", n)
		}
	})

	t.Run("executive", func(t *testing.T) {
		b.t = t
		var api struct {
			From, To string
			Rows     []struct {
				Group, Label string
				Leads        int
				FromPrevious float64 `json:"conversion_from_previous"`
				FromCaptured float64 `json:"conversion_from_captured"`
			}
		}
		s.get("/v1/reports/funnel?workflow=dash", &api)
		page := rows(b, "funnel-table")
		var want []string
		for _, r := range api.Rows {
			if r.Group == "all" {
				want = append(want, r.Label)
			}
		}
		var got []string
		for _, r := range page {
			got = append(got, r.Key)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("funnel labels on the page %v, the API's %v", got, want)
		}
		for i, r := range api.Rows {
			p := page[i].Cells
			if n := count(t, p[1]); n != r.Leads {
				t.Errorf("funnel %s: the page shows %d leads, the API %d", r.Label, n, r.Leads)
			}
			if r.Label != "captured" {
				if f := share(t, p[2]); math.Abs(f-r.FromPrevious) > 0.0005 {
					t.Errorf("funnel %s: conversion from previous %v on the page, %v from the API", r.Label, f, r.FromPrevious)
				}
			}
			if f := share(t, p[3]); math.Abs(f-r.FromCaptured) > 0.0005 {
				t.Errorf("funnel %s: conversion from captured %v on the page, %v from the API", r.Label, f, r.FromCaptured)
			}
		}
		if captured := count(t, page[0].Cells[1]); captured != 90 {
			t.Errorf("captured %d, want the 90 seeded", captured)
		}
		// The window is the server's default, shown in the date fields.
		if from := eval[string](b, `document.querySelector('input[name=from]').value`); from != api.From {
			t.Errorf("the From field shows %q, the report's window starts %s", from, api.From)
		}
		// Velocity, SLA per SLA and the breakdown by the first enum field.
		b.wait("velocity", `document.querySelectorAll('#velocity-table tbody th').length > 0`, 10*time.Second)
		var sla struct {
			Rows []struct {
				Group, SLA, Stage     string
				Met, Warned, Breached int
			}
		}
		s.get("/v1/reports/sla?workflow=dash", &sla)
		met := 0
		for _, r := range sla.Rows {
			if r.Group == "all" && r.SLA == "first_touch" {
				met += r.Met
			}
		}
		slaRows := rows(b, "sla-table")
		found := false
		for _, r := range slaRows {
			if len(r.Cells) == 7 && r.Cells[0] == "first_touch" {
				found = true
				if count(t, r.Cells[2]) != met {
					t.Errorf("first_touch met: page %s, API %d", r.Cells[2], met)
				}
			}
		}
		if met > 0 && !found {
			t.Errorf("the SLA table has no first_touch row: %v", slaRows)
		}
		if by := eval[string](b, `document.querySelector('select[name=by]').value`); by != "region" {
			t.Errorf("breakdown by %q, want region (the first enum field)", by)
		}
		var byRegion struct {
			Rows []struct {
				Group, Label string
				Leads        int
			}
		}
		s.get("/v1/reports/funnel?workflow=dash&by=region", &byRegion)
		capturedBy := map[string]int{}
		for _, r := range byRegion.Rows {
			if r.Label == "captured" {
				capturedBy[r.Group] = r.Leads
			}
		}
		b.wait("the breakdown", `document.querySelectorAll('#breakdown-table tbody th').length > 0`, 10*time.Second)
		for _, r := range rows(b, "breakdown-table") {
			if n := count(t, r.Cells[1]); n != capturedBy[r.Key] {
				t.Errorf("region %s: %d captured on the page, %d from the API", r.Key, n, capturedBy[r.Key])
			}
			delete(capturedBy, r.Key)
		}
		if len(capturedBy) > 0 {
			t.Errorf("regions missing from the breakdown: %v", capturedBy)
		}
		b.screenshot("executive-1280x800")
	})

	t.Run("practitioner", func(t *testing.T) {
		b.t = t
		b.open(home+"#/practitioner?workflow=dash", "the practitioner lists",
			`document.querySelector('#stuck-table tbody tr') && document.querySelector('#at-risk-table tbody tr') && document.querySelector('#leads-table tbody tr')`)
		checkLists(t, b, s, "workflow=dash")
		b.screenshot("practitioner-1280x800")
		// One owner's lists.
		b.do("choose ana", chromedp.SetValue(chromedp.CSS("select[name=owner]"), "ana@acme.example"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name=owner]').dispatchEvent(new Event('change'))`))
		b.wait("ana's leads", `location.hash.includes('owner=ana%40acme.example') && document.querySelector('#leads h2').textContent.includes('ana@')`, 10*time.Second)
		checkLists(t, b, s, "workflow=dash&owner=ana%40acme.example")
	})

	t.Run("override", func(t *testing.T) {
		b.t = t
		b.open(home+"#/practitioner?workflow=dash", "the stuck list", `document.querySelector('#stuck-table tbody tr button.act')`)
		stuck := s.leads("workflow=dash&stuck=true&sort=age")
		if len(stuck.Leads) == 0 {
			t.Fatal("the seed made no stuck lead")
		}
		id := stuck.Leads[0].ID
		before := history(t, s, id)
		b.do("act on "+id, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#stuck-table tr[data-key=%q] button.act`, id))))
		b.wait("the lead dialog", `document.getElementById('lead-dialog').open && document.querySelector('#override-stage option[value="working"]')`, 10*time.Second)
		// No reason: refused on the page, nothing sent.
		b.do("no reason",
			chromedp.SetValue(chromedp.ID("override-stage"), "working"),
			chromedp.Click(chromedp.CSS("#override-form button[type=submit]")))
		b.wait("the missing reason", `!document.getElementById('override-error').hidden && document.getElementById('override-error').textContent.includes('Reason')`, 5*time.Second)
		if got := eval[string](b, `document.getElementById('override-reason').getAttribute('aria-invalid')`); got != "true" {
			t.Errorf("the reason field is not marked invalid (%q)", got)
		}
		if after := history(t, s, id); len(after) != len(before) {
			t.Fatalf("a refused form changed the lead's history: %d steps, then %d", len(before), len(after))
		}
		// A stage the workflow does not have: the API's 422 is shown next
		// to the form, naming the field.
		b.do("a stage that does not exist",
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('override-stage'); s.append(new Option('nowhere', 'nowhere')); s.value = 'nowhere'; })()`),
			chromedp.SendKeys(chromedp.ID("override-reason"), "checked by hand in the browser test"),
			chromedp.Click(chromedp.CSS("#override-form button[type=submit]")))
		b.wait("the API's refusal", `document.getElementById('override-error').textContent.includes('The server refused') && document.getElementById('override-error').textContent.includes('nowhere')`, 10*time.Second)
		b.do("the real override",
			chromedp.SetValue(chromedp.ID("override-stage"), "working"),
			chromedp.SendKeys(chromedp.ID("override-actor"), "browser-test"),
			chromedp.Click(chromedp.CSS("#override-form button[type=submit]")))
		b.wait("the dialog to close", `!document.getElementById('lead-dialog').open`, 10*time.Second)
		after := history(t, s, id)
		last := after[len(after)-1]
		ov, _ := last["override"].(map[string]any)
		if last["cause"] != "override" || last["to"] != "working" || ov["reason"] != "checked by hand in the browser test" || ov["actor"] != "browser-test" {
			t.Errorf("the lead's last step is not the override: %v", last)
		}
		var l lead
		s.get("/v1/leads/"+id, &l)
		if l.Stage != "working" || l.Stuck != nil {
			t.Errorf("after the override: stage %s, stuck %v", l.Stage, l.Stuck)
		}
		b.wait("the lead to leave the stuck list", fmt.Sprintf(`!document.querySelector('#stuck-table tr[data-key=%q]')`, id), 10*time.Second)
		if msg := eval[string](b, `document.getElementById('announcer').textContent`); !strings.Contains(msg, id) {
			t.Errorf("the announcement %q does not name the lead", msg)
		}
	})

	t.Run("reassign", func(t *testing.T) {
		b.t = t
		mine := s.leads("workflow=dash&owner=ana%40acme.example&stage=working&sort=age")
		if len(mine.Leads) == 0 {
			t.Fatal("ana has no lead in working")
		}
		id := mine.Leads[0].ID
		b.open(home+"#/practitioner?workflow=dash&owner=ana%40acme.example", "ana's leads", fmt.Sprintf(`document.querySelector('#leads-table tr[data-key=%q] button.act')`, id))
		b.do("act on "+id, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#leads-table tr[data-key=%q] button.act`, id))))
		b.wait("the owners", `document.getElementById('lead-dialog').open && document.querySelector('#assign-owner option[value="ben@acme.example"]')`, 10*time.Second)
		if !eval[bool](b, `document.querySelector('#assign-owner option[value="ana@acme.example"]').disabled`) {
			t.Error("the current owner is offered as the new owner")
		}
		b.do("reassign",
			chromedp.SetValue(chromedp.ID("assign-owner"), "ben@acme.example"),
			chromedp.SendKeys(chromedp.ID("assign-reason"), "ana is on leave"),
			chromedp.Click(chromedp.CSS("#assign-form button[type=submit]")))
		b.wait("the dialog to close", `!document.getElementById('lead-dialog').open`, 10*time.Second)
		var l lead
		s.get("/v1/leads/"+id, &l)
		if l.Owner != "ben@acme.example" {
			t.Errorf("owner %q after the reassignment, want ben@acme.example", l.Owner)
		}
		h := history(t, s, id)
		last := h[len(h)-1]
		as, _ := last["assign"].(map[string]any)
		if last["cause"] != "assign" || as["reason"] != "ana is on leave" || as["previous"] != "ana@acme.example" {
			t.Errorf("the last step is not the assignment: %v", last)
		}
		b.wait("the lead to leave ana's list", fmt.Sprintf(`!document.querySelector('#leads-table tr[data-key=%q]')`, id), 10*time.Second)
	})

	t.Run("workflow", func(t *testing.T) {
		b.t = t
		b.open(home+"#/workflow/dash", "the graph", `document.querySelector('svg.graph g.node[data-stage="inbox"] text.count') && !document.querySelector('svg.graph text.count').textContent.includes('…')`)
		if n := eval[int](b, `document.querySelectorAll('svg.graph g.node').length`); n != 6 {
			t.Errorf("%d stages drawn, want 6", n)
		}
		if n := eval[int](b, `document.querySelectorAll('svg.graph path.edge').length`); n < 8 {
			t.Errorf("%d transitions drawn", n)
		}
		checkCounts(t, b, s)
		b.screenshot("workflow-1280x800")
		// Live: a new lead shows in inbox's count within a refresh,
		// without moving focus or the page.
		b.do("focus the workflow selector", chromedp.Focus(chromedp.CSS("select[name=workflow]")))
		before := count(t, eval[string](b, `document.querySelector('g.node[data-stage="inbox"] text.count').textContent.split('now')[0]`))
		if err := s.must("POST", "/v1/workflows/dash/leads", map[string]any{"id": "live-1", "fields": map[string]any{"email": "live@x.example"}}, 201); err != nil {
			t.Fatal(err)
		}
		// The page polls every 5 s (longer only when the server is slow to
		// answer): the count changes within a poll and some slack.
		b.wait("the new count", fmt.Sprintf(`document.querySelector('g.node[data-stage="inbox"] text.count').textContent.startsWith('%d now')`, before+1), 12*time.Second)
		if got := eval[string](b, `document.activeElement.name`); got != "workflow" {
			t.Errorf("the update moved focus to %q", got)
		}
		if msg := eval[string](b, `document.getElementById('announcer').textContent`); !strings.Contains(msg, "inbox") {
			t.Errorf("the change was not announced: %q", msg)
		}
	})

	t.Run("phone", func(t *testing.T) {
		b.t = t
		b.viewport(390, 844, true)
		defer b.viewport(1280, 800, false)
		for _, v := range []struct{ name, url, ready string }{
			{"executive", home + "#/executive?workflow=dash", `document.querySelector('#funnel-table tbody tr[data-key="captured"]') && document.querySelector('#funnel .chart-box svg')`},
			{"practitioner", home + "#/practitioner?workflow=dash", `document.querySelector('#stuck-table tbody tr button.act')`},
			{"workflow", home + "#/workflow/dash", `document.querySelector('svg.graph g.node')`},
		} {
			b.open(v.url, v.name, v.ready)
			// Against the screen's 390px, not innerWidth: a mobile browser
			// widens its layout viewport to fit content that overflows.
			w := eval[[]int](b, `[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]`)
			if w[0] > 390 || w[1] > 390 || w[2] > 390 {
				t.Errorf("%s at 390×844 scrolls sideways: page %dpx wide, body %dpx, layout viewport %dpx", v.name, w[0], w[1], w[2])
			}
			b.screenshot(v.name + "-390x844")
		}
	})

	t.Run("token kept", func(t *testing.T) {
		b.t = t
		// A reload and every view: no new prompt.
		b.do("reload", chromedp.Reload())
		b.wait("the workflow view", `document.querySelector('svg.graph g.node')`, 20*time.Second)
		b.open(home+"#/executive", "all workflows", `document.querySelector('#funnel-table tbody tr')`)
		if n := eval[string](b, `sessionStorage.getItem('prompts')`); n != "1" {
			t.Errorf("the token was asked for %s times, want once", n)
		}
		// A token the server refuses (changed, or mistyped) is asked again.
		b.do("spoil the kept token", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('lead.token', 'stale')`), chromedp.Reload())
		b.wait("the prompt", `document.getElementById('token-dialog').open && document.getElementById('token-error').textContent.includes('refused')`, 15*time.Second)
		b.do("give it", chromedp.SendKeys(chromedp.ID("token-input"), token), chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
		b.wait("the funnel", `!document.getElementById('token-dialog').open && document.querySelector('#funnel-table tbody tr')`, 20*time.Second)
		// Forget token: asked at once.
		b.do("forget", chromedp.Click(chromedp.ID("forget-token")))
		b.wait("the prompt", `document.getElementById('token-dialog').open`, 5*time.Second)
		if kept := eval[bool](b, `localStorage.getItem('lead.token') === null`); !kept {
			t.Error("the token is still kept after “Forget token”")
		}
		b.do("give it", chromedp.SendKeys(chromedp.ID("token-input"), token), chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
		b.wait("the funnel", `!document.getElementById('token-dialog').open && document.querySelector('#funnel-table tbody tr')`, 20*time.Second)
		if n := eval[string](b, `sessionStorage.getItem('prompts')`); n != "3" {
			t.Errorf("%s prompts, want 3 (the first, the refused token, after forgetting)", n)
		}
	})

	t.Run("accessible names", func(t *testing.T) {
		b.t = t
		for _, v := range []struct{ url, ready string }{
			{home + "#/executive?workflow=dash", `document.querySelector('#breakdown-table tbody th')`},
			{home + "#/practitioner?workflow=dash", `document.querySelector('#stuck-table tbody tr button.act')`},
			{home + "#/workflow/dash", `document.querySelector('svg.graph g.node')`},
		} {
			b.open(v.url, v.url, v.ready)
			checkNames(t, b, v.url)
		}
		// The lead dialog's forms too.
		b.open(home+"#/practitioner?workflow=dash", "the stuck list", `document.querySelector('#stuck-table tbody tr button.act')`)
		b.do("open a lead", chromedp.Click(chromedp.CSS(`#stuck-table tbody tr button.act`)))
		b.wait("the dialog", `document.getElementById('lead-dialog').open && document.querySelector('#assign-owner optgroup')`, 10*time.Second)
		checkNames(t, b, "the lead dialog")
		b.do("close", chromedp.Click(chromedp.ID("lead-close")))
		b.wait("the dialog to close", `!document.getElementById('lead-dialog').open && document.activeElement.classList.contains('act')`, 5*time.Second)
	})

	t.Run("keyboard", func(t *testing.T) {
		b.t = t
		// The navigation works from the keyboard and moves focus to the
		// view's heading.
		b.do("focus the link", chromedp.Focus(chromedp.CSS(`nav a[data-view="workflow"]`)), chromedp.KeyEvent("\r"))
		b.wait("the workflow view", `location.hash.startsWith('#/workflow') && document.activeElement.id === 'title'`, 10*time.Second)
		if cur := eval[string](b, `document.querySelector('nav a[aria-current="page"]').dataset.view`); cur != "workflow" {
			t.Errorf("aria-current on %q", cur)
		}
	})
}

// checkLists compares the practitioner's three lists with the API's
// answers to the same questions. They agree within a refresh.
func checkLists(t *testing.T, b *browser, s *server, filter string) {
	t.Helper()
	for _, l := range []struct{ table, query string }{
		{"at-risk-table", "sort=deadline&limit=25"},
		{"stuck-table", "stuck=true&sort=age&limit=100"},
		{"leads-table", "sort=age&limit=25"},
	} {
		eventually(t, 12*time.Second, func() string {
			api := s.leads(filter + "&" + l.query)
			var want []string
			for _, x := range api.Leads {
				want = append(want, x.ID)
			}
			var got []string
			for _, r := range rows(b, l.table) {
				if r.Key != "\x00empty" {
					got = append(got, r.Key)
				}
			}
			if !slices.Equal(got, want) {
				return fmt.Sprintf("%s (%s): the page lists %v, the API %v", l.table, filter, got, want)
			}
			return ""
		})
	}
	// The at-risk list shows each lead's nearest open SLA and its state.
	api := s.leads(filter + "&sort=deadline&limit=25")
	page := rows(b, "at-risk-table")
	for i, l := range api.Leads {
		if i >= len(page) {
			break
		}
		var sla string
		var best time.Time
		for _, x := range l.SLAs {
			if (x.State == "running" || x.State == "warned") && (best.IsZero() || x.Deadline.Before(best)) {
				sla, best = x.Name, x.Deadline
			}
		}
		if page[i].Cells[1] != sla {
			t.Errorf("at risk, lead %s: SLA %q on the page, %q nearest in the API", l.ID, page[i].Cells[1], sla)
		}
	}
}

// checkCounts compares the graph's counts with the API: the aging
// report for the stages that are not terminal, the lists' totals for the
// terminal ones.
func checkCounts(t *testing.T, b *browser, s *server) {
	t.Helper()
	eventually(t, 12*time.Second, func() string {
		var aging struct {
			Rows []struct {
				Group, Stage string
				Leads        int
			}
		}
		s.get("/v1/reports/aging?workflow=dash", &aging)
		want := map[string]int{"inbox": 0, "review": 0, "callback": 0, "working": 0}
		for _, r := range aging.Rows {
			if r.Group == "all" {
				want[r.Stage] = r.Leads
			}
		}
		for _, st := range []string{"won", "lost"} {
			want[st] = *s.leads("workflow=dash&limit=1&stage=" + url.QueryEscape(st)).Total
		}
		got := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('svg.graph g.node')].map(g => [g.dataset.stage, g.querySelector('text.count').textContent]))`)
		table := map[string]string{}
		for _, r := range rows(b, "stage-table") {
			table[r.Key] = r.Cells[2]
		}
		for st, n := range want {
			if c := count(t, strings.Split(got[st], "now")[0]); c != n {
				return fmt.Sprintf("stage %s: the graph shows %q, the API counts %d", st, got[st], n)
			}
			if c := count(t, table[st]); c != n {
				return fmt.Sprintf("stage %s: the table shows %q, the API counts %d", st, table[st], n)
			}
		}
		return ""
	})
}

// history returns a lead's history steps.
func history(t *testing.T, s *server, id string) []map[string]any {
	t.Helper()
	var h struct{ Steps []map[string]any }
	s.get("/v1/leads/"+id+"/history", &h)
	return h.Steps
}

// TestNoToken: a server without a token shows the dashboards without
// asking for one, and offers no "Forget token".
func TestNoToken(t *testing.T) {
	needBrowser(t)
	s := startServer(t, "", "")
	seed(t, s, 7, "n", 10, 4)
	b := newBrowser(t, 1280, 800)
	b.open(s.base+"/#/executive?workflow=dash", "the funnel", `document.querySelector('#funnel-table tbody tr[data-key="captured"]')`)
	if n := eval[string](b, `String(sessionStorage.getItem('prompts'))`); n != "null" {
		t.Errorf("the token was asked for (%s prompts) by a server that needs none", n)
	}
	if !eval[bool](b, `document.getElementById('forget-token').hidden`) {
		t.Error("“Forget token” is offered by a server without a token")
	}
	var rep json.RawMessage
	s.get("/v1/reports/funnel?workflow=dash", &rep)
	if !strings.Contains(string(rep), `"leads":10`) {
		t.Errorf("funnel: %s", rep)
	}
	if got := count(t, eval[string](b, `document.querySelector('#funnel-table tr[data-key="captured"] td').textContent`)); got != 10 {
		t.Errorf("captured %d on the page, want 10", got)
	}
}

// TestExamples: the workflow view draws every example workflow (what
// `make run` serves) without an error, every stage once and no two boxes
// on top of each other; screenshots of each.
func TestExamples(t *testing.T) {
	needBrowser(t)
	s := startServerOn(t, token, "", filepath.Join("..", "..", "..", "examples"))
	var wfs struct {
		Workflows []struct {
			Name   string `json:"name"`
			Active string `json:"active_version"`
		}
	}
	s.get("/v1/workflows", &wfs)
	if len(wfs.Workflows) < 3 {
		t.Fatalf("the examples serve %d workflows", len(wfs.Workflows))
	}
	b := newBrowser(t, 1280, 800)
	b.do("keep the token", chromedp.Navigate(s.base+"/ui/none"), chromedp.Evaluate[chromedp.Void](`localStorage.setItem('lead.token', '`+token+`')`))
	for _, w := range wfs.Workflows {
		var g struct{ Stages []struct{ Name string } }
		s.get("/v1/workflows/"+w.Name+"/versions/"+w.Active, &g)
		b.open(s.base+"/#/workflow/"+w.Name, w.Name, fmt.Sprintf(`document.querySelector('svg.graph[data-workflow=%q] g.node') && !document.querySelector('svg.graph text.count').textContent.includes('…')`, w.Name))
		boxes := eval[[][4]float64](b, `[...document.querySelectorAll('svg.graph g.node rect.box')].map(r => { const b = r.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })`)
		if len(boxes) != len(g.Stages) {
			t.Errorf("%s: %d boxes for %d stages", w.Name, len(boxes), len(g.Stages))
		}
		for i := range boxes {
			for j := range i {
				a, c := boxes[i], boxes[j]
				if a[0] < c[2] && c[0] < a[2] && a[1] < c[3] && c[1] < a[3] {
					t.Errorf("%s: two stages' boxes overlap: %v and %v", w.Name, a, c)
				}
			}
		}
		b.screenshot("workflow-" + w.Name + "-1280x800")
	}
}

// checkNames fails for every control, image, table, dialog or region in
// the page's accessibility tree (as Chromium computes it for screen
// readers) that has no name.
func checkNames(t *testing.T, b *browser, where string) {
	t.Helper()
	tree, err := chromedp.Call(b.ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	named := []string{"button", "link", "combobox", "textbox", "searchbox", "checkbox", "radio", "spinbutton", "slider", "image", "img", "table", "dialog", "region", "navigation", "option", "Date", "date", "InputTime"}
	checked := 0
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		var role, name string
		json.Unmarshal(n.Role.Value, &role)
		if n.Name != nil {
			json.Unmarshal(n.Name.Value, &name)
		}
		if !slices.Contains(named, role) {
			continue
		}
		checked++
		if strings.TrimSpace(name) == "" {
			t.Errorf("%s: a %s without an accessible name (DOM node %d)", where, role, n.BackendDOMNodeID)
		}
	}
	if checked < 5 {
		t.Errorf("%s: only %d named nodes checked", where, checked)
	}
}
