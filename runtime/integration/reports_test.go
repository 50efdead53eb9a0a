package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportsAPI: the reports over HTTP on the real server, as JSON and
// as CSV, with their parameters checked; the step stream as NDJSON.
func TestReportsAPI(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	for _, id := range []string{"r1", "r2", "r3"} {
		s.capture("deals", id, map[string]any{"email": id + "@x.example", "segment": "enterprise"})
	}
	s.capture("deals", "r4", map[string]any{"email": "r4@x.example"})
	s.send("r1", "accepted", "", nil)
	s.send("r2", "rejected", "", map[string]any{"reason": "no_fit"})

	today := time.Now().UTC().Format(time.DateOnly)
	v := s.expect(http.StatusOK, "GET", "/v1/reports/funnel?workflow=deals&by=segment&to="+today, nil).json(t)
	counts := map[string]float64{}
	for _, row := range v["rows"].([]any) {
		r := row.(map[string]any)
		counts[r["group"].(string)+" "+r["label"].(string)] = r["leads"].(float64)
	}
	if counts["enterprise captured"] != 3 || counts["smb captured"] != 1 {
		t.Errorf("funnel by segment: %v", counts)
	}
	if v["definition"] == "" || v["columns"] == nil {
		t.Errorf("funnel without its definition and columns: %v", v)
	}
	for _, kind := range []string{"velocity", "sla", "aging", "owners"} {
		r := s.expect(http.StatusOK, "GET", "/v1/reports/"+kind+"?workflow=deals", nil).json(t)
		if r["report"] != kind {
			t.Errorf("%s: %v", kind, r)
		}
	}
	aging := s.expect(http.StatusOK, "GET", "/v1/reports/aging?workflow=deals", nil).json(t)
	total := 0.0
	for _, row := range aging["rows"].([]any) {
		total += row.(map[string]any)["leads"].(float64)
	}
	if total != 3 { // r2 was rejected to lost
		t.Errorf("aging counts %v leads in open stages, want 3: %v", total, aging["rows"])
	}

	csvResp := s.expect(http.StatusOK, "GET", "/v1/reports/funnel?workflow=deals", nil, "Accept", "text/csv")
	if ct := csvResp.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV Content-Type %q", ct)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvResp.body)), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[0], "group,period,label,leads") {
		t.Errorf("CSV:\n%s", csvResp.body)
	}

	for path, status := range map[string]int{
		"/v1/reports/nope":                                 400,
		"/v1/reports/funnel?from=yesterday":                400,
		"/v1/reports/funnel?from=2026-02-01&to=2026-01-01": 400,
		"/v1/reports/funnel?interval=month":                400,
		"/v1/reports/funnel?by=email2":                     400,
		"/v1/reports/funnel?workflow=nope":                 404,
		"/v1/reports/funnel?color=red":                     400,
	} {
		r := s.must("GET", path, nil)
		checkError(t, r, status, map[int]string{400: "bad_request", 404: "not_found"}[status])
	}

	// The step stream: every step in commit order, resumable.
	r := s.expect(http.StatusOK, "GET", "/v1/steps", nil)
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("steps Content-Type %q", ct)
	}
	var seqs []float64
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var st map[string]any
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			t.Fatalf("a step line is not JSON: %v: %s", err, sc.Bytes())
		}
		seqs = append(seqs, st["seq"].(float64))
		if st["lead"] == "" || st["step"].(map[string]any)["cause"] == "" {
			t.Errorf("step %v", st)
		}
	}
	if len(seqs) < 6 {
		t.Fatalf("%d steps in the stream", len(seqs))
	}
	rest := s.expect(http.StatusOK, "GET", "/v1/steps?after="+strings.TrimSuffix(strings.TrimSuffix(jsonNum(seqs[2]), ".0"), "e+00"), nil)
	if n := bytes.Count(rest.body, []byte("\n")); n != len(seqs)-3 {
		t.Errorf("steps after the third: %d lines, want %d", n, len(seqs)-3)
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestReportCommand: lead report prints a report as an aligned table, as
// JSON and as CSV; a bad request exits 1 with the server's reason.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	s.capture("deals", "a", map[string]any{"email": "a@x.example", "segment": "enterprise"})
	s.capture("deals", "b", map[string]any{"email": "b@x.example"})
	srv := []string{"--server", s.url("")}
	code, out, errOut := cli(t, nil, append([]string{"report"}, append(srv, "funnel", "--workflow", "deals", "--by", "segment")...)...)
	if code != 0 || !strings.Contains(out, "GROUP") || !strings.Contains(out, "enterprise") || !strings.Contains(out, "captured") {
		t.Fatalf("lead report funnel: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "GROUP") })
	col := strings.Index(lines[header], "LABEL")
	for _, line := range lines[header+1:] {
		if line == "" {
			break
		}
		if len(line) <= col || line[col-1] != ' ' || line[col] == ' ' {
			t.Errorf("the table is not aligned: the LABEL column starts at %d in\n%s", col, out)
			break
		}
	}
	code, out, _ = cli(t, nil, append([]string{"report"}, append(srv, "sla", "--format", "csv")...)...)
	if code != 0 || !strings.HasPrefix(out, "group,period,sla,stage,met") {
		t.Errorf("lead report sla --format csv: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, nil, append([]string{"report"}, append(srv, "aging", "--format", "json")...)...)
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["report"] != "aging" {
		t.Errorf("lead report aging --format json: exit %d\n%s", code, out)
	}
	code, _, errOut = cli(t, nil, append([]string{"report"}, append(srv, "funnel", "--by", "nosuch")...)...)
	if code != 1 || !strings.Contains(errOut, "segment") {
		t.Errorf("lead report --by nosuch: exit %d, %s", code, errOut)
	}
}

// TestLeadListOrders: GET /v1/leads sorts by deadline and by age, filters
// by SLA state and age, and answers a total; bad values are 400s that
// name the parameter.
func TestLeadListOrders(t *testing.T) {
	t.Parallel()
	s := contractServer(t)
	for _, id := range []string{"o1", "o2", "o3"} {
		s.capture("deals", id, map[string]any{"email": id + "@x.example"})
	}
	s.send("o2", "accepted", "", nil)
	type page struct {
		Leads []struct {
			ID   string `json:"id"`
			SLAs []struct {
				Deadline time.Time `json:"deadline"`
				State    string    `json:"state"`
			} `json:"slas"`
		} `json:"leads"`
		Next  string `json:"next_cursor"`
		Total *int   `json:"total"`
	}
	get := func(path string) page {
		var p page
		if err := json.Unmarshal(s.expect(http.StatusOK, "GET", path, nil).body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	all := get("/v1/leads?workflow=deals")
	if all.Total == nil || *all.Total != 3 || len(all.Leads) != 3 {
		t.Fatalf("list: %+v", all)
	}
	// Paged one at a time by deadline: o1 then o3 (captured first, so
	// due first); o2 left the SLA's stage.
	first := get("/v1/leads?workflow=deals&sort=deadline&limit=1")
	if first.Total == nil || *first.Total != 2 || len(first.Leads) != 1 || first.Leads[0].ID != "o1" || first.Next == "" {
		t.Fatalf("first page by deadline: %+v", first)
	}
	second := get("/v1/leads?workflow=deals&sort=deadline&limit=1&cursor=" + first.Next)
	if len(second.Leads) != 1 || second.Leads[0].ID != "o3" || second.Next != "" {
		t.Fatalf("second page by deadline: %+v", second)
	}
	if p := get("/v1/leads?workflow=deals&sla=running"); *p.Total != 2 {
		t.Errorf("sla=running: %+v", p)
	}
	if p := get("/v1/leads?workflow=deals&min_age=1h"); *p.Total != 0 || len(p.Leads) != 0 {
		t.Errorf("min_age=1h right after capture: %+v", p)
	}
	if p := get("/v1/leads?workflow=deals&sort=age"); len(p.Leads) != 3 || p.Leads[2].ID != "o2" {
		t.Errorf("sort=age (o2 entered its stage last): %+v", p)
	}
	for path, want := range map[string]string{
		"/v1/leads?sort=newest":  "sort",
		"/v1/leads?sla=late":     "sla",
		"/v1/leads?min_age=soon": "min_age",
	} {
		r := s.must("GET", path, nil)
		checkError(t, r, 400, "bad_request")
		if !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %s does not name %s", path, r.body, want)
		}
	}
}

// TestReindexCommand: lead run --no-reports keeps no counters; the next
// start without it rebuilds them from history before serving, and lead
// reindex rebuilds them offline, to the same reports.
func TestReindexCommand(t *testing.T) {
	badgerOnly(t)
	t.Parallel()
	s := newServer(t, serverOpts{args: []string{"--no-reports"}})
	for i, seg := range []string{"enterprise", "smb", "enterprise"} {
		s.capture("deals", fmt.Sprint("x", i), map[string]any{"email": fmt.Sprint("x", i, "@x.example"), "segment": seg})
	}
	s.send("x0", "accepted", "", nil)
	funnel := func() string {
		r := s.expect(http.StatusOK, "GET", "/v1/reports/funnel?workflow=deals&by=segment", nil).json(t)
		b, _ := json.Marshal(r["rows"])
		return string(b)
	}
	if rows := funnel(); strings.Contains(rows, `"leads":3`) || strings.Contains(rows, `"leads":2`) {
		t.Errorf("with --no-reports the funnel counted leads: %s", rows)
	}
	if s.stop() != 0 {
		t.Fatal("lead run did not stop cleanly")
	}
	s.args = nil
	s.restart()
	want := funnel()
	var rows []struct {
		Group, Label string
		Leads        int
	}
	json.Unmarshal([]byte(want), &rows)
	captured := map[string]int{}
	for _, r := range rows {
		if r.Label == "captured" {
			captured[r.Group] = r.Leads
		}
	}
	if captured["enterprise"] != 2 || captured["smb"] != 1 {
		t.Errorf("the start after --no-reports did not rebuild the counters: %s", want)
	}
	if s.stop() != 0 {
		t.Fatal("lead run did not stop cleanly")
	}
	if code, out := lead(t, nil, "reindex", "--data", s.data); code != 0 || !strings.Contains(out, "rebuilt") {
		t.Fatalf("lead reindex: exit %d\n%s", code, out)
	}
	s.restart()
	if got := funnel(); got != want {
		t.Errorf("funnel after lead reindex:\n got %s\nwant %s", got, want)
	}
	if code, out := lead(t, nil, "reindex", "--data", filepath.Join(t.TempDir(), "none")); code != 2 || !strings.Contains(out, "no such file") {
		t.Errorf("lead reindex of a missing directory: exit %d\n%s", code, out)
	}
}
