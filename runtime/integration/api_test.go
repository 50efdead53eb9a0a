package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// contractServer serves deals.lead and quick.lead from a fresh directory.
func contractServer(t *testing.T, args ...string) *server {
	dir := t.TempDir()
	copyTestdata(t, dir, "deals.lead", "quick.lead")
	return newServer(t, serverOpts{paths: []string{dir}, args: args})
}

// leadKeys are the keys of a lead (docs/api/openapi.json).
var leadKeys = []string{"created_at", "entered_at", "fields", "id", "lifecycle", "owner", "slas", "stage", "stuck", "version", "workflow"}

// checkLead checks the shape of a lead answer: every key, RFC 3339 times,
// stuck null or {kind, reason, at}, slas [{name, deadline, state}].
func checkLead(t *testing.T, v map[string]any) {
	t.Helper()
	var keys []string
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, leadKeys) {
		t.Errorf("lead keys = %v, want %v", keys, leadKeys)
	}
	for _, k := range []string{"id", "workflow", "version", "stage", "lifecycle", "owner"} {
		if _, ok := v[k].(string); !ok {
			t.Errorf("lead.%s = %#v, want a string", k, v[k])
		}
	}
	for _, k := range []string{"created_at", "entered_at"} {
		checkTime(t, "lead."+k, v[k])
	}
	if _, ok := v["fields"].(map[string]any); !ok {
		t.Errorf("lead.fields = %#v, want an object", v["fields"])
	}
	switch s := v["stuck"].(type) {
	case nil:
	case map[string]any:
		if _, ok := s["kind"].(string); !ok {
			t.Errorf("lead.stuck.kind = %#v", s["kind"])
		}
		if _, ok := s["reason"].(string); !ok {
			t.Errorf("lead.stuck.reason = %#v", s["reason"])
		}
		checkTime(t, "lead.stuck.at", s["at"])
	default:
		t.Errorf("lead.stuck = %#v, want null or an object", v["stuck"])
	}
	slas, ok := v["slas"].([]any)
	if !ok {
		t.Errorf("lead.slas = %#v, want a list", v["slas"])
	}
	for _, x := range slas {
		sla, _ := x.(map[string]any)
		if _, ok := sla["name"].(string); !ok {
			t.Errorf("sla.name = %#v", sla["name"])
		}
		if _, ok := sla["state"].(string); !ok {
			t.Errorf("sla.state = %#v", sla["state"])
		}
		checkTime(t, "sla.deadline", sla["deadline"])
	}
}

func checkTime(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Errorf("%s = %#v, want an RFC 3339 time", what, v)
		return time.Time{}
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%s = %q: %v", what, s, err)
	}
	return ts
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

// checkError checks an error answer: status, code, a message, and details
// naming exactly the fields given (in any order).
func checkError(t *testing.T, r response, status int, code string, fields ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d: %s", r.status, status, r.body)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("error body: %v: %s", err, r.body)
		return
	}
	var raw map[string]map[string]any
	json.Unmarshal(r.body, &raw)
	if _, ok := raw["error"]["details"].([]any); !ok {
		t.Errorf("error.details is not a list: %s", r.body)
	}
	if e.Error.Code != code {
		t.Errorf("error.code = %q, want %q: %s", e.Error.Code, code, r.body)
	}
	if strings.TrimSpace(e.Error.Message) == "" {
		t.Errorf("error.message is empty: %s", r.body)
	}
	var got []string
	for _, d := range e.Error.Details {
		got = append(got, d.Field)
		if d.Message == "" {
			t.Errorf("detail %s has no message: %s", d.Field, r.body)
		}
	}
	sort.Strings(got)
	want := append([]string(nil), fields...)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("error.details fields = %v, want %v: %s", got, want, r.body)
	}
}

