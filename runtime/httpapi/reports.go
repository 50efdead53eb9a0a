package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/leadlang/lead/runtime/service"
)

// reportParams are the query parameters every report takes.
var reportParams = []string{"workflow", "from", "to", "by", "interval"}

// maxReportDays bounds a report's window.
const maxReportDays = 3660

// report serves GET /v1/reports/{kind}: JSON, or CSV with Accept:
// text/csv.
func (a *api) report(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, reportParams...)
	if !ok {
		return
	}
	rq, msg := reportQuery(q.Get, a.svc.Now())
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg, nil)
		return
	}
	rep, err := a.svc.Report(r.Context(), r.PathValue("kind"), rq)
	if err != nil {
		fail(w, err)
		return
	}
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, rep.Kind))
		writeCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// reportQuery reads a report's parameters: from and to are dates
// (YYYY-MM-DD, the last 30 days by default), interval is day, week or
// nothing; it returns what is wrong, if anything.
func reportQuery(get func(string) string, now time.Time) (service.ReportQuery, string) {
	q := service.ReportQuery{Workflow: get("workflow"), By: get("by"), Interval: get("interval")}
	today, _ := time.Parse(time.DateOnly, now.UTC().Format(time.DateOnly))
	q.To, q.From = today, today.AddDate(0, 0, -29)
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"to", &q.To}, {"from", &q.From}} {
		if s := get(p.name); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return q, fmt.Sprintf("%s must be a date written YYYY-MM-DD, not %q", p.name, s)
			}
			*p.to = t
		}
	}
	if get("from") == "" && get("to") != "" {
		q.From = q.To.AddDate(0, 0, -29)
	}
	switch {
	case q.From.After(q.To):
		return q, "from is after to"
	case q.To.Sub(q.From) > maxReportDays*24*time.Hour:
		return q, fmt.Sprintf("the window is over %d days", maxReportDays)
	case q.Interval != "" && q.Interval != "day" && q.Interval != "week":
		return q, fmt.Sprintf("interval must be day or week, not %q", q.Interval)
	}
	return q, ""
}

// wantsCSV reports whether the client asks for CSV (Accept: text/csv).
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// writeCSV writes a report's rows under its columns; a value that is not
// text or a number (a map of events) is written as JSON.
func writeCSV(w http.ResponseWriter, rep *service.Report) {
	cw := csv.NewWriter(w)
	cw.Write(rep.Columns)
	for _, row := range rep.Rows {
		rec := make([]string, len(rep.Columns))
		for i, c := range rep.Columns {
			switch v := row[c].(type) {
			case nil:
			case string:
				rec[i] = v
			case int, int64, float64:
				rec[i] = fmt.Sprint(v)
			default:
				b, _ := json.Marshal(v)
				rec[i] = string(b)
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// steps serves GET /v1/steps?after=SEQ&limit=N: the committed steps in
// commit order, as NDJSON, one {"seq", "lead", "step"} object a line.
func (a *api) steps(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "after", "limit")
	if !ok {
		return
	}
	after, ok := uintParam(w, q, "after", 0)
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 1000, 10000)
	if !ok {
		return
	}
	steps, err := a.svc.Steps(r.Context(), after, limit)
	if err != nil {
		fail(w, err)
		return
	}
	var body []byte
	for _, st := range steps {
		body = service.AppendStepLine(body, st)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
