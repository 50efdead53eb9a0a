package integration

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadlang/lead/docs"
)

// TestOperators: assign one lead, then a bulk assign and a bulk override
// over HTTP against the real binary: the dry run changes nothing, each
// lead changes in a step of its own, the same action id changes no lead
// twice, and what survives a restart is what was answered.
func TestOperators(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	for _, id := range []string{"a", "b", "c"} {
		s.capture("deals", id, map[string]any{"email": id + "@x.example"})
	}
	v := s.expect(http.StatusOK, "POST", "/v1/leads/a/assign", map[string]any{"owner": "zoe@acme.example", "reason": "cover", "actor": "ops"}).json(t)
	if v["owner"] != "zoe@acme.example" {
		t.Errorf("assign: %v", v)
	}
	last := s.history("a")[1]
	if last["cause"] != "assign" || last["assign"].(map[string]any)["previous"] != "ana@acme.example" {
		t.Errorf("assign step: %v", last)
	}
	r := s.expect(http.StatusUnprocessableEntity, "POST", "/v1/leads/a/assign", map[string]any{"owner": "zoe@acme.example"})
	if !strings.Contains(string(r.body), `"field":"owner"`) || !strings.Contains(string(r.body), `"field":"reason"`) {
		t.Errorf("a bad assign: %s", r)
	}

	body := map[string]any{"filter": map[string]any{"workflow": "deals", "stage": "inbox"}, "owner": "zoe@acme.example", "reason": "zoe takes the inbox", "id": "b1"}
	var dry struct {
		Matched, Changed, Unchanged int
	}
	r = s.expect(http.StatusOK, "POST", "/v1/bulk/assign?dry_run=true&limit=1", body)
	json.Unmarshal(r.body, &dry)
	if dry.Matched != 1 || dry.Unchanged != 1 {
		t.Errorf("dry run, page 1: %s", r)
	}
	if got := s.expect(http.StatusOK, "GET", "/v1/leads/b", nil).json(t)["owner"]; got != "ben@acme.example" {
		t.Errorf("the dry run changed b: owner %v", got)
	}
	for range 2 { // the second time changes nothing
		cursor := ""
		changed := 0
		for {
			page := s.expect(http.StatusOK, "POST", "/v1/bulk/assign?limit=1&cursor="+cursor, body).json(t)
			changed += int(page["changed"].(float64))
			if cursor = page["next_cursor"].(string); cursor == "" {
				break
			}
		}
		if h := s.history("b"); len(h) != 2 || h[1]["event_id"] != "bulk:b1" {
			t.Errorf("b's history after the bulk assign: %v", h)
		}
		if changed > 2 {
			t.Errorf("changed %d leads", changed)
		}
	}
	s.stop()
	s.restart()
	for _, id := range []string{"a", "b", "c"} {
		if got := s.expect(http.StatusOK, "GET", "/v1/leads/"+id, nil).json(t)["owner"]; got != "zoe@acme.example" {
			t.Errorf("%s after the restart: owner %v", id, got)
		}
	}
	ov := map[string]any{"filter": map[string]any{"owner": "zoe@acme.example", "workflow": "deals"}, "stage": "working", "reason": "batch"}
	res := s.expect(http.StatusOK, "POST", "/v1/bulk/override", ov).json(t)
	if res["changed"] != 3.0 || res["id"] == "" {
		t.Errorf("bulk override: %v", res)
	}
	for _, bad := range []map[string]any{
		{"filter": map[string]any{}, "stage": "working", "reason": "x"},
		{"filter": map[string]any{"workflow": "deals", "nope": 1}, "stage": "working", "reason": "x"},
		{"filter": map[string]any{"workflow": "deals"}, "stage": "moon", "reason": "x"},
	} {
		if r := s.must("POST", "/v1/bulk/override", bad); r.status/100 != 4 {
			t.Errorf("%v: %s", bad, r)
		}
	}
}

// TestServedDocument: GET /v1/openapi.json is docs/api/openapi.json.
func TestServedDocument(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{})
	r := s.expect(http.StatusOK, "GET", "/v1/openapi.json", nil)
	if string(r.body) != string(docs.OpenAPI) {
		t.Errorf("GET /v1/openapi.json is not docs/api/openapi.json")
	}
}

// TestNeverCompiled: a workflow whose file has never compiled says so in
// the log (not "the last good version keeps serving"), and a capture into
// it is a 422 with its errors.
func TestNeverCompiled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.lead")
	writeFile(t, path, "workflow broken\nstart inbox\nlead {\n  email strin\n}\nrole ops\nstage inbox {\n  owner { accountable ops  responsible role ops }\n  after 1d -> done\n}\nstage done terminal\n")
	s := newServer(t, serverOpts{paths: []string{path}})
	log := s.log.String()
	if !strings.Contains(log, "workflow has errors; no version was ever active") || strings.Contains(log, "last good version") {
		t.Errorf("the log:\n%s", log)
	}
	r := s.expect(http.StatusUnprocessableEntity, "POST", "/v1/workflows/broken/leads", map[string]any{"fields": map[string]any{"email": "a@b.example"}})
	if !strings.Contains(string(r.body), "workflow broken has errors; no version was ever active") || !strings.Contains(string(r.body), "broken.lead:4:") {
		t.Errorf("capture into a workflow that never compiled: %s", r)
	}
}

// TestPortTaken: a second lead run on a taken port says so, at once:
// nothing is loaded or logged before.
func TestPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, log := leadRun(t, nil, "--addr", ln.Addr().String())
	if code != 2 || !strings.HasPrefix(log, "lead run: "+ln.Addr().String()+" is already in use") || strings.Contains(log, "workflow active") {
		t.Errorf("exit %d:\n%s", code, log)
	}
}
