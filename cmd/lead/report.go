package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/leadlang/lead/runtime/service"
)

func init() {
	register(&command{name: "report", summary: "print a report of a running server: funnel, velocity, sla, aging, owners", run: runReport})
}

const reportDoc = `
Report prints one of a running server's reports:

  funnel     leads captured in the window that reached each lifecycle label,
             with conversion rates
  velocity   time from capture to each label, and time in each stage (p50, p90)
  sla        SLA outcomes: met, warned, breached, exempt, and attainment
  aging      leads now in each stage by how long they have been there,
             and the stuck leads
  owners     each team member's open leads, assignments and events

--from and --to are dates (YYYY-MM-DD; the last 30 days by default);
--by breaks the report down by an enum or string field of the lead;
--interval splits it by day or week. The table is for people; --format json
and --format csv are for scripts and spreadsheets.`

func runReport(env *cmdEnv, args []string) int {
	c := newClientCmdFormats(env, "report", "KIND [--workflow W] [--from DATE] [--to DATE] [--by FIELD] [--interval day|week] [--format table|json|csv]", reportDoc, "table", "json", "csv")
	workflow := c.String("workflow", "", "only workflow `NAME` (default: every workflow, by lifecycle label)")
	from := c.String("from", "", "first `DATE` of the window")
	to := c.String("to", "", "last `DATE` of the window")
	by := c.String("by", "", "break down by `FIELD`")
	interval := c.String("interval", "", "split by `day` or week")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("expected one KIND: funnel, velocity, sla, aging or owners")
	}
	params := url.Values{}
	for k, v := range map[string]string{"workflow": *workflow, "from": *from, "to": *to, "by": *by, "interval": *interval} {
		if v != "" {
			params.Set(k, v)
		}
	}
	cx, cancel := ctx()
	defer cancel()
	raw, err := c.client().Report(cx, pos[0], params, *c.format == "csv")
	if err == nil && *c.format == "csv" {
		c.env.stdout.Write(raw)
		return exitOK
	}
	return answer(c, raw, err, func(rep service.Report) { writeReport(c, rep) })
}

func writeReport(c *clientCmd, rep service.Report) {
	w := c.env.stdout
	fmt.Fprintf(w, "%s, %s to %s\n\n", rep.Kind, orDash(rep.From), rep.To)
	writeRows(c, rep.Columns, rep.Rows)
	if len(rep.Stuck) > 0 {
		fmt.Fprintln(w, "\nstuck leads:")
		writeRows(c, []string{"id", "workflow", "stage", "owner", "stuck"}, rep.Stuck)
	}
	fmt.Fprintf(w, "\n%s\n", rep.Definition)
}

// writeRows writes rows under their columns, aligned; a row without a
// value in a column shows "-".
func writeRows(c *clientCmd, cols []string, rows []map[string]any) {
	tw := table(c.env.stdout)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, row := range rows {
		cells := make([]string, len(cols))
		for i, col := range cols {
			cells[i] = cell(row[col])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return orDash(x)
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprintf("%.2f", x)
	case map[string]any:
		var parts []string
		for k, v := range x {
			parts = append(parts, fmt.Sprintf("%s=%v", k, cell(v)))
		}
		slices.Sort(parts)
		return orDash(strings.Join(parts, " "))
	}
	b, _ := json.Marshal(v)
	return string(b)
}