// TestAPIContract walks every endpoint's success answers on one server.
func TestAPIContract(t *testing.T) {
	t.Parallel()
	s := contractServer(t)

	// A quick lead early, so that its 1s SLA breaches and its 2s timer
	// fires while the rest runs; /metrics is checked at the end.
	s.capture("quick", "q1", map[string]any{"email": "q@x.example"})

	var first map[string]any
	t.Run("capture", func(t *testing.T) {
		r := s.expect(http.StatusCreated, "POST", "/v1/workflows/deals/leads",
			map[string]any{"id": "c1", "fields": map[string]any{"email": "c1@x.example", "segment": "enterprise", "tags": []string{"a"}}})
		first = r.json(t)
		checkLead(t, first)
		if first["id"] != "c1" || first["workflow"] != "deals" || first["stage"] != "inbox" {
			t.Errorf("lead = %s", r.body)
		}
		if first["owner"] != "ana@acme.example" {
			t.Errorf("owner = %v, want the team's first member", first["owner"])
		}
		want := map[string]any{"email": "c1@x.example", "company": "", "segment": "enterprise", "engagement": 0.0,
			"ratio": 0.0, "tags": []any{"a"}, "note": ""}
		if !reflect.DeepEqual(first["fields"], want) {
			t.Errorf("fields = %v, want %v (defaults filled in, optional hint absent)", first["fields"], want)
		}
		slas := first["slas"].([]any)
		if len(slas) != 1 || slas[0].(map[string]any)["name"] != "touch" || slas[0].(map[string]any)["state"] != "running" {
			t.Errorf("slas = %v", slas)
		}
		if first["stuck"] != nil {
			t.Errorf("stuck = %v", first["stuck"])
		}
		if v := first["version"].(string); v != s.workflow("deals").Active {
			t.Errorf("version %s, active %s", v, s.workflow("deals").Active)
		}
	})

	t.Run("capture existing id", func(t *testing.T) {
		before := s.expect(http.StatusOK, "GET", "/v1/leads/c1", nil)
		r := s.expect(http.StatusOK, "POST", "/v1/workflows/deals/leads",
			map[string]any{"id": "c1", "fields": map[string]any{"email": "other@x.example"}})
		if string(r.body) != string(before.body) {
			t.Errorf("capture of an existing id = %s, want the lead unchanged %s", r.body, before.body)
		}
		after := s.expect(http.StatusOK, "GET", "/v1/leads/c1", nil)
		if string(after.body) != string(before.body) {
			t.Errorf("the lead changed: %s -> %s", before.body, after.body)
		}
		if n := len(s.history("c1")); n != 1 {
			t.Errorf("history has %d steps after a repeated capture, want 1", n)
		}
	})

	t.Run("capture generated id", func(t *testing.T) {
		v := s.expect(http.StatusCreated, "POST", "/v1/workflows/deals/leads",
			map[string]any{"fields": map[string]any{"email": "gen@x.example"}}).json(t)
		checkLead(t, v)
		id, _ := v["id"].(string)
		if !strings.HasPrefix(id, "ld_") {
			t.Errorf("generated id %q", id)
		}
		s.expect(http.StatusOK, "GET", "/v1/leads/"+id, nil)
	})

	t.Run("conflict", func(t *testing.T) {
		s.capture("quick", "taken", map[string]any{"email": "t@x.example"})
		r := s.must("POST", "/v1/workflows/deals/leads", map[string]any{"id": "taken", "fields": map[string]any{"email": "t@x.example"}})
		checkError(t, r, http.StatusConflict, "conflict")
	})

	t.Run("get", func(t *testing.T) {
		v := s.expect(http.StatusOK, "GET", "/v1/leads/c1", nil).json(t)
		checkLead(t, v)
		if !reflect.DeepEqual(v, first) {
			t.Errorf("GET = %v, want the captured lead %v", v, first)
		}
	})

	t.Run("not found", func(t *testing.T) {
		checkError(t, s.must("GET", "/v1/leads/nobody", nil), http.StatusNotFound, "not_found")
		checkError(t, s.must("GET", "/v1/leads/nobody/history", nil), http.StatusNotFound, "not_found")
		checkError(t, s.must("POST", "/v1/leads/nobody/events", `{"type":"accepted"}`), http.StatusNotFound, "not_found")
		checkError(t, s.must("PATCH", "/v1/leads/nobody", `{"fields":{"note":"x"}}`), http.StatusNotFound, "not_found")
		checkError(t, s.must("POST", "/v1/leads/nobody/override", `{"stage":"lost","reason":"x"}`), http.StatusNotFound, "not_found")
		checkError(t, s.must("POST", "/v1/workflows/nope/leads", `{"fields":{}}`), http.StatusNotFound, "not_found")
		checkError(t, s.must("GET", "/v1/nothing", nil), http.StatusNotFound, "not_found")
		checkError(t, s.must("GET", "/index.html", nil), http.StatusNotFound, "not_found")
		// GET / is the dashboards' page (runtime/web), not an endpoint.
		if r := s.must("GET", "/", nil); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET / = %d %s, want the dashboards' page", r.status, r.header.Get("Content-Type"))
		}
		checkError(t, s.must("POST", "/v1/leads", `{}`), http.StatusNotFound, "not_found")
	})

	t.Run("event", func(t *testing.T) {
		v := s.send("c1", "ping", "e-1", map[string]any{"n": 5})
		checkLead(t, v)
		if v["fields"].(map[string]any)["engagement"] != 5.0 {
			t.Errorf("engagement = %v, want 5", v["fields"].(map[string]any)["engagement"])
		}
		h := s.history("c1")
		last := h[len(h)-1]
		if last["cause"] != "event" || last["event"] != "ping" || last["event_id"] != "e-1" || last["seq"] != 2.0 {
			t.Errorf("history step = %v", last)
		}
		checkTime(t, "step.at", last["at"])
		// A repeated id: the original answer, applied once.
		again := s.expect(http.StatusOK, "POST", "/v1/leads/c1/events", map[string]any{"type": "ping", "id": "e-1", "data": map[string]any{"n": 5}})
		if !reflect.DeepEqual(again.json(t), v) {
			t.Errorf("repeated event id answered %s, want the original %v", again.body, v)
		}
		// Even with another payload: the id decides.
		again = s.expect(http.StatusOK, "POST", "/v1/leads/c1/events", map[string]any{"type": "ping", "id": "e-1", "data": map[string]any{"n": 7}})
		if !reflect.DeepEqual(again.json(t), v) {
			t.Errorf("repeated event id with another payload answered %s, want the original", again.body)
		}
		if n := len(s.history("c1")); n != 2 {
			t.Errorf("history has %d steps, want 2", n)
		}
		// A rejected event.
		checkError(t, s.must("POST", "/v1/leads/c1/events", map[string]any{"type": "ping"}), http.StatusUnprocessableEntity, "invalid", "data.n")
		// Without an id, every send applies.
		s.send("c1", "ping", "", map[string]any{"n": 1})
		v = s.send("c1", "ping", "", map[string]any{"n": 1})
		if v["fields"].(map[string]any)["engagement"] != 7.0 {
			t.Errorf("engagement = %v, want 7", v["fields"].(map[string]any)["engagement"])
		}
	})

	t.Run("patch runs updated", func(t *testing.T) {
		r := s.expect(http.StatusOK, "PATCH", "/v1/leads/c1", map[string]any{"fields": map[string]any{"company": "Acme", "hint": "h"}})
		v := r.json(t)
		checkLead(t, v)
		f := v["fields"].(map[string]any)
		if f["company"] != "Acme" || f["hint"] != "h" || f["note"] != "updated" {
			t.Errorf("fields after PATCH = %v, want company, hint and note (set by `on updated`)", f)
		}
		h := s.history("c1")
		last := h[len(h)-1]
		if last["cause"] != "update" || last["event"] != "updated" {
			t.Errorf("PATCH step = %v, want cause update, event updated", last)
		}
	})

	t.Run("stuck and override", func(t *testing.T) {
		s.capture("deals", "st1", map[string]any{"email": "st1@x.example"})
		v := s.send("st1", "poke", "", nil) // reads the absent lead.hint: eval_error, no handler
		checkLead(t, v)
		stuck, ok := v["stuck"].(map[string]any)
		if !ok || stuck["kind"] != "eval_error" {
			t.Fatalf("stuck = %v, want an eval_error", v["stuck"])
		}
		page := s.expect(http.StatusOK, "GET", "/v1/leads?stuck=true", nil).json(t)
		if ids := pageIDs(page); !slices.Contains(ids, "st1") || slices.Contains(ids, "c1") {
			t.Errorf("stuck leads = %v, want st1 and not c1", ids)
		}
		v = s.expect(http.StatusOK, "POST", "/v1/leads/st1/override",
			map[string]any{"stage": "working", "reason": "checked by hand", "actor": "ops@acme.example"}).json(t)
		checkLead(t, v)
		if v["stage"] != "working" || v["stuck"] != nil {
			t.Errorf("after override: stage %v, stuck %v", v["stage"], v["stuck"])
		}
		h := s.history("st1")
		last := h[len(h)-1]
		if last["cause"] != "override" || last["from"] != "inbox" || last["to"] != "working" {
			t.Errorf("override step = %v", last)
		}
		ov, _ := last["override"].(map[string]any)
		if ov["stage"] != "working" || ov["reason"] != "checked by hand" || ov["actor"] != "ops@acme.example" {
			t.Errorf("override record = %v", last["override"])
		}
		excs, _ := last["exceptions"].([]any)
		found := false
		for _, x := range excs {
			if x.(map[string]any)["kind"] == "override" {
				found = true
			}
		}
		if !found {
			t.Errorf("override not recorded as an exception: %v", last)
		}
	})

	t.Run("history", func(t *testing.T) {
		r := s.expect(http.StatusOK, "GET", "/v1/leads/c1/history", nil).json(t)
		if r["lead"] != "c1" {
			t.Errorf("history.lead = %v", r["lead"])
		}
		steps := r["steps"].([]any)
		for i, x := range steps {
			st := x.(map[string]any)
			if st["seq"] != float64(i+1) {
				t.Errorf("step %d has seq %v", i, st["seq"])
			}
			for _, k := range []string{"seq", "at", "cause", "from", "to", "owner", "version"} {
				if _, ok := st[k]; !ok {
					t.Errorf("step %d has no %s: %v", i, k, st)
				}
			}
		}
		if steps[0].(map[string]any)["cause"] != "capture" {
			t.Errorf("first step = %v", steps[0])
		}
		// Paging: after and limit.
		p := s.expect(http.StatusOK, "GET", "/v1/leads/c1/history?after=1&limit=2", nil).json(t)
		ps := p["steps"].([]any)
		if len(ps) != 2 || ps[0].(map[string]any)["seq"] != 2.0 || ps[1].(map[string]any)["seq"] != 3.0 {
			t.Errorf("history?after=1&limit=2 = %v", ps)
		}
	})

	t.Run("list filters and paging", func(t *testing.T) {
		for i := range 7 {
			s.capture("deals", fmt.Sprintf("p%d", i), map[string]any{"email": fmt.Sprintf("p%d@x.example", i)})
		}
		s.send("p0", "accepted", "", nil)
		s.send("p1", "rejected", "", map[string]any{"reason": "no_fit"})

		all := listAll(t, s, url.Values{"workflow": {"deals"}}, 2)
		for _, id := range []string{"c1", "st1", "p0", "p1", "p2", "p3", "p4", "p5", "p6"} {
			if !slices.Contains(all, id) {
				t.Errorf("workflow=deals is missing %s: %v", id, all)
			}
		}
		if slices.Contains(all, "q1") || slices.Contains(all, "taken") {
			t.Errorf("workflow=deals lists quick leads: %v", all)
		}
		if got := listAll(t, s, url.Values{"workflow": {"deals"}, "stage": {"lost"}}, 0); !reflect.DeepEqual(got, []string{"p1"}) {
			t.Errorf("stage=lost = %v, want [p1]", got)
		}
		if got := listAll(t, s, url.Values{"stage": {"working"}, "workflow": {"deals"}}, 0); !reflect.DeepEqual(got, []string{"p0", "st1"}) {
			t.Errorf("stage=working = %v, want [p0 st1]", got)
		}
		ana := listAll(t, s, url.Values{"owner": {"ana@acme.example"}}, 3)
		ben := listAll(t, s, url.Values{"owner": {"ben@acme.example"}}, 3)
		if len(ana) == 0 || len(ben) == 0 {
			t.Errorf("owner filters: ana %v, ben %v", ana, ben)
		}
		for _, id := range ana {
			v := s.expect(http.StatusOK, "GET", "/v1/leads/"+id, nil).json(t)
			if v["owner"] != "ana@acme.example" {
				t.Errorf("owner=ana lists %s owned by %v", id, v["owner"])
			}
		}
		if got := listAll(t, s, url.Values{"stuck": {"false"}, "workflow": {"quick"}}, 0); !reflect.DeepEqual(got, []string{"q1", "taken"}) {
			t.Errorf("stuck=false&workflow=quick = %v", got)
		}
		// An unknown workflow is named, with the served ones.
		r := s.expect(http.StatusNotFound, "GET", "/v1/leads?workflow=deal", nil)
		if !strings.Contains(string(r.body), `unknown workflow \"deal\" (did you mean \"deals\"?); the served workflows are deals, quick`) {
			t.Errorf("workflow=deal: %s", r)
		}
		r = s.expect(http.StatusBadRequest, "GET", "/v1/leads?lifecycle=sqll", nil)
		if !strings.Contains(string(r.body), `no stage has the lifecycle \"sqll\" (did you mean \"sql\"?); the lifecycles are lost, mql, sql, won`) {
			t.Errorf("lifecycle=sqll: %s", r)
		}
		r = s.expect(http.StatusBadRequest, "GET", "/v1/leads?workflow=quick&lifecycle=mql", nil)
		if !strings.Contains(string(r.body), `no stage has the lifecycle \"mql\": the workflows declare no lifecycles`) {
			t.Errorf("workflow=quick&lifecycle=mql: %s", r)
		}
		// Every page holds full leads.
		page := s.expect(http.StatusOK, "GET", "/v1/leads?workflow=deals&limit=2", nil).json(t)
		for _, l := range page["leads"].([]any) {
			checkLead(t, l.(map[string]any))
		}
		if page["next_cursor"] == "" {
			t.Errorf("first page of 2 has no next_cursor")
		}
	})

	t.Run("notifications", func(t *testing.T) {
		notes := s.notifications()
		if len(notes) < 3 {
			t.Fatalf("only %d notifications", len(notes))
		}
		seen := map[string]bool{}
		for _, n := range notes {
			id, _ := n["id"].(string)
			if seen[id] || len(strings.Split(id, ":")) != 3 {
				t.Errorf("notification id %q (duplicate or not LEAD:SEQ:N)", id)
			}
			seen[id] = true
			for _, k := range []string{"kind", "to", "message", "stage", "workflow"} {
				if _, ok := n[k].(string); !ok {
					t.Errorf("notification %s has no %s: %v", id, k, n)
				}
			}
			checkTime(t, "notification.at", n["at"])
		}
		if !seen["c1:1:0"] {
			t.Errorf("no notification c1:1:0 for c1's capture: %v", notes)
		}
		// since: the page after a cursor starts right after it.
		r := s.expect(http.StatusOK, "GET", "/v1/notifications?limit=1", nil).json(t)
		next := r["next_cursor"].(string)
		r2 := s.expect(http.StatusOK, "GET", "/v1/notifications?limit=2&since="+next, nil).json(t)
		items := r2["notifications"].([]any)
		if len(items) != 2 || items[0].(map[string]any)["notification"].(map[string]any)["id"] != notes[1]["id"] {
			t.Errorf("since=%s = %v, want notifications 2 and 3", next, items)
		}
		// At the end: an empty page that keeps the cursor.
		end := s.expect(http.StatusOK, "GET", "/v1/notifications?limit=1000", nil).json(t)
		last := end["next_cursor"].(string)
		tail := s.expect(http.StatusOK, "GET", "/v1/notifications?since="+last, nil).json(t)
		if len(tail["notifications"].([]any)) != 0 || tail["next_cursor"] != last {
			t.Errorf("page after the end = %v, want empty with next_cursor %s", tail, last)
		}
	})

	t.Run("workflows", func(t *testing.T) {
		ws := s.workflows()
		if len(ws) != 2 || ws[0].Name != "deals" || ws[1].Name != "quick" {
			t.Fatalf("workflows = %+v", ws)
		}
		for _, w := range ws {
			if w.Active == "" || !w.LastReload.OK || w.LastReload.Version != w.Active {
				t.Errorf("workflow %+v", w)
			}
			for _, d := range w.LastReload.Diagnostics {
				if d.Severity != "warning" || d.Line <= 0 || d.Column <= 0 || d.Code == "" {
					t.Errorf("workflow %s: diagnostic %+v", w.Name, d)
				}
			}
			checkTime(t, "last_reload.at", w.LastReload.At)
			if !strings.HasSuffix(w.File, w.Name+".lead") {
				t.Errorf("workflow %s file %q", w.Name, w.File)
			}
		}
		if n := ws[0].Versions[ws[0].Active]; n < 5 {
			t.Errorf("deals versions = %v, want the in-flight leads counted on %s", ws[0].Versions, ws[0].Active)
		}
		var raw map[string][]map[string]any
		json.Unmarshal(s.expect(http.StatusOK, "GET", "/v1/workflows", nil).body, &raw)
		for _, k := range []string{"name", "active_version", "versions", "last_reload"} {
			if _, ok := raw["workflows"][0][k]; !ok {
				t.Errorf("workflow has no %s: %v", k, raw["workflows"][0])
			}
		}
	})

	t.Run("healthz", func(t *testing.T) {
		r := s.expect(http.StatusOK, "GET", "/healthz", nil)
		if r.json(t)["status"] != "ok" {
			t.Errorf("healthz = %s", r.body)
		}
	})

	t.Run("timer and sla", func(t *testing.T) {
		eventually(t, 15*time.Second, "q1's 2s timer", func() bool {
			v := s.expect(http.StatusOK, "GET", "/v1/leads/q1", nil).json(t)
			return v["stage"] == "done"
		})
		var timer, breach map[string]any
		for _, st := range s.history("q1") {
			if st["cause"] == "timer" && st["to"] == "done" {
				timer = st
			}
			for _, o := range asList(st["slas"]) {
				if o.(map[string]any)["state"] == "breached" {
					breach = st
				}
			}
		}
		if timer == nil || breach == nil {
			t.Fatalf("history of q1 has no timer step or no SLA breach: %v", s.history("q1"))
		}
		if esc := asList(breach["escalations"]); len(esc) != 1 {
			t.Errorf("breach step escalations = %v", breach["escalations"])
		}
	})

	t.Run("metrics", func(t *testing.T) {
		s.send("c1", "accepted", "", nil) // leaves inbox: the touch SLA is met
		body := string(s.expect(http.StatusOK, "GET", "/metrics", nil).body)
		for _, want := range []string{
			`lead_events_total{outcome="applied",workflow="deals"}`,
			`lead_events_total{outcome="duplicate",workflow="deals"}`,
			`lead_events_total{outcome="existing",workflow="deals"}`,
			`lead_events_total{outcome="rejected",workflow="deals"}`,
			`lead_steps_total{cause="capture",workflow="deals"}`,
			`lead_steps_total{cause="event",workflow="deals"}`,
			`lead_steps_total{cause="update",workflow="deals"}`,
			`lead_steps_total{cause="override",workflow="deals"}`,
			`lead_steps_total{cause="timer",workflow="quick"}`,
			`lead_transitions_total{from="inbox",lifecycle="sql",to="working",workflow="deals"}`,
			`lead_lifecycle_reached_total{lifecycle="mql",workflow="deals"}`,
			`lead_sla_total{lifecycle="mql",outcome="met",sla="touch",workflow="deals"}`,
			`lead_sla_total{lifecycle="",outcome="breached",sla="fast",workflow="quick"}`,
			`lead_open_leads{lifecycle="mql",stage="inbox",workflow="deals"}`,
			`lead_exceptions_total{handler="stuck",kind="eval_error",workflow="deals"}`,
			`lead_exceptions_total{handler="override",kind="override",workflow="deals"}`,
			`lead_stuck_leads{workflow="deals"} `,
			`lead_stuck_leads{workflow="quick"} 0`,
			"lead_step_duration_seconds_bucket",
			"lead_commit_batch_steps_bucket",
			"lead_commit_duration_seconds_bucket",
			"lead_timer_lag_seconds_bucket",
			"lead_workflow_activations_total 2",
			"lead_migrations_total",
			"go_goroutines",
			"process_resident_memory_bytes",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics has no %s\n%s", want, grepLines(body, "lead_stuck"))
			}
		}
		if !strings.Contains(body, "# TYPE lead_step_duration_seconds histogram") {
			t.Errorf("lead_step_duration_seconds is not a histogram")
		}
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// pageIDs returns the lead ids of a GET /v1/leads page.
func pageIDs(page map[string]any) []string {
	var ids []string
	for _, l := range asList(page["leads"]) {
		ids = append(ids, l.(map[string]any)["id"].(string))
	}
	return ids
}

// listAll pages through GET /v1/leads with q (limit 0: the default) and
// returns the ids, checking that no id repeats across pages.
func listAll(t *testing.T, s *server, q url.Values, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		if limit > 0 {
			qq.Set("limit", fmt.Sprint(limit))
		}
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		page := s.expect(http.StatusOK, "GET", "/v1/leads?"+qq.Encode(), nil).json(t)
		got := pageIDs(page)
		if limit > 0 && len(got) > limit {
			t.Errorf("page of %d leads with limit %d", len(got), limit)
		}
		for _, id := range got {
			if slices.Contains(ids, id) {
				t.Errorf("lead %s on two pages", id)
			}
		}
		ids = append(ids, got...)
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	sort.Strings(ids)
	return ids
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
