package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// snapshot is everything a client can read, as text: leads (by default
// r1 and r2) and their histories, the lead list, the outbox and the
// workflows.
func (s *server) snapshot(ids ...string) string {
	s.t.Helper()
	if len(ids) == 0 {
		ids = []string{"r1", "r2"}
	}
	var paths []string
	for _, id := range ids {
		paths = append(paths, "/v1/leads/"+id, "/v1/leads/"+id+"/history")
	}
	var b strings.Builder
	for _, p := range append(paths, "/v1/leads?limit=1000", "/v1/notifications?limit=1000", "/v1/workflows") {
		r := s.expect(http.StatusOK, "GET", p, nil)
		fmt.Fprintf(&b, "%s\n%s\n", p, r.body)
	}
	return b.String()
}

// TestRejections sends every kind of bad request and checks the status,
// the error shape, the fields named in details, and that nothing changed.
func TestRejections(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	s.capture("deals", "r1", map[string]any{"email": "r1@x.example"})
	s.capture("quick", "r2", map[string]any{"email": "r2@x.example"})
	s.send("r2", "go", "", nil) // to a stage whose timer is an hour away: r2 keeps still
	s.send("r1", "ping", "seen", map[string]any{"n": 1})

	big := `{"fields":{"email":"a","note":"` + strings.Repeat("x", 1<<20) + `"}}`
	bigEvent := `{"type":"ping","data":{"n":1},"id":"` + strings.Repeat("x", 1<<20) + `"}`

	type tc struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
		fields       []string
	}
	// headers are a case's request headers beyond the JSON Content-Type.
	headers := map[string][]string{}
	capture := "/v1/workflows/deals/leads"
	events := "/v1/leads/r1/events"
	cases := []tc{
		// Malformed: 400.
		{"capture malformed", "POST", capture, `{"fields":`, 400, "bad_request", nil},
		{"capture not JSON", "POST", capture, `fields=1`, 400, "bad_request", nil},
		{"capture trailing data", "POST", capture, `{"fields":{"email":"a"}} {}`, 400, "bad_request", nil},
		{"capture trailing garbage", "POST", capture, `{"fields":{"email":"a"}}x`, 400, "bad_request", nil},
		{"capture unknown key", "POST", capture, `{"fields":{"email":"a"},"extra":1}`, 400, "bad_request", nil},
		{"capture empty body", "POST", capture, ``, 400, "bad_request", nil},
		{"capture null", "POST", capture, `null`, 400, "bad_request", nil},
		{"capture array", "POST", capture, `[]`, 400, "bad_request", nil},
		{"capture string", "POST", capture, `"x"`, 400, "bad_request", nil},
		{"capture duplicate key", "POST", capture, `{"fields":{"email":"a"},"fields":{"email":"b"}}`, 400, "bad_request", nil},
		// Valid JSON that breaks the schema: 422 naming every bad field.
		{"capture fields not an object", "POST", capture, `{"fields":"x"}`, 422, "invalid", []string{"fields"}},
		{"capture id not a string", "POST", capture, `{"id":5,"fields":{"email":"a"}}`, 422, "invalid", []string{"id"}},
		{"capture bad id", "POST", capture, `{"id":"a b","fields":{"email":"a"}}`, 422, "invalid", []string{"id"}},
		{"capture bad id and fields", "POST", capture, `{"id":"a/b","fields":{}}`, 422, "invalid", []string{"id", "fields.email"}},
		{"capture long id", "POST", capture, `{"id":"` + strings.Repeat("a", 201) + `","fields":{"email":"a"}}`, 422, "invalid", []string{"id"}},
		{"capture missing required", "POST", capture, `{"fields":{}}`, 422, "invalid", []string{"fields.email"}},
		{"capture no fields", "POST", capture, `{}`, 422, "invalid", []string{"fields.email"}},
		{"capture every bad field", "POST", capture, `{"fields":{"nope":1,"engagement":"x","segment":"huge","tags":[1],"ratio":true}}`, 422, "invalid",
			[]string{"fields.email", "fields.engagement", "fields.nope", "fields.ratio", "fields.segment", "fields.tags"}},
		{"capture built-in attribute", "POST", capture, `{"fields":{"email":"a","stage":"lost"}}`, 422, "invalid", []string{"fields.stage"}},
		{"capture null required", "POST", capture, `{"fields":{"email":null}}`, 422, "invalid", []string{"fields.email"}},
		{"capture fractional int", "POST", capture, `{"fields":{"email":"a","engagement":1.5}}`, 422, "invalid", []string{"fields.engagement"}},
		{"capture float overflow", "POST", capture, `{"fields":{"email":"a","ratio":1e400}}`, 422, "invalid", []string{"fields.ratio"}},
		{"capture int overflow", "POST", capture, `{"fields":{"email":"a","engagement":99999999999999999999}}`, 422, "invalid", []string{"fields.engagement"}},
		// Event.
		{"event malformed", "POST", events, `{"type":`, 400, "bad_request", nil},
		{"event unknown key", "POST", events, `{"type":"accepted","payload":{}}`, 400, "bad_request", nil},
		{"event no type", "POST", events, `{"data":{}}`, 422, "invalid", []string{"type"}},
		{"event type not a string", "POST", events, `{"type":1}`, 422, "invalid", []string{"type"}},
		{"event unknown type", "POST", events, `{"type":"exploded"}`, 422, "invalid", []string{"type"}},
		{"event built-in type", "POST", events, `{"type":"captured"}`, 422, "invalid", []string{"type"}},
		{"event missing payload field", "POST", events, `{"type":"ping","data":{}}`, 422, "invalid", []string{"data.n"}},
		{"event no data", "POST", events, `{"type":"ping"}`, 422, "invalid", []string{"data.n"}},
		{"event bad payload", "POST", events, `{"type":"ping","data":{"n":"x","extra":true}}`, 422, "invalid", []string{"data.extra", "data.n"}},
		{"event bad enum", "POST", events, `{"type":"rejected","data":{"reason":"bored"}}`, 422, "invalid", []string{"data.reason"}},
		{"event data not an object", "POST", events, `{"type":"ping","data":[1]}`, 422, "invalid", []string{"data"}},
		{"event id not a string", "POST", events, `{"type":"accepted","id":7}`, 422, "invalid", []string{"id"}},
		{"event id control character", "POST", events, `{"type":"accepted","id":"a\u0001b"}`, 422, "invalid", []string{"id"}},
		{"event id too long", "POST", events, `{"type":"accepted","id":"` + strings.Repeat("e", 201) + `"}`, 422, "invalid", []string{"id"}},
		{"event every bad field", "POST", events, `{"type":"ping","id":"` + strings.Repeat("e", 201) + `","data":{"n":1.5}}`, 422, "invalid", []string{"data.n", "id"}},
		{"event to unknown lead", "POST", "/v1/leads/nobody/events", `{"type":"accepted"}`, 404, "not_found", nil},
		// PATCH.
		{"patch malformed", "PATCH", "/v1/leads/r1", `{`, 400, "bad_request", nil},
		{"patch unknown key", "PATCH", "/v1/leads/r1", `{"fields":{"note":"x"},"id":"r1"}`, 400, "bad_request", nil},
		{"patch no fields", "PATCH", "/v1/leads/r1", `{"fields":{}}`, 422, "invalid", []string{"fields"}},
		{"patch empty", "PATCH", "/v1/leads/r1", `{}`, 422, "invalid", []string{"fields"}},
		{"patch bad fields", "PATCH", "/v1/leads/r1", `{"fields":{"nope":1,"engagement":"x","email":null}}`, 422, "invalid",
			[]string{"fields.email", "fields.engagement", "fields.nope"}},
		{"patch fields not an object", "PATCH", "/v1/leads/r1", `{"fields":7}`, 422, "invalid", []string{"fields"}},
		{"patch unknown lead", "PATCH", "/v1/leads/nobody", `{"fields":{"note":"x"}}`, 404, "not_found", nil},
		// Override.
		{"override unknown stage", "POST", "/v1/leads/r1/override", `{"stage":"moon","reason":"x"}`, 422, "invalid", []string{"stage"}},
		{"override no reason", "POST", "/v1/leads/r1/override", `{"stage":"lost"}`, 422, "invalid", []string{"reason"}},
		{"override blank reason", "POST", "/v1/leads/r1/override", `{"stage":"lost","reason":"  "}`, 422, "invalid", []string{"reason"}},
		{"override unknown stage, no reason", "POST", "/v1/leads/r1/override", `{"stage":"moon"}`, 422, "invalid", []string{"reason", "stage"}},
		{"override nothing", "POST", "/v1/leads/r1/override", `{}`, 422, "invalid", []string{"reason", "stage"}},
		{"override stage not a string", "POST", "/v1/leads/r1/override", `{"stage":5,"reason":"x"}`, 422, "invalid", []string{"stage"}},
		{"override malformed", "POST", "/v1/leads/r1/override", `{"stage":"lost",`, 400, "bad_request", nil},
		{"override unknown key", "POST", "/v1/leads/r1/override", `{"stage":"lost","reason":"x","force":true}`, 400, "bad_request", nil},
		{"override unknown lead", "POST", "/v1/leads/nobody/override", `{"stage":"lost","reason":"x"}`, 404, "not_found", nil},
		// Too large: 413.
		{"capture over 1 MiB", "POST", capture, big, 413, "too_large", nil},
		{"event over 1 MiB", "POST", events, bigEvent, 413, "too_large", nil},
		{"patch over 1 MiB", "PATCH", "/v1/leads/r1", big, 413, "too_large", nil},
		// Conflict and not found.
		{"capture id of another workflow", "POST", capture, `{"id":"r2","fields":{"email":"a"}}`, 409, "conflict", nil},
		{"capture unknown workflow", "POST", "/v1/workflows/nope/leads", `{"fields":{"email":"a"}}`, 404, "not_found", nil},
		{"unknown endpoint", "POST", "/v1/leads/r1/explode", `{}`, 404, "not_found", nil},
		{"unknown method", "DELETE", "/v1/leads/r1", nil, 404, "not_found", nil},
		// Bodies a web page could send across sites, or that are not
		// JSON by their type: 415.
		{"capture text/plain", "POST", capture, `{"fields":{"email":"a"}}`, 415, "unsupported_media_type", nil},
		{"capture as a form", "POST", capture, `fields=1`, 415, "unsupported_media_type", nil},
		{"capture without a type", "POST", capture, `{"fields":{"email":"a"}}`, 415, "unsupported_media_type", nil},
		{"event in latin1", "POST", events, `{"type":"accepted"}`, 415, "unsupported_media_type", nil},
		{"patch text/plain", "PATCH", "/v1/leads/r1", `{"fields":{"note":"x"}}`, 415, "unsupported_media_type", nil},
		// A host the server does not serve (DNS rebinding): 421.
		{"capture for another host", "POST", capture, `{"fields":{"email":"a"}}`, 421, "misdirected", nil},
		{"read for another host", "GET", "/v1/leads/r1", nil, 421, "misdirected", nil},
		// Keys repeated inside objects: 400, as at the top level.
		{"capture repeated field", "POST", capture, `{"fields":{"email":"a","email":"b"}}`, 400, "bad_request", nil},
		{"capture repeated key in a list", "POST", capture, `{"fields":{"email":"a","tags":[{"x":1,"x":2}]}}`, 400, "bad_request", nil},
		{"event repeated payload field", "POST", events, `{"type":"ping","data":{"n":1,"n":2}}`, 400, "bad_request", nil},
		// Strings that are not text: 422 naming the field.
		{"capture invalid UTF-8", "POST", capture, "{\"fields\":{\"email\":\"a\xffb\"}}", 422, "invalid", []string{"fields.email"}},
		{"capture NUL", "POST", capture, `{"fields":{"email":"a\u0000b"}}`, 422, "invalid", []string{"fields.email"}},
		{"capture NUL in a list", "POST", capture, `{"fields":{"email":"a","tags":["x\u0000"]}}`, 422, "invalid", []string{"fields.tags"}},
		{"event lone surrogate", "POST", events, `{"type":"ping","data":{"n":1},"id":"\ud800"}`, 422, "invalid", []string{"id"}},
		{"event invalid UTF-8 in a key", "POST", events, "{\"type\":\"ping\",\"data\":{\"n\":1,\"\xfe\":1}}", 422, "invalid", []string{"data.\ufffd"}},
		// Lead ids of dots are path segments: 422, never another endpoint.
		{"read lead .", "GET", "/v1/leads/.", nil, 422, "invalid", []string{"id"}},
		{"read lead ..", "GET", "/v1/leads/..", nil, 422, "invalid", []string{"id"}},
		{"history of escaped ..", "GET", "/v1/leads/%2E%2E/history", nil, 422, "invalid", []string{"id"}},
		{"event to lead ..", "POST", "/v1/leads/../events", `{"type":"accepted"}`, 422, "invalid", []string{"id"}},
		{"capture id ..", "POST", capture, `{"id":"..","fields":{"email":"a"}}`, 422, "invalid", []string{"id"}},
		{"unclean path", "GET", "/v1//leads", nil, 404, "not_found", nil},
		{"dot segment", "GET", "/v1/leads/r1/./history", nil, 404, "not_found", nil},
		// Bad query parameters: 400.
		{"leads limit 0", "GET", "/v1/leads?limit=0", nil, 400, "bad_request", nil},
		{"leads limit word", "GET", "/v1/leads?limit=ten", nil, 400, "bad_request", nil},
		{"leads limit huge", "GET", "/v1/leads?limit=1000000", nil, 400, "bad_request", nil},
		{"leads stuck word", "GET", "/v1/leads?stuck=maybe", nil, 400, "bad_request", nil},
		{"leads bad cursor", "GET", "/v1/leads?cursor=***", nil, 400, "bad_request", nil},
		{"leads forged cursor", "GET", "/v1/leads?cursor=AA", nil, 400, "bad_request", nil},
		{"leads unknown parameter", "GET", "/v1/leads?wrokflow=deals", nil, 400, "bad_request", nil},
		{"leads control character", "GET", "/v1/leads?owner=a%01b", nil, 400, "bad_request", nil},
		{"history bad after", "GET", "/v1/leads/r1/history?after=-1", nil, 400, "bad_request", nil},
		{"history bad limit", "GET", "/v1/leads/r1/history?limit=0", nil, 400, "bad_request", nil},
		{"history unknown parameter", "GET", "/v1/leads/r1/history?since=1", nil, 400, "bad_request", nil},
		{"notifications bad since", "GET", "/v1/notifications?since=abc", nil, 400, "bad_request", nil},
		{"notifications bad limit", "GET", "/v1/notifications?limit=-5", nil, 400, "bad_request", nil},
		{"notifications unknown parameter", "GET", "/v1/notifications?after=1", nil, 400, "bad_request", nil},
	}
	headers["capture text/plain"] = []string{"Content-Type", "text/plain"}
	headers["capture as a form"] = []string{"Content-Type", "application/x-www-form-urlencoded"}
	headers["capture without a type"] = []string{"Content-Type", ""}
	headers["event in latin1"] = []string{"Content-Type", "application/json; charset=iso-8859-1"}
	headers["patch text/plain"] = []string{"Content-Type", "text/plain"}
	headers["capture for another host"] = []string{"Host", "evil.example"}
	headers["read for another host"] = []string{"Host", "evil.example:7420"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.snapshot()
			r := s.must(c.method, c.path, c.body, headers[c.name]...)
			checkError(t, r, c.status, c.code, c.fields...)
			if after := s.snapshot(); after != before {
				t.Errorf("the rejected request changed something:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// The event id that was rejected can still be used; the server is
	// healthy after all of the above.
	s.send("r1", "ping", "fresh", map[string]any{"n": 1})
	s.capture("deals", "r3", map[string]any{"email": "r3@x.example"})
}

// TestNonFiniteResult: an expression producing a number the API and the
// store cannot hold (a float field set to +Inf) raises eval_error like any
// other run-time expression error: the action block changes nothing, the
// lead is stuck in place (no handler here), and the server keeps serving.
func TestNonFiniteResult(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	s.capture("deals", "r1", map[string]any{"email": "r1@x.example"})
	s.capture("quick", "r2", map[string]any{"email": "r2@x.example"})
	v := s.send("r1", "divide", "d1", map[string]any{"by": 0})
	if v["fields"].(map[string]any)["ratio"] != 0.0 {
		t.Errorf("ratio = %v, want it unchanged", v["fields"])
	}
	stuck, _ := v["stuck"].(map[string]any)
	if stuck == nil || stuck["kind"] != "eval_error" || !strings.Contains(stuck["reason"].(string), "not a finite number") {
		t.Errorf("stuck = %v, want eval_error about the non-finite number", v["stuck"])
	}
	// The event id was used by that step: a resend returns the same answer.
	again := s.send("r1", "divide", "d1", map[string]any{"by": 4})
	if again["fields"].(map[string]any)["ratio"] != 0.0 {
		t.Errorf("resent event id applied again: %v", again["fields"])
	}
	s.capture("deals", "r3", map[string]any{"email": "r3@x.example"})

	// A timer step that computes +Inf: the same eval_error, and other
	// timers still fire.
	s.capture("deals", "r4", map[string]any{"email": "r4@x.example"})
	s.send("r4", "compute", "", nil)
	s.capture("quick", "r5", map[string]any{"email": "r5@x.example"})
	time.Sleep(3500 * time.Millisecond)
	v = s.expect(http.StatusOK, "GET", "/v1/leads/r4", nil).json(t)
	if stuck, _ := v["stuck"].(map[string]any); stuck == nil || stuck["kind"] != "eval_error" {
		t.Errorf("r4 = %v, want stuck with eval_error", v)
	}
	if v := s.expect(http.StatusOK, "GET", "/v1/leads/r5", nil).json(t); v["stage"] != "done" {
		t.Errorf("r5 = %v, want its 2s timer fired", v)
	}
}

// TestLargeLeads: leads near the size limits are stored or refused with
// a 422, and the server never stops committing because of one (a step
// over the store's per-step limit used to fail its whole group commit and
// stop the service).
func TestLargeLeads(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	s.capture("deals", "small", map[string]any{"email": "s@x.example"})
	// 400 KiB: stored.
	s.capture("deals", "big", map[string]any{"email": "a", "company": strings.Repeat("x", 400<<10)})
	s.send("big", "ping", "p1", map[string]any{"n": 1})
	// Two halves of a body just under 1 MiB: too large a lead.
	before := s.snapshot("small", "big")
	half := strings.Repeat("x", 480<<10)
	r := s.must("POST", "/v1/workflows/deals/leads", map[string]any{"id": "big2", "fields": map[string]any{"email": "a", "note": half, "company": half}})
	checkError(t, r, http.StatusUnprocessableEntity, "invalid", "fields")
	// Growing the stored one past the limit.
	r = s.must("PATCH", "/v1/leads/big", map[string]any{"fields": map[string]any{"hint": strings.Repeat("z", 400<<10)}})
	checkError(t, r, http.StatusUnprocessableEntity, "invalid", "fields")
	if after := s.snapshot("small", "big"); after != before {
		t.Errorf("refused large leads changed something")
	}
	// The server still commits.
	s.send("small", "ping", "", map[string]any{"n": 1})
	s.send("big", "ping", "p2", map[string]any{"n": 1})
	s.capture("deals", "after", map[string]any{"email": "s@x.example"})
}
